//! Running users' filters on the main database: SQL rendered by `solas-query` (with bound
//! parameters) on a connection that can only read, restricted to one batch's objects, with
//! a row limit and a time limit, so a filter can neither write nor stall the others. The
//! batch's object ids are in the session's own tables ([`BATCH_LSST`], [`BATCH_ZTF`]),
//! which the rendered SQL joins with.
//!
//! - [`sqlite`]: a read-only connection; SQLite's progress handler stops a slow query; the
//!   math functions SQLite lacks are registered ([`functions`]).
//! - [`pg`]: read-only transactions with a statement timeout, as the role the operator
//!   gives filters; a connection the server closed is made again.

pub mod functions;
pub mod pg;
pub mod sqlite;

use std::time::Duration;

use serde_json::{Map, Value as Json};

use solas_query::Rendered;

use crate::db::Target;

pub use functions::register_sqlite_functions;

/// The session tables holding a batch's object ids (the same names on both backends).
pub const BATCH_LSST: &str = "solas_batch_lsst";
pub const BATCH_ZTF: &str = "solas_batch_ztf";

/// One result row: output column name → value (integers stay integers).
pub type ResultRow = Map<String, Json>;

/// The objects a batch holds, by survey.
#[derive(Debug, Default, Clone)]
pub struct BatchObjects {
    pub lsst: Vec<i64>,
    pub ztf: Vec<String>,
}

/// Why a filter run gave no rows.
#[derive(Debug, thiserror::Error)]
pub enum FilterRunError {
    #[error("the filter ran longer than {0:?} and was stopped")]
    Timeout(Duration),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] pg::PgRunError),
}

impl FilterRunError {
    /// Transient when the database was unavailable (locked, unreachable, restarting): the
    /// run may be tried again and must not count as the filter's failure. Otherwise the
    /// filter itself failed (too slow, or its SQL failed on these rows): bad input, its
    /// owner's to mend.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            FilterRunError::Timeout(_) => ErrorKind::BadInput,
            FilterRunError::Sqlite(e) => match crate::error::sqlite_kind(e) {
                ErrorKind::Transient => ErrorKind::Transient,
                _ => ErrorKind::BadInput,
            },
            FilterRunError::Postgres(e) => e.kind(),
        }
    }
}

/// Which database filters run on.
enum Backend {
    Sqlite(sqlite::SqliteRunner),
    Postgres(pg::PgRunner),
}

/// A session for running filters on the main database.
pub struct FilterRunner(Backend);

impl FilterRunner {
    /// A session on `main_db`. On PostgreSQL, as the role of `role_url` when given (one
    /// that may only read the filter tables; see docs/operations.md).
    pub fn open(main_db: &Target, role_url: Option<&str>) -> Result<FilterRunner, FilterRunError> {
        Ok(FilterRunner(match main_db {
            Target::Sqlite(path) => Backend::Sqlite(sqlite::SqliteRunner::open(path)?),
            Target::Postgres(url) => {
                Backend::Postgres(pg::PgRunner::connect(role_url.unwrap_or(url))?)
            }
        }))
    }

    /// Whether the SQL to run must be rendered for PostgreSQL (else for SQLite).
    pub fn is_postgres(&self) -> bool {
        matches!(self.0, Backend::Postgres(_))
    }

    /// Make `batch` the objects that the batch tables hold.
    pub fn set_batch(&mut self, batch: &BatchObjects) -> Result<(), FilterRunError> {
        match &mut self.0 {
            Backend::Sqlite(r) => r.set_batch(batch),
            Backend::Postgres(r) => Ok(r.set_batch(batch)?),
        }
    }

    /// Make `rows` (of one survey) the objects this session's filters read: a temporary
    /// table of the objects table's name and columns, which the stored one's name then
    /// resolves to (SQLite's `temp` schema and PostgreSQL's `pg_temp` are searched first).
    /// What a filter re-run "as the broker knew it" reads (`solas_store::as_of`).
    pub fn shadow_objects(
        &mut self,
        survey: solas_core::Survey,
        rows: &[solas_features::ObjectRow],
    ) -> Result<(), FilterRunError> {
        let (table, columns) = match survey {
            solas_core::Survey::Lsst => ("objects", solas_features::LSST_OBJECT_COLUMNS),
            solas_core::Survey::Ztf => ("ztf_objects", solas_features::ZTF_OBJECT_COLUMNS),
        };
        let names = crate::tables::quoted_names(columns);
        let values = |row: &solas_features::ObjectRow| -> Vec<crate::db::Value> {
            super::params(row).collect()
        };
        match &mut self.0 {
            Backend::Sqlite(r) => {
                let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
                r.shadow(
                    &format!(
                        "DROP TABLE IF EXISTS temp.{table};
                         CREATE TEMP TABLE {table} AS SELECT * FROM main.{table} WHERE 0;"
                    ),
                    &format!(
                        "INSERT INTO temp.{table} ({}) VALUES ({})",
                        names.join(", "),
                        marks.join(", ")
                    ),
                    rows.iter().map(values),
                )
            }
            Backend::Postgres(r) => {
                let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                Ok(r.shadow(
                    &format!(
                        "DROP TABLE IF EXISTS pg_temp.{table};
                         CREATE TEMP TABLE {table} (LIKE public.{table} INCLUDING DEFAULTS);"
                    ),
                    &format!(
                        "INSERT INTO pg_temp.{table} ({}) VALUES ({})",
                        names.join(", "),
                        marks.join(", ")
                    ),
                    rows.iter().map(values),
                )?)
            }
        }
    }

    /// Run rendered filter SQL with its bound parameters, stopped after `timeout`; rows
    /// come back keyed by the filter's output `names`.
    pub fn run(
        &mut self,
        rendered: &Rendered,
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<ResultRow>, FilterRunError> {
        let (sql, params) = (rendered.sql.as_str(), rendered.params.as_slice());
        match &mut self.0 {
            Backend::Sqlite(r) => r.run(sql, params, names, timeout),
            Backend::Postgres(r) => match r.run(sql, params, names, timeout) {
                Err(pg::PgRunError::Timeout(t)) => Err(FilterRunError::Timeout(t)),
                other => Ok(other?),
            },
        }
    }
}
