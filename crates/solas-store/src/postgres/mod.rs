//! PostgreSQL backends for the scale-out deployment that are PostgreSQL's own: the
//! lightcurve store, hash-partitioned by object, with versioned migrations of its own. (The
//! main database on PostgreSQL is [`crate::main_db`], the same code as on SQLite.)

mod lightcurves;
mod migrate;

pub use lightcurves::PgLightcurves;
