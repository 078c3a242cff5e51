//! The context crate's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod common;

mod proper_motion;
mod real_catalogues;
mod rules;
