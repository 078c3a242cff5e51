//! The Solas pipeline: sources → ingest → filter, joined by bounded channels.
//!
//! ```text
//! source (files | kafka) ─▶ ingest: decode ─▶ ingest: store ─▶ context ─▶ filter ─▶ delivery ─▶ acks to the source
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
//!   database, watchlist/watchmap/TNS/GW matching (`filter::watch`), then users' filters
//!   (`filter::user_filters`), also re-run when annotations arrive.
//! - [`delivery`]: filter results to Kafka topics, webhooks and email digests, with quotas
//!   and reports to owners; acknowledges the batch's alerts once delivered.
//! - `classifications`: other brokers' classification streams stored as annotations.
//! - `publish`: when stages run as separate processes, the ingest side's output topic
//!   (the runner's [`runner::Role`] chooses which stages a process runs).
//! - [`retry`]: waiting out an outage of a store (transient failures are retried with
//!   backoff, never turned into rejections), with the operator's hook told.
//! - [`stage`]: the contract every stage keeps: typed input and output, each input passed
//!   on or acknowledged (delivered or permanent) exactly once, after its writes; a
//!   transient failure is waited out, never acknowledged.
//! - [`queues`]: every queue between the stages, its capacity and why.
//! - [`ledger`]: the completeness ledger's counts per visit, as the stages make them.
//! - Beside the pipeline: [`gcn`] (GCN notices in), [`classifications`] (other brokers'
//!   streams in) and [`mine`] (a filter's objects fanned out to users' programs).
//! - [`config`] (what a run is given), [`runner`] (builds the stages for a configuration,
//!   wires them with the queues, runs them, reports progress), [`summary`] (what it did)
//!   and [`error`] (how it failed).
//!
//! Stages only see the storage traits of `solas-store`, never a backend. Every alert's
//! position in its source is acknowledged only after the filter stage's batch holding it is
//! committed, so a Kafka source commits offsets only for alerts whose writes are durable.

pub mod ack;
pub mod alert_hook;
pub mod batch;
#[cfg(feature = "kafka")]
pub mod classifications;
pub mod config;
pub mod context;
pub mod delivery;
pub mod error;
pub mod filter;
#[cfg(feature = "kafka")]
pub mod gcn;
pub mod ingest;
pub mod ledger;
pub mod message;
#[cfg(feature = "kafka")]
pub mod mine;
#[cfg(feature = "kafka")]
pub mod publish;
pub mod queues;
pub mod retry;
pub mod runner;
pub mod source;
pub mod stage;
pub mod stats;
pub mod status;
pub mod summary;

pub use error::RunError;
pub use runner::{run, RunConfig, Summary};
