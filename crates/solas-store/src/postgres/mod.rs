//! PostgreSQL backends for the scale-out deployment: the main database's per-object tables
//! (`objects`, `ztf_objects` and the context classifications), built from the same column
//! lists as the SQLite tables so filters read the same names, and the lightcurve store,
//! hash-partitioned by object. 64-bit integer columns are `BIGINT`; each store has
//! versioned migrations of its own.

mod lightcurves;
mod main_db;
mod migrate;

pub use lightcurves::PgLightcurves;
pub use main_db::PgMainDb;
