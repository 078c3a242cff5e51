//! SQLite backends for the embedded default: the lightcurve store and the main database,
//! each in its own file so their writers never wait for each other.

pub mod annotations;
mod context_cache;
pub mod filters;
mod lightcurves;
mod main_db;
pub mod migrate;
pub mod watch;
mod watch_tables;

pub use context_cache::SqliteContextCache;
pub use lightcurves::SqliteLightcurves;
pub use main_db::{SqliteMainDb, OBJECT_TABLES};

use std::path::Path;

use rusqlite::Connection;

use crate::StoreError;

/// Open a database file with the settings every Solas SQLite file uses: WAL so readers
/// (the web site) never block the writer, and FULL sync so a committed batch survives a
/// power cut (one fsync per batch transaction, not per row).
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "busy_timeout", 10_000)?;
    Ok(conn)
}
