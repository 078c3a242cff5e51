//! The stage contract: every stage of the pipeline has this one shape.
//!
//! A stage reads typed messages from its input queue until the queue closes, writes what
//! it owns, and then either passes each message on ([`Output::pass_on`]) or, if the
//! message ends with it, acknowledges the source position it came from with a status
//! ([`Output::ack`]). The statuses are those of Vector's acknowledgements:
//!
//! - [`Status::Delivered`]: written durably; the source may commit it.
//! - [`Status::Permanent`]: the input is bad or refused for good; it was kept (dead-letter
//!   topic, `rejected/` folder) with its reason before this ack, and the source commits it.
//! - transient: a store or broker is unavailable. There is no ack for it, on purpose: the
//!   stage holds the input and retries ([`crate::retry::Retrier`]), the bounded queues hold
//!   the stages upstream back, and the source commits nothing for it. A stop during the
//!   outage leaves it unacknowledged, to be read again.
//!
//! Each input is passed on or acknowledged exactly once, and never before its writes are
//! durable. `tests/pipeline/stage_contract.rs` holds every stage to this.

use crossbeam_channel::{Receiver, Sender};

use crate::message::Origin;

/// What became of an input that ends at a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Durably written (stored, published or delivered): commit.
    Delivered,
    /// Bad or refused for good, and kept with this reason: commit.
    Permanent { reason: &'static str },
}

/// The acknowledgement of one source position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub origin: Origin,
    pub status: Status,
}

/// A stage of the pipeline (see the module's header for the contract).
pub trait Stage: Send + 'static {
    /// Its name in logs and errors.
    const NAME: &'static str;
    /// What it reads.
    type In: Send + 'static;
    /// What it passes on ([`Never`] for a stage that ends the pipeline).
    type Out: Send + 'static;
    /// How it fails for good (the runner turns it into a `RunError`). Transient failures
    /// are not errors: the stage waits them out.
    type Error: std::error::Error + Send + 'static;

    /// Run until the input closes (or the run stops during an outage).
    fn run(self, input: Receiver<Self::In>, output: Output<Self::Out>) -> Result<(), Self::Error>;
}

/// The output of a stage that ends the pipeline: nothing is passed on.
#[derive(Debug)]
pub enum Never {}

/// Where a stage's results go: the next stage's queue, and the acknowledgements back to
/// the source.
pub struct Output<T> {
    next: Option<Sender<T>>,
    acks: Sender<Ack>,
}

/// The next stage has stopped (its error is reported by the runner).
#[derive(Debug)]
pub struct Closed;

impl<T> Output<T> {
    pub fn new(next: Sender<T>, acks: Sender<Ack>) -> Output<T> {
        Output {
            next: Some(next),
            acks,
        }
    }

    /// Pass a message on to the next stage, waiting while its queue is full (this is the
    /// back-pressure that holds the stages upstream).
    pub fn pass_on(&self, msg: T) -> Result<(), Closed> {
        match &self.next {
            Some(next) => next.send(msg).map_err(|_| Closed),
            None => Err(Closed),
        }
    }

    /// Acknowledge an input that ends here. Never blocks (the acks queue is unbounded).
    pub fn ack(&self, origin: Origin, status: Status) {
        // The source only stops listening once the run is over: nothing is left to commit.
        let _ = self.acks.send(Ack { origin, status });
    }
}

impl Output<Never> {
    /// The output of a stage that ends the pipeline.
    pub fn terminal(acks: Sender<Ack>) -> Output<Never> {
        Output { next: None, acks }
    }
}
