//! SQLite for the embedded default: the lightcurve store in its own file, so its writer
//! never waits for the main database's (which is [`crate::main_db`], on SQLite or
//! PostgreSQL), and the settings every Solas SQLite file is opened with.

mod lightcurves;

pub use lightcurves::SqliteLightcurves;

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
