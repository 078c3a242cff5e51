//! One module per model family: what it reads from an alert, its cuts and its features.

pub mod early_snia;
pub mod kilonova;
pub mod snn;

use solas_core::{Alert, Detection};

/// An alert's detections in the order Fink hands them to its science modules: the history
/// as the packet lists it, then the triggering detection (which Solas keeps first).
fn in_fink_order(alert: &Alert) -> impl Iterator<Item = &Detection> {
    let (trigger, history) = match alert.detections.split_first() {
        Some((t, h)) => (Some(t), h),
        None => (None, &[][..]),
    };
    history.iter().chain(trigger)
}
