//! The ingest stage: raw bytes → decoded, stored, cutout-free alerts.
//!
//! - [`decode`]: N workers decode payloads, set aside what fails ([`rejected`]), and
//!   write cutouts to the blob store (file I/O parallelises well).
//! - [`store`]: one writer puts each batch's lightcurve rows in the lightcurve store in
//!   one transaction and flushes the blob store, then passes the alerts on.

pub mod decode;
pub mod rejected;
pub mod store;
