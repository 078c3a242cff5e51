//! The decode crate's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod http_registry;
mod real_alerts;
mod whole_records;
