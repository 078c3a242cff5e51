//! The pipeline's integration tests, one binary (one link) for all: each module is a
//! former test file, named after what it tests.

mod common;

mod alert_hook;
mod archive;
mod classifications;
mod context;
mod counterparts;
mod delivery;
mod embedded;
mod filters;
mod kafka;
mod ledger;
mod models;
mod outage;
mod postgres;
mod roles;
mod s3;
mod sharded;
mod stage_contract;
mod watch;
