//! Running users' filters: SQL rendered by `solas-query` (with bound parameters) on a
//! connection that can only read, with a row limit and a time limit, so a filter can neither
//! write nor stall the others. The filter stage restricts each run to one batch's objects,
//! whose ids are in the session's own tables ([`BATCH_LSST`], [`BATCH_ZTF`]), which the
//! rendered SQL joins with; queries and exports run over the whole database.
//!
//! - [`sqlite`]: a read-only connection; SQLite's progress handler stops a slow query; the
//!   math functions SQLite lacks are registered ([`functions`]).
//! - [`pg`]: read-only transactions with a statement timeout, as the role the operator
//!   gives filters; a connection the server closed is made again.
//! - [`local`]: the filter stage on PostgreSQL: each batch's rows copied into an in-memory
//!   SQLite database of the worker's own, where the filters run as on [`sqlite`].

pub mod functions;
pub mod local;
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
    /// The worker's own batch database could not be made.
    #[error("the batch database: {0}")]
    Local(String),
    #[error("this session runs over the whole database; a batch needs FilterRunner::for_batches")]
    NoBatch,
}

/// A PostgreSQL error reading a batch's copy (`local`): the server's, as for a filter.
impl From<postgres::Error> for FilterRunError {
    fn from(e: postgres::Error) -> FilterRunError {
        FilterRunError::Postgres(pg::PgRunError::Sql(e))
    }
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
            FilterRunError::Local(_) => ErrorKind::Transient,
            FilterRunError::NoBatch => ErrorKind::Permanent,
        }
    }
}

/// Which database filters run on.
enum Backend {
    Sqlite(sqlite::SqliteRunner),
    Postgres(pg::PgRunner),
    Local(Box<local::LocalRunner>),
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

    /// A session for the filter stage, which runs filters over one batch at a time: on
    /// SQLite the main database itself; on PostgreSQL a copy of each batch's rows in an
    /// in-memory SQLite database of the worker's own ([`local`]), read as the role of
    /// `role_url` when given.
    pub fn for_batches(
        main_db: &Target,
        role_url: Option<&str>,
    ) -> Result<FilterRunner, FilterRunError> {
        Ok(FilterRunner(match main_db {
            Target::Sqlite(path) => Backend::Sqlite(sqlite::SqliteRunner::open(path)?),
            Target::Postgres(url) => Backend::Local(Box::new(local::LocalRunner::connect(
                role_url.unwrap_or(url),
            )?)),
        }))
    }

    /// Whether the SQL to run must be rendered for PostgreSQL (else for SQLite).
    pub fn is_postgres(&self) -> bool {
        matches!(self.0, Backend::Postgres(_))
    }

    /// The columns the next batches' filters read (`CheckedQuery::columns_read`, with the
    /// filter's survey): a batch copy holds only these (every column of every table until
    /// this is called). The main database itself holds them all.
    pub fn set_reads(
        &mut self,
        reads: &[(
            solas_query::Survey,
            solas_query::schema::TableKind,
            &'static str,
        )],
    ) {
        if let Backend::Local(r) = &mut self.0 {
            r.set_reads(reads);
        }
    }

    /// Make `batch` the objects that the batch tables hold (and, for a batch copy, the
    /// rows the copy holds).
    pub fn set_batch(&mut self, batch: &BatchObjects) -> Result<(), FilterRunError> {
        match &mut self.0 {
            Backend::Sqlite(r) => r.set_batch(batch),
            Backend::Local(r) => r.set_batch(batch),
            Backend::Postgres(_) => Err(FilterRunError::NoBatch),
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
        let sqlite = match &mut self.0 {
            Backend::Sqlite(r) => r,
            // A batch copy is a SQLite database too.
            Backend::Local(r) => r.sqlite(),
            Backend::Postgres(r) => {
                let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                return Ok(r.shadow(
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
                )?);
            }
        };
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        sqlite.shadow(
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
            Backend::Local(r) => r.run(sql, params, names, timeout),
            Backend::Postgres(r) => match r.run(sql, params, names, timeout) {
                Err(pg::PgRunError::Timeout(t)) => Err(FilterRunError::Timeout(t)),
                other => Ok(other?),
            },
        }
    }
}
