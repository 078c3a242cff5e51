//! The watch crate's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod gcn;
mod skymap;
mod tns;
mod watchlist;
mod watchmap;
