//! Filters for a PostgreSQL main database, run as Lasair's filter nodes run them: on a
//! database of the worker's own that holds only the batch. At each batch, the batch's rows
//! of the tables the filters read, and of those only the columns they read, are copied from
//! PostgreSQL (one key probe per object and table, in one read-only snapshot) into an
//! in-memory SQLite database made with the main database's own SQLite schema. The
//! filters, rendered for SQLite, then run there on a read-only connection
//! ([`super::sqlite`]), in-process.
//!
//! Why: as PostgreSQL statements each filter cost 3–6 ms a batch (its round trips, and a
//! scan of the batch's rows by the server), against about 1 ms on SQLite; with 100 filters
//! that made the filter stage the scale-out pipeline's bottleneck (BENCHMARKS.md, "Filters
//! on the batch's own copy"). Users' SQL from the filter stage no longer reaches PostgreSQL,
//! so the filter role needs only `SELECT`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use postgres::{Client, NoTls, Row, Statement};

use solas_query::schema::{object_key, physical_table, TableKind};
use solas_query::{Param, Survey};

use super::pg::PgRunError;
use super::sqlite::SqliteRunner;
use super::{BatchObjects, FilterRunError, ResultRow};
use crate::db::Target;

/// The tables holding `survey`'s objects' rows that a copy may fill, each once.
fn survey_tables(survey: Survey) -> Vec<&'static str> {
    let mut tables = Vec::new();
    for kind in TableKind::ALL {
        if let Some(t) = copied_table(kind, survey) {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
    }
    tables
}

/// Every table a copy may fill, both surveys' (`crossmatch_tns` is read by name).
fn tables() -> Vec<&'static str> {
    let mut tables = vec!["crossmatch_tns"];
    for t in survey_tables(Survey::Lsst)
        .into_iter()
        .chain(survey_tables(Survey::Ztf))
    {
        if !tables.contains(&t) {
            tables.push(t);
        }
    }
    tables
}

/// The table holding a kind's rows for `survey`'s objects, keyed by the survey's object
/// key (None for the TNS copy, which is found by name).
fn copied_table(kind: TableKind, survey: Survey) -> Option<&'static str> {
    match kind {
        TableKind::CrossmatchTns => None,
        // The view is made over the annotations in the local database too.
        TableKind::Consensus => Some(physical_table(TableKind::Annotations, survey)),
        other => Some(physical_table(other, survey)),
    }
}

pub struct LocalRunner {
    pg: Client,
    /// For connecting again when the server closed the connection (a restart).
    url: String,
    prepared: HashMap<String, Statement>,
    writer: rusqlite::Connection,
    reader: SqliteRunner,
    /// Each local table's columns: a column PostgreSQL has and the local schema lacks (one
    /// a newer migration added) cannot be named by this build's filters, so it is left out.
    columns: HashMap<&'static str, HashSet<String>>,
    /// The columns the next batches' filters read, by local table (None: every column of
    /// every table).
    reads: Option<HashMap<&'static str, Vec<String>>>,
    /// Each local table's columns that must have a value (`NOT NULL` without a default):
    /// copied whatever the filters read.
    required: HashMap<&'static str, Vec<String>>,
}

impl LocalRunner {
    /// Connect to PostgreSQL at `url` (e.g. as a role that may only read the filter tables)
    /// and make the local database, with every migration of the main database's schema.
    pub fn connect(url: &str) -> Result<LocalRunner, FilterRunError> {
        // In memory, shared by this runner's two connections, and gone with the last of
        // them: nothing is left behind when a worker is killed.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let uri = format!(
            "file:solas-filter-batch-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        );
        let path = Path::new(&uri);
        // Opened first, so that the database outlives the connection that makes its schema.
        let writer = rusqlite::Connection::open(path)?;
        crate::main_db::connect(&Target::Sqlite(path.to_path_buf()))
            .map_err(|e| FilterRunError::Local(format!("making the batch database: {e}")))?;
        let writer = local_writer(writer)?;
        let mut columns = HashMap::new();
        let mut required = HashMap::new();
        for table in tables() {
            // Each column, and whether it must have a value (NOT NULL without a default).
            let info = writer
                .prepare(&format!(
                    "SELECT name, \"notnull\" AND dflt_value IS NULL
                     FROM pragma_table_info('{table}')"
                ))?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
                .collect::<Result<Vec<(String, bool)>, _>>()?;
            let needed = info.iter().filter(|(_, n)| *n).map(|(c, _)| c.clone());
            required.insert(table, needed.collect());
            columns.insert(table, info.into_iter().map(|(c, _)| c).collect());
        }
        Ok(LocalRunner {
            pg: session(url)?,
            url: url.to_string(),
            prepared: HashMap::new(),
            writer,
            reader: SqliteRunner::open(path)?,
            columns,
            required,
            reads: None,
        })
    }

