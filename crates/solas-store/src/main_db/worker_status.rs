//! `worker_status` and `stage_hours`: each pipeline worker's latest report (its role, a
//! JSON summary, its counters as Prometheus text) and what every worker did per UTC hour.
//! The pipeline writes them; the web's status page and `/metrics` read them.

use crate::args;
use crate::db::Db;
use crate::StoreError;

/// The per-hour counters of `stage_hours`, in this order.
pub const STAGE_COUNTS: [&str; 8] = [
    "alerts",
    "stored",
    "classified",
    "filtered",
    "delivered",
    "rejected",
    "batches",
    "batch_ns",
];

/// Counts in the order of [`STAGE_COUNTS`].
pub type StageCounts = [i64; 8];

/// One worker's report.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub worker: &'a str,
    pub role: &'a str,
    /// When the worker started (the database's clock, as [`now`] gives it).
    pub started: &'a str,
    pub running: bool,
    pub summary: &'a str,
    pub metrics: &'a str,
}

/// A worker as it last reported.
#[derive(Debug, Clone)]
pub struct WorkerRow {
    pub worker: String,
    pub role: String,
    /// UTC, as the database wrote it.
    pub updated: String,
    pub running: bool,
    pub summary: String,
    pub metrics: String,
}

/// A worker found silent and marked stopped.
#[derive(Debug, Clone)]
pub struct Silent {
    pub worker: String,
    pub role: String,
    pub updated: String,
}

/// The database's clock (UTC), as the reports are stamped.
pub fn now(db: &mut Db) -> Result<String, StoreError> {
    db.query_one("SELECT CURRENT_TIMESTAMP", &[])?.get(0)
}

/// Write a worker's report, and add `since_last` to its current hour, in one transaction.
pub fn report(db: &mut Db, r: &Report, since_last: &StageCounts) -> Result<(), StoreError> {
    let hour = db.dialect().this_hour();
    db.transaction(|tx| {
        tx.execute(
            "INSERT INTO worker_status (worker, role, started, updated, running, summary, metrics)
             VALUES (?1, ?2, ?3, CURRENT_TIMESTAMP, ?4, ?5, ?6)
             ON CONFLICT (worker) DO UPDATE SET updated = CURRENT_TIMESTAMP, running = excluded.running,
               summary = excluded.summary, metrics = excluded.metrics",
            args![r.worker, r.role, r.started, r.running, r.summary, r.metrics],
        )?;
        if since_last.iter().all(|d| *d == 0) {
            return Ok(());
        }
        let columns = STAGE_COUNTS.join(", ");
        let sums = STAGE_COUNTS
            .map(|c| format!("{c} = stage_hours.{c} + excluded.{c}"))
            .join(", ");
        let d = since_last;
        tx.execute(
            &format!(
                "INSERT INTO stage_hours (hour, worker, role, {columns})
                 VALUES ({hour}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (hour, worker) DO UPDATE SET {sums}"
            ),
            args![r.worker, r.role, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]],
        )?;
        Ok(())
    })
}

/// Mark workers other than `me` that have been silent for `seconds` while running as
/// stopped, and return them. The UPDATE claims them atomically, so however many workers
/// look, each one's loss is returned once.
pub fn claim_silent(db: &mut Db, me: &str, seconds: u32) -> Result<Vec<Silent>, StoreError> {
    let since = db.dialect().seconds_ago(seconds);
    db.query(
        &format!(
            "UPDATE worker_status SET running = 0
             WHERE running = 1 AND worker != ?1 AND updated < {since}
             RETURNING worker, role, updated"
        ),
        args![me],
    )?
    .iter()
    .map(|r| {
        Ok(Silent {
            worker: r.get(0)?,
            role: r.get(1)?,
            updated: r.get(2)?,
        })
    })
    .collect()
}

/// Every worker that reported, newest first.
pub fn workers(db: &mut Db) -> Result<Vec<WorkerRow>, StoreError> {
    db.query(
        "SELECT worker, role, updated, running, summary, metrics FROM worker_status ORDER BY updated DESC",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(WorkerRow {
            worker: r.get(0)?,
            role: r.get(1)?,
            updated: r.get(2)?,
            running: r.get(3)?,
            summary: r.get(4)?,
            metrics: r.get(5)?,
        })
    })
    .collect()
}

/// The counts of the last `hours` UTC hours (this one included), summed over every worker,
/// oldest first: (hour, counts).
pub fn hours(db: &mut Db, hours: u32) -> Result<Vec<(String, StageCounts)>, StoreError> {
    let since = db.dialect().hours_ago(hours.saturating_sub(1));
    let columns = STAGE_COUNTS
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .join(", ");
    db.query(
        &format!(
            "SELECT hour, {columns} FROM stage_hours WHERE hour >= {since}
             GROUP BY hour ORDER BY hour"
        ),
        &[],
    )?
    .iter()
    .map(|r| {
        let mut counts = [0i64; 8];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = r.get(i + 1)?;
        }
        Ok((r.get(0)?, counts))
    })
    .collect()
}
