//! One module per model family: what it reads from an alert, its cuts and its features.

pub mod kilonova;
pub mod snn;
