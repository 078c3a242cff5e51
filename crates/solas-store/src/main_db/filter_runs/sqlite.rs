//! Filters on SQLite: a read-only connection on the main database, the batch in temporary
//! tables, SQLite's progress handler stopping a query that runs past its time.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value as Json};

use super::{BatchObjects, FilterRunError, ResultRow, BATCH_LSST, BATCH_ZTF};
use solas_query::Param;

pub struct SqliteRunner {
    conn: Connection,
}

impl SqliteRunner {
    /// A read-only connection on the main database, with the math functions filters use.
    pub fn open(main_db: &Path) -> Result<SqliteRunner, FilterRunError> {
        let conn = Connection::open_with_flags(
            main_db,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        super::register_sqlite_functions(&conn)?;
        // The batch tables live in the connection's own temporary schema.
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE {BATCH_LSST} (\"diaObjectId\" INTEGER PRIMARY KEY);
             CREATE TEMP TABLE {BATCH_ZTF} (\"objectId\" TEXT PRIMARY KEY);"
        ))?;
        Ok(SqliteRunner { conn })
    }

    /// Make `batch` the set of objects the batch tables hold.
    pub fn set_batch(&mut self, batch: &BatchObjects) -> Result<(), FilterRunError> {
        let tx = self.conn.transaction()?;
        tx.execute(&format!("DELETE FROM {BATCH_LSST}"), [])?;
        tx.execute(&format!("DELETE FROM {BATCH_ZTF}"), [])?;
        {
            let mut lsst =
                tx.prepare(&format!("INSERT OR IGNORE INTO {BATCH_LSST} VALUES (?1)"))?;
            for id in &batch.lsst {
                lsst.execute([id])?;
            }
            let mut ztf = tx.prepare(&format!("INSERT OR IGNORE INTO {BATCH_ZTF} VALUES (?1)"))?;
            for name in &batch.ztf {
                ztf.execute([name])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Create a shadow table (`create`) and fill it (`insert`, one row of values each).
    pub fn shadow(
        &mut self,
        create: &str,
        insert: &str,
        rows: impl Iterator<Item = Vec<crate::db::Value>>,
    ) -> Result<(), FilterRunError> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(create)?;
        {
            let mut stmt = tx.prepare(insert)?;
            for row in rows {
                stmt.execute(rusqlite::params_from_iter(row.iter()))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Run rendered SQL with its parameters, stopped after `timeout`.
    pub fn run(
        &mut self,
        sql: &str,
        params: &[Param],
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<ResultRow>, FilterRunError> {
        run_rendered(&self.conn, sql, params, names, timeout)
    }
}

/// One SQLite value as JSON: integers stay integers; NaN and infinities become null.
pub fn json_value(v: ValueRef<'_>) -> Json {
    match v {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(n) => Json::from(n),
        ValueRef::Real(x) => serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Json::String(format!("<{} bytes>", b.len())),
    }
}

/// Run rendered filter SQL on `conn` (which has [`super::register_sqlite_functions`]),
/// stopping it after `timeout`; rows come back keyed by the filter's output `names`.
fn run_rendered(
    conn: &Connection,
    sql: &str,
    params: &[Param],
    names: &[String],
    timeout: Duration,
) -> Result<Vec<ResultRow>, FilterRunError> {
    let deadline = Instant::now() + timeout;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline))?;
    let result = (|| {
        let mut stmt = conn.prepare(sql)?;
        let values = params.iter().map(|p| match p {
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
        });
        let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut map = Map::new();
            for (i, name) in names.iter().enumerate() {
                map.insert(name.clone(), json_value(row.get_ref(i)?));
            }
            out.push(map);
        }
        Ok::<_, rusqlite::Error>(out)
    })();
    conn.progress_handler(0, None::<fn() -> bool>)?;
    match result {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            Err(FilterRunError::Timeout(timeout))
        }
        other => Ok(other?),
    }
}