    /// Copy only these columns (of `survey`'s tables of these kinds) from the next batch
    /// on, as the filters to run read them (`CheckedQuery::columns_read`). Each copied table
    /// also gets the object keys, and a table no filter reads is not copied.
    pub fn set_reads(&mut self, reads: &[(Survey, TableKind, &'static str)]) {
        let mut columns: HashMap<&'static str, Vec<String>> = HashMap::new();
        let required = &self.required;
        let mut add = |table: &'static str, col: &str| {
            let cols = columns
                .entry(table)
                .or_insert_with(|| required.get(table).cloned().unwrap_or_default());
            if !cols.iter().any(|c| c == col) {
                cols.push(col.to_string());
            }
        };
        for &(survey, kind, col) in reads {
            let key = object_key(survey);
            match kind {
                TableKind::CrossmatchTns => add("crossmatch_tns", col),
                // The view's own columns come from the annotations it is made of.
                TableKind::Consensus => {
                    let table = physical_table(TableKind::Annotations, survey);
                    add(table, key);
                    for c in crate::main_db::annotations::consensus::VIEW_READS {
                        add(table, c);
                    }
                }
                other => {
                    let table = physical_table(other, survey);
                    add(table, key);
                    add(table, col);
                }
            }
        }
        // Each survey's objects are copied whatever the filters read (the batch's rows).
        add("objects", object_key(Survey::Lsst));
        add("ztf_objects", object_key(Survey::Ztf));
        self.reads = Some(columns);
    }

    /// Make `batch` what the filters see: the batch tables, and the local copy of its rows.
    pub fn set_batch(&mut self, batch: &BatchObjects) -> Result<(), FilterRunError> {
        self.reader.set_batch(batch)?;
        let rows = match self.fetch(batch) {
            Err(FilterRunError::Postgres(PgRunError::Sql(_))) if self.pg.is_closed() => {
                log::warn!(
                    "the filter session's PostgreSQL connection was closed; connecting again"
                );
                self.pg = session(&self.url)?;
                self.prepared.clear();
                self.fetch(batch)?
            }
            // A table gained a column (a migration beside running workers): the prepared
            // `SELECT *` no longer describes it.
            Err(FilterRunError::Postgres(PgRunError::Sql(e)))
                if e.code() == Some(&postgres::error::SqlState::FEATURE_NOT_SUPPORTED) =>
            {
                self.prepared.clear();
                self.fetch(batch)?
            }
            other => other?,
        };
        let tx = self.writer.transaction()?;
        for table in self.columns.keys() {
            tx.execute(&format!("DELETE FROM \"{table}\""), [])?;
        }
        for (table, rows) in &rows {
            insert(&tx, table, &self.columns[table], rows)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The batch's rows of each table to copy, read from PostgreSQL in one snapshot.
    fn fetch(
        &mut self,
        batch: &BatchObjects,
    ) -> Result<Vec<(&'static str, Vec<Row>)>, FilterRunError> {
        let mut lsst = batch.lsst.clone();
        lsst.sort_unstable();
        lsst.dedup();
        let mut ztf = batch.ztf.clone();
        ztf.sort_unstable();
        ztf.dedup();
        let mut tx = self
            .pg
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let mut out: Vec<(&'static str, Vec<Row>)> = Vec::new();
        for survey in [Survey::Lsst, Survey::Ztf] {
            let key = object_key(survey);
            let (ty, keys, empty): (&str, &(dyn postgres::types::ToSql + Sync), bool) = match survey
            {
                Survey::Lsst => ("BIGINT", &lsst, lsst.is_empty()),
                Survey::Ztf => ("TEXT", &ztf, ztf.is_empty()),
            };
            if empty {
                continue;
            }
            let read = |t: &&str| self.reads.as_ref().is_none_or(|r| r.contains_key(*t));
            for table in survey_tables(survey).into_iter().filter(read) {
                let columns = select_list(&self.reads, table, "t.");
                // One probe of the key per object: on a table the planner has no
                // statistics for, a join would hash the whole table (postgres::lightcurves).
                let sql = format!(
                    "SELECT {columns} FROM unnest($1::{ty}[]) AS b(k)
                     CROSS JOIN LATERAL (SELECT * FROM public.\"{table}\"
                                         WHERE \"{key}\" = b.k OFFSET 0) t"
                );
                let stmt = match self.prepared.get(&sql) {
                    Some(s) => s.clone(),
                    None => {
                        let s = tx.prepare(&sql)?;
                        self.prepared.insert(sql, s.clone());
                        s
                    }
                };
                out.push((table, tx.query(&stmt, &[keys])?));
            }
        }
        let tns = self
            .reads
            .as_ref()
            .is_none_or(|r| r.contains_key("crossmatch_tns"));
        if tns {
            let names = tns_names(&out);
            if !names.is_empty() {
                let columns = select_list(&self.reads, "crossmatch_tns", "");
                let rows = tx.query(
                    &format!(
                        "SELECT {columns} FROM public.crossmatch_tns WHERE tns_name = ANY($1)"
                    ),
                    &[&names],
                )?;
                out.push(("crossmatch_tns", rows));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// The read-only connection on the copy, where filters run.
    pub fn sqlite(&mut self) -> &mut SqliteRunner {
        &mut self.reader
    }

    /// Run filter SQL rendered for SQLite on the batch's copy.
    pub fn run(
        &mut self,
        sql: &str,
        params: &[Param],
        names: &[String],
        timeout: std::time::Duration,
    ) -> Result<Vec<ResultRow>, FilterRunError> {
        self.reader.run(sql, params, names, timeout)
    }
}

/// The PostgreSQL session the copies are read on. JIT off: a probe plan is costed as if it
/// read whole tables, and compiling it would take longer than the read.
fn session(url: &str) -> Result<Client, FilterRunError> {
    let mut client = Client::connect(url, NoTls)?;
    client.batch_execute("SET jit = off")?;
    Ok(client)
}

/// The connection that fills the local copy: no trigger of the main schema (the kept row
/// counts) runs on it.
fn local_writer(conn: rusqlite::Connection) -> Result<rusqlite::Connection, FilterRunError> {
    let triggers = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<String>, _>>()?;
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{t}\""))?;
    }
    Ok(conn)
}

/// What to select of `table` (columns prefixed with `prefix`): the columns the filters
/// read, or all of them.
fn select_list(
    reads: &Option<HashMap<&'static str, Vec<String>>>,
    table: &str,
    prefix: &str,
) -> String {
    match reads.as_ref().and_then(|r| r.get(table)) {
        Some(cols) => cols
            .iter()
            .map(|c| format!("{prefix}\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        None => format!("{prefix}*"),
    }
}

/// The TNS names the copied rows can join `crossmatch_tns` on: the hits' cone names (the
/// TNS watchlist's cones are named by TNS name) and Rubin objects' `tns_name`.
fn tns_names(copied: &[(&'static str, Vec<Row>)]) -> Vec<String> {
    let mut names = HashSet::new();
    for (table, rows) in copied {
        let column = match *table {
            "watchlist_hits" | "ztf_watchlist_hits" => "name",
            "objects" => "tns_name",
            _ => continue,
        };
        for row in rows {
            let Some(i) = row.columns().iter().position(|c| c.name() == column) else {
                break;
            };
            if let Ok(Some(name)) = row.try_get::<_, Option<String>>(i) {
                names.insert(name);
            }
        }
    }
    names.into_iter().collect()
}

/// Insert PostgreSQL rows into the local table of the same name, by column name.
fn insert(
    tx: &rusqlite::Transaction,
    table: &str,
    local: &HashSet<String>,
    rows: &[Row],
) -> Result<(), FilterRunError> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let kept: Vec<(usize, &str)> = first
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| local.contains(c.name()))
        .map(|(i, c)| (i, c.name()))
        .collect();
    let names: Vec<String> = kept.iter().map(|(_, n)| format!("\"{n}\"")).collect();
    let marks: Vec<String> = (1..=kept.len()).map(|i| format!("?{i}")).collect();
    // The same row may come twice (a counterpart pair with both objects in the batch); any
    // other constraint failing is an error, not a row left out.
    let mut stmt = tx.prepare(&format!(
        "INSERT INTO main.\"{table}\" ({}) VALUES ({}) ON CONFLICT DO NOTHING",
        names.join(", "),
        marks.join(", ")
    ))?;
    let mut values = Vec::with_capacity(kept.len());
    for row in rows {
        values.clear();
        for (i, name) in &kept {
            // The store's own value type reads every type the main schema uses; another is
            // the schema's fault, not the server's (not an outage to wait out).
            let value = row.try_get::<_, crate::db::Value>(*i);
            values.push(value.map_err(|_| PgRunError::Type(name.to_string()))?);
        }
        stmt.execute(rusqlite::params_from_iter(values.iter()))?;
    }
    Ok(())
}
