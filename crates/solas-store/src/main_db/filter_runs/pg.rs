//! Filters on PostgreSQL over the whole database (the API's queries, exports, `solas filter
//! test`), with the row limit as a bound parameter, inside a `READ ONLY` transaction with a
//! `statement_timeout`, ideally as a role that can only read the filter tables
//! (`docs/operations.md`), so a filter can neither write nor run on. The filter stage's
//! batches run on a copy instead ([`super::local`]).

use std::time::Duration;

use postgres::types::Type;
use postgres::{Client, NoTls, Row};
use serde_json::{Map, Value};

use solas_query::Param;

use super::ResultRow;

#[derive(Debug, thiserror::Error)]
pub enum PgRunError {
    #[error("the filter ran longer than {0:?} and was stopped")]
    Timeout(Duration),
    /// The server's own words: the error's Display alone is only "db error".
    #[error("database: {}", server_message(.0))]
    Sql(#[from] postgres::Error),
    #[error("column {0} has a type filters cannot return")]
    Type(String),
}

impl PgRunError {
    /// See [`super::FilterRunError::kind`]. The server's SQLSTATE tells an unavailable
    /// server (connection lost, shutting down, out of resources, a deadlock it broke) from
    /// a filter that failed.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            PgRunError::Timeout(_) | PgRunError::Type(_) => ErrorKind::BadInput,
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

pub struct PgRunner {
    client: Client,
    /// For connecting again when the server closed the connection (a restart).
    url: String,
}

impl PgRunner {
    /// Connect (e.g. as a read-only role).
    pub fn connect(url: &str) -> Result<PgRunner, PgRunError> {
        Ok(PgRunner {
            client: Client::connect(url, NoTls)?,
            url: url.to_string(),
        })
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
        // A connection the server closed (a restart) is made again, and the query run on it.
        match Self::query_on(&mut self.client, sql, &refs, names, timeout) {
            Err(PgRunError::Sql(_)) if self.client.is_closed() => {
                log::warn!(
                    "the filter session's PostgreSQL connection was closed; connecting again"
                );
                self.client = Client::connect(&self.url, NoTls)?;
                Self::query_on(&mut self.client, sql, &refs, names, timeout)
            }
            other => other,
        }
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
