//! Every queue between the pipeline's stages, with its capacity and why: the one place to
//! see how the stages join. Each carries typed messages and all but the acknowledgements
//! are bounded, so a stage that waits (a slow store, an outage) holds the stages before it
//! back to the source, which then stops reading.
//!
//! ```text
//! source ─raw─▶ decode ×N ─decoded─▶ store ─stored─▶ context ─classified─▶ filter ─results─▶ delivery
//!   ▲              │ (bad payloads, acknowledged once set aside)                               │
//!   └──────────────┴──────────────────────────── acks ◀──────────────────────────────────────┘
//! ```
//!
//! Scale-out roles run a part of this: `ingest` ends with the publisher after `stored`,
//! `context` with the publisher after `classified`, `process` and `filter` start from
//! alerts published by those.

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use crate::delivery::DeliveryWork;
use crate::message::{InFlight, RawAlert};
use crate::stage::Ack;

/// Payloads read but not yet decoded.
pub const RAW: usize = 1024;
/// Alerts decoded but not yet stored.
pub const DECODED: usize = 1024;
/// Alerts stored, waiting for context and the filter stage: at least one filter batch, so
/// the filter stage can fill a batch while the store goes on.
pub const STORED_AT_LEAST: usize = 1024;
/// Alerts classified, waiting for the filter stage.
pub const CLASSIFIED: usize = 1024;
/// Filter batches' results waiting for delivery: a few, since more would only keep their
/// alerts unacknowledged longer.
pub const RESULTS: usize = 4;

pub fn raw() -> (Sender<RawAlert>, Receiver<RawAlert>) {
    bounded(RAW)
}

pub fn decoded() -> (Sender<InFlight>, Receiver<InFlight>) {
    bounded(DECODED)
}

pub fn stored(filter_batch: usize) -> (Sender<InFlight>, Receiver<InFlight>) {
    bounded(filter_batch.max(STORED_AT_LEAST))
}

pub fn classified() -> (Sender<InFlight>, Receiver<InFlight>) {
    bounded(CLASSIFIED)
}

pub fn results() -> (Sender<DeliveryWork>, Receiver<DeliveryWork>) {
    bounded(RESULTS)
}

/// Acknowledgements back to the source. Unbounded, because a stage must never block on
/// acknowledging: their number is already bounded by the payloads in flight, which the
/// queues above bound.
pub fn acks() -> (Sender<Ack>, Receiver<Ack>) {
    unbounded()
}
