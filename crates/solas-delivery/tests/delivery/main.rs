//! The delivery crate's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod email_smtp;
mod kafka_mock;
mod webhook;
