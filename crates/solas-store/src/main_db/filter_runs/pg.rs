//! Filters on PostgreSQL: restricted to one batch's objects, with the row
//! limit as a bound parameter, inside a `READ ONLY` transaction with a `statement_timeout`,
//! ideally as a role that can only read the filter tables (`docs/operations.md`), so a
//! filter can neither write nor run on.

use std::time::Duration;

use postgres::types::Type;
use postgres::{Client, NoTls, Row};
use serde_json::{Map, Value};

use solas_query::Param;

use super::{BatchObjects, ResultRow, BATCH_LSST, BATCH_ZTF};

#[derive(Debug, thiserror::Error)]
pub enum PgRunError {
    #[error("the filter ran longer than {0:?} and was stopped")]
    Timeout(Duration),
    /// The server's own words: the error's Display alone is only "db error".
    #[error("database: {}", server_message(.0))]
    Sql(#[from] postgres::Error),
    #[error("column {0} has a type filters cannot return")]
    Type(String),
    /// The connection had been closed and a new session made: its batch tables are empty.
    #[error("the PostgreSQL connection was closed and made again; the batch must be set again")]
    Reconnected,
}

impl PgRunError {
    /// See [`super::FilterRunError::kind`]. The server's SQLSTATE tells an unavailable
    /// server (connection lost, shutting down, out of resources, a deadlock it broke) from
    /// a filter that failed.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            PgRunError::Timeout(_) | PgRunError::Type(_) => ErrorKind::BadInput,
            PgRunError::Reconnected => ErrorKind::Transient,
            PgRunError::Sql(e) => match e.as_db_error() {
                // No answer from the server at all: the connection failed.
                None => ErrorKind::Transient,
                Some(db) => {
                    let code = db.code().code();
                    let unavailable = ["08", "40", "53", "57P", "58"]
                        .iter()
                        .any(|class| code.starts_with(class));
                    if unavailable {
                        ErrorKind::Transient
                    } else {
                        ErrorKind::BadInput
                    }
                }
            },
        }
    }
}

fn server_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// The per-object tables that a batch's filters read as copies of the batch's rows (the
/// session's own temporary tables of the same names, which `pg_temp` being searched first
/// makes the filters' SQL resolve to), as Lasair's filter nodes run on a local database
/// holding only the batch. Filter SQL is always restricted to the batch's objects and may
/// not hold subqueries, so it reads the same rows either way; but every filter then scans
/// the batch's few thousand rows, where the server would scan the whole table or probe
/// its index once per batch object (half the time of each filter on a store of 100,000
/// objects: `BENCHMARKS.md`, and a table's size rather than the batch's decides it).
const SHADOWED_LSST: [&str; 2] = ["objects", "sherlock_classifications"];
const SHADOWED_ZTF: [&str; 2] = ["ztf_objects", "ztf_sherlock_classifications"];

pub struct PgRunner {
    client: Client,
    /// For connecting again when the server closed the connection (a restart).
    url: String,
}

impl PgRunner {
    /// Connect (e.g. as a read-only role) and make the session's batch tables.
    pub fn connect(url: &str) -> Result<PgRunner, PgRunError> {
        Ok(PgRunner {
            client: Self::session(url)?,
            url: url.to_string(),
        })
    }

