//! Sources of raw alerts.
//!
//! A source pushes [`RawAlert`]s into the pipeline until it is exhausted or told to stop,
//! and receives acknowledgements of finished alerts back (a Kafka source turns those into
//! offset commits). When `run` returns, the source has no more input and every
//! acknowledgement it waits for has arrived (or it gave up waiting and said so).

pub mod files;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod memory;

use std::sync::atomic::AtomicBool;

use crossbeam_channel::{Receiver, Sender};

use crate::message::RawAlert;
use crate::stage::Ack;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Input(String),
    #[error("kafka: {0}")]
    Kafka(String),
}

pub trait Source: Send {
    fn run(
        &mut self,
        out: Sender<RawAlert>,
        acks: Receiver<Ack>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError>;

    /// What the progress line calls this source.
    fn describe(&self) -> String;
}
