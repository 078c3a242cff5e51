//! Running a checked filter on SQLite: restricted to one batch's objects, with a row limit
//! (a bound parameter) and a time limit (SQLite's progress handler interrupts a query that
//! runs too long), on a read-only connection, so a filter can neither write nor stall the
//! others.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};

use crate::render::{Dialect, Param};
use crate::schema::object_key;
use crate::{CheckedQuery, Survey, BATCH_LSST, BATCH_ZTF};

/// One result row: output column name → value (integers stay integers).
pub type ResultRow = Map<String, Value>;

/// The objects a batch holds, by survey.
#[derive(Debug, Default, Clone)]
pub struct BatchObjects {
    pub lsst: Vec<i64>,
    pub ztf: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the filter ran longer than {0:?} and was stopped")]
    Timeout(Duration),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
}

pub struct SqliteRunner {
    conn: Connection,
}

impl SqliteRunner {
    /// A read-only connection on the main database, with the math functions filters use.
    pub fn open(main_db: &Path) -> Result<SqliteRunner, RunError> {
        let conn = Connection::open_with_flags(
            main_db,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        crate::register_sqlite_functions(&conn)?;
        // The batch tables live in the connection's own temporary schema.
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE {BATCH_LSST} (\"diaObjectId\" INTEGER PRIMARY KEY);
             CREATE TEMP TABLE {BATCH_ZTF} (\"objectId\" TEXT PRIMARY KEY);"
        ))?;
        Ok(SqliteRunner { conn })
    }

    /// Make `batch` the set of objects that [`SqliteRunner::run`] with `in_batch` sees.
    pub fn set_batch(&mut self, batch: &BatchObjects) -> Result<(), RunError> {
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

    /// Run `query`, over the current batch when `in_batch`, returning at most `limit` rows.
    pub fn run(
        &mut self,
        query: &CheckedQuery,
        in_batch: bool,
        limit: u64,
        timeout: Duration,
    ) -> Result<Vec<ResultRow>, RunError> {
        let batch_table = match query.survey {
            Survey::Lsst => BATCH_LSST,
            Survey::Ztf => BATCH_ZTF,
        };
        debug_assert!(!object_key(query.survey).is_empty());
        let rendered = query.render(
            Dialect::Sqlite,
            Some(limit),
            in_batch.then_some(batch_table),
        );
        run_rendered(&self.conn, &rendered, &query.columns(), timeout)
    }
}

/// One SQLite value as JSON: integers stay integers; NaN and infinities become null.
pub fn json_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::from(n),
        ValueRef::Real(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(format!("<{} bytes>", b.len())),
    }
}

/// Run rendered filter SQL on `conn` (which needs [`crate::register_sqlite_functions`]),
/// stopping it after `timeout`; rows come back keyed by the filter's output `names`. The
/// web API uses it for paged queries, the filter stage through [`SqliteRunner::run`].
pub fn run_rendered(
    conn: &Connection,
    rendered: &crate::Rendered,
    names: &[String],
    timeout: Duration,
) -> Result<Vec<ResultRow>, RunError> {
    let deadline = Instant::now() + timeout;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline))?;
    let result = (|| {
        let mut stmt = conn.prepare(&rendered.sql)?;
        let params = rusqlite::params_from_iter(rendered.params.iter().map(|p| match p {
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
        }));
        let mut rows = stmt.query(params)?;
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
            Err(RunError::Timeout(timeout))
        }
        other => Ok(other?),
    }
}
