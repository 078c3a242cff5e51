//! SQLite for the embedded default: the lightcurve store in its own file, so its writer
//! never waits for the main database's (which is [`crate::main_db`], on SQLite or
//! PostgreSQL), and the settings every Solas SQLite file is opened with.

mod lightcurves;

pub use lightcurves::SqliteLightcurves;

use std::path::Path;

use std::time::{Duration, Instant};

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
    conn.busy_timeout(BUSY_TIMEOUT)?;
    wal(&conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switch to WAL, waiting for the lock as every other statement does. SQLite answers this
/// pragma "database is locked" at once, without its busy handler, while another
/// connection holds the file exclusively: a fresh file being switched, or the last
/// connection closing (it checkpoints and removes the WAL). Scale-out workers sharing a
/// data directory meet both as they start and end.
fn wal(conn: &Connection) -> Result<(), StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            done => return Ok(done?),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Regression: scale-out workers on one data directory open its databases as they
    /// start and again as they end, while another's last connection closes (which
    /// checkpoints and removes the WAL under an exclusive lock); none may fail with
    /// "database is locked".
    #[test]
    fn workers_opening_one_file_as_others_close_it_do_not_find_it_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("solas.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..100 {
                        let conn = super::open(&path)?;
                        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)")?;
                        conn.execute("INSERT INTO t VALUES (1)", [])?;
                    }
                    Ok::<_, crate::StoreError>(())
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().expect("open, write, close");
        }
    }
}
