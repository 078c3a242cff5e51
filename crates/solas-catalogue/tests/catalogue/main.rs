//! The catalogue crate's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod common;

mod broken;
mod build;
mod load_real;
mod store;