    fn session(url: &str) -> Result<Client, PgRunError> {
        let mut client = Client::connect(url, NoTls)?;
        // Temporary tables are the session's own, and writable even for a role that may
        // only read the real tables.
        client.batch_execute(&format!(
            "CREATE TEMP TABLE {BATCH_LSST} (\"diaObjectId\" BIGINT PRIMARY KEY);
             CREATE TEMP TABLE {BATCH_ZTF} (\"objectId\" TEXT PRIMARY KEY);"
        ))?;
        Ok(client)
    }

    /// `f`, once more on a new session if the server had closed the connection (it was
    /// restarted): the filters of the first batch after a restart would fail otherwise.
    /// The batch tables are the session's, so the caller sets the batch again.
    fn reconnected<T>(
        &mut self,
        mut f: impl FnMut(&mut Client) -> Result<T, PgRunError>,
    ) -> Result<T, PgRunError> {
        match f(&mut self.client) {
            Err(PgRunError::Sql(_)) if self.client.is_closed() => {
                log::warn!(
                    "the filter session's PostgreSQL connection was closed; connecting again"
                );
                self.client = Self::session(&self.url)?;
                Err(PgRunError::Reconnected)
            }
            other => other,
        }
    }

    /// Create a shadow table (`create`) and fill it (`insert`, one row of values each).
    pub fn shadow(
        &mut self,
        create: &str,
        insert: &str,
        rows: impl Iterator<Item = Vec<crate::db::Value>>,
    ) -> Result<(), PgRunError> {
        let mut tx = self.client.transaction()?;
        tx.batch_execute(create)?;
        let stmt = tx.prepare(insert)?;
        for row in rows {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = row
                .iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                .collect();
            tx.execute(&stmt, &params)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Make `batch` the objects that [`PgRunner::run`] sees: the batch tables, and copies
    /// of the batch's rows of the per-object tables ([`SHADOWED_LSST`], [`SHADOWED_ZTF`]) for
    /// each survey the batch has objects of.
    pub fn set_batch(&mut self, batch: &BatchObjects) -> Result<(), PgRunError> {
        match self.reconnected(|client| Self::set_batch_on(client, batch)) {
            Err(PgRunError::Reconnected) => Self::set_batch_on(&mut self.client, batch),
            other => other,
        }
    }

    fn set_batch_on(client: &mut Client, batch: &BatchObjects) -> Result<(), PgRunError> {
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!("TRUNCATE {BATCH_LSST}, {BATCH_ZTF}"))?;
        tx.execute(
            &format!(
                "INSERT INTO {BATCH_LSST} SELECT DISTINCT unnest($1::BIGINT[]) ON CONFLICT DO NOTHING"
            ),
            &[&batch.lsst],
        )?;
        tx.execute(
            &format!(
                "INSERT INTO {BATCH_ZTF} SELECT DISTINCT unnest($1::TEXT[]) ON CONFLICT DO NOTHING"
            ),
            &[&batch.ztf],
        )?;
        let surveys = [
            (
                !batch.lsst.is_empty(),
                BATCH_LSST,
                "diaObjectId",
                SHADOWED_LSST,
            ),
            (!batch.ztf.is_empty(), BATCH_ZTF, "objectId", SHADOWED_ZTF),
        ];
        for (_, batch_table, key, tables) in surveys.into_iter().filter(|s| s.0) {
            for table in tables {
                let rows = format!(
                    "SELECT * FROM public.{table}
                     WHERE \"{key}\" IN (SELECT \"{key}\" FROM {batch_table})"
                );
                // The session's copy emptied and filled again: dropping and making it
                // anew each batch (150 columns of catalogue rows) took 45 ms a batch. It
                // is made, or made again, where that fails: the first batch, or the table
                // gained a column (a migration while workers run).
                let mut refill = tx.savepoint("refill")?;
                match refill.batch_execute(&format!(
                    "TRUNCATE pg_temp.{table}; INSERT INTO pg_temp.{table} {rows};"
                )) {
                    Ok(()) => refill.commit()?,
                    Err(_) => {
                        refill.rollback()?;
                        tx.batch_execute(&format!(
                            "DROP TABLE IF EXISTS pg_temp.{table};
                             CREATE TEMP TABLE {table} AS {rows};"
                        ))?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Run rendered filter SQL (e.g. with an `OFFSET` added for a page), read-only and
    /// stopped after `timeout`; rows come back keyed by the filter's output `names`.
    pub fn run(
        &mut self,
        sql: &str,
        params: &[Param],
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<ResultRow>, PgRunError> {
        // statement_timeout counts whole milliseconds, and 0 would mean no limit at all: a
        // limit under a millisecond leaves no time to run in.
        if timeout < Duration::from_millis(1) {
            return Err(PgRunError::Timeout(timeout));
        }
        // Bound with their own Rust types, whose conversions check the column's type: a
        // quoted string compared with a number column is refused by the client, as it must
        // be (the store's `db::Value` would send its bytes as whatever the server asks for).
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| -> &(dyn postgres::types::ToSql + Sync) {
                match p {
                    Param::Int(i) => i,
                    Param::Text(s) => s,
                }
            })
            .collect();
        // A closed connection is made again; the filter fails this once (its batch table is
        // gone with the old session), and the next set_batch fills the new one.
        self.reconnected(|client| Self::query_on(client, sql, &refs, names, timeout))
    }

    fn query_on(
        client: &mut Client,
        sql: &str,
        refs: &[&(dyn postgres::types::ToSql + Sync)],
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<ResultRow>, PgRunError> {
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!(
            "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}",
            timeout.as_millis()
        ))?;
        let rows = match tx.query(sql, refs) {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED) => {
                return Err(PgRunError::Timeout(timeout))
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit()?;
        rows.iter().map(|r| to_json(r, names)).collect()
    }
}

/// A row as JSON: integers stay integers, floats that are not finite become null.
fn to_json(row: &Row, names: &[String]) -> Result<ResultRow, PgRunError> {
    let mut map = Map::new();
    for (i, (col, name)) in row.columns().iter().zip(names).enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            row.get::<_, Option<i64>>(i).map(Value::from)
        } else if *t == Type::INT4 {
            row.get::<_, Option<i32>>(i).map(Value::from)
        } else if *t == Type::INT2 {
            row.get::<_, Option<i16>>(i).map(Value::from)
        } else if *t == Type::FLOAT8 {
            row.get::<_, Option<f64>>(i)
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        } else if *t == Type::FLOAT4 {
            row.get::<_, Option<f32>>(i)
                .and_then(|f| serde_json::Number::from_f64(f64::from(f)))
                .map(Value::Number)
        } else if *t == Type::BOOL {
            row.get::<_, Option<bool>>(i).map(Value::from)
        } else if *t == Type::TEXT || *t == Type::VARCHAR || *t == Type::BPCHAR {
            row.get::<_, Option<String>>(i).map(Value::from)
        } else {
            return Err(PgRunError::Type(name.clone()));
        };
        map.insert(name.clone(), v.unwrap_or(Value::Null));
    }
    Ok(map)
}
