//! The features crate's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod dust;
mod golden;
mod lm_pin;
mod robustness;
mod ztf;
