//! Sky matching for Solas: which watchlists, watchmaps, known transients and
//! gravitational-wave skymaps a position belongs to.
//!
//! This crate owns the geometry and the file formats, nothing else: no database, no
//! pipeline. Callers load the user's watchlists and watchmaps (from wherever they keep
//! them), build the indexes here once, and ask them about each object's position.
//!
//! - [`watchlist`]: parsing a watchlist CSV into cones, and [`ConeIndex`], a compact
//!   HEALPix-sorted index over millions of cones that returns every cone containing a
//!   point, with exact great-circle separations.
//! - [`watchmap`]: parsing MOCs (FITS 1.x NUNIQ, FITS 2.0 RANGE, ASCII, JSON) into [`Moc`],
//!   and [`WatchmapIndex`], which returns every watchmap containing a point.
//! - [`tns`]: parsing the TNS public-objects CSV into rows shaped like Lasair's
//!   `crossmatch_tns` table, and [`TnsIndex`] for the nearest known transient.
//! - [`skymap`]: reading LVK skymaps (multi-order or flat HEALPix FITS, gzipped or not)
//!   and answering credible level, 2-D and 3-D probability density at a position.
//! - [`gcn`]: GCN notices (gcn-schema's unified JSON, LVK's alerts) as events with their
//!   skymaps or error circles ([`circle_fits`]).
//! - [`photometry`]: parsing users' own photometry of an object (CSV).
//! - [`sky`]: great-circle separation and position checks shared by the above.
//!
//! Every parser returns an error for bad input; none panics on it.

mod csv;
pub mod gcn;
pub mod photometry;
pub mod sky;
pub mod skymap;
pub mod tns;
pub mod watchlist;
pub mod watchmap;

pub use sky::separation_arcsec;
pub use skymap::{circle_fits, SkyLocation, Skymap, SkymapError, SkymapMeta};
pub use tns::{parse_tns_csv, TnsError, TnsFile, TnsIndex, TnsRow, TnsRowError};
pub use watchlist::{
    parse_csv, Cone, ConeError, ConeHit, ConeIndex, ConeIndexBuilder, CsvErrors, CsvLineError,
};
pub use watchmap::{parse_moc, Moc, MocError, WatchmapIndex};
