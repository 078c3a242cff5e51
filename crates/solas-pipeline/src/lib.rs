//! The Solas pipeline: sources → ingest → filter, joined by bounded channels.
//!
//! ```text
//! source (files | kafka) ─▶ ingest: decode ─▶ ingest: store ─▶ context ─▶ filter ─▶ acks to the source
//!                            (N workers)       (lightcurves,    (catalogue   (features, context →
//!                            bad alerts ─▶      cutouts)          crossmatch,  main database, one
//!                            rejected/                            cached)      transaction per batch)
//! ```
//!
//! - [`source`]: where raw alert bytes come from, and how their positions are committed.
//! - [`ingest`]: decode, set aside what cannot be decoded, store cutouts and lightcurves,
//!   pass the cutout-free alert on.
//! - [`context`]: what each new object is next to (Sherlock), cached by object.
//! - [`filter`]: the per-batch stage: lightcurve features and context into the main
//!   database. (Watchlists, watchmaps and user filters plug in here.)
//! - [`runner`]: builds the stages for a configuration, runs them, reports progress.
//!
//! Stages only see the storage traits of `solas-store`, never a backend. Every alert's
//! position in its source is acknowledged only after the filter stage's batch holding it is
//! committed, so a Kafka source commits offsets only for alerts whose writes are durable.

pub mod ack;
pub mod batch;
pub mod context;
pub mod filter;
pub mod ingest;
pub mod message;
pub mod runner;
pub mod source;
pub mod stats;

pub use runner::{run, RunConfig, Summary};
