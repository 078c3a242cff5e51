//! Database plumbing for handlers: SQLite calls block, so they run on tokio's blocking
//! threads ([`blocking`]); connections to the main database are opened read-only per
//! request (cheap, and a reader never holds up the pipeline's writer under WAL); the
//! lightcurve store keeps a few open handles in a [`Pool`].

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Run blocking work off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a request's worker failed: {e}")))
}

/// A read-only connection to a SQLite file.
pub(crate) fn read_only(path: &Path) -> Result<Connection, ApiError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// A SQLite value as JSON: integers stay integers (64-bit ids are exact), non-finite reals
/// become null.
pub(crate) fn json_value(v: ValueRef<'_>) -> Value {
    solas_query::run_sqlite::json_value(v)
}

/// Every row of a query as JSON objects keyed by column name.
pub(crate) fn rows_json(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Map<String, Value>>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached(sql)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut map = Map::new();
        for (i, name) in names.iter().enumerate() {
            map.insert(name.clone(), json_value(row.get_ref(i)?));
        }
        out.push(map);
    }
    Ok(out)
}

/// Whether a table exists (an older main database may lack the newer ones).
pub(crate) fn has_table(conn: &Connection, table: &str) -> Result<bool, rusqlite::Error> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Open handles reused across requests: take one (or make one), use it, put it back.
pub(crate) struct Pool<T> {
    idle: Mutex<Vec<T>>,
    make: Box<dyn Fn() -> Result<T, ApiError> + Send + Sync>,
    keep: usize,
}

impl<T> Pool<T> {
    pub(crate) fn new(
        keep: usize,
        make: impl Fn() -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Pool<T> {
        Pool {
            idle: Mutex::new(Vec::new()),
            make: Box::new(make),
            keep,
        }
    }

    /// Add an already open handle.
    pub(crate) fn put(&self, item: T) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.keep {
            idle.push(item);
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, ApiError> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut item = match taken {
            Some(item) => item,
            None => (self.make)()?,
        };
        let result = f(&mut item);
        self.put(item);
        Ok(result)
    }
}
