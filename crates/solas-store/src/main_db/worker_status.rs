//! `worker_status` and `stage_hours`: each pipeline worker's latest report (its role, a
//! JSON summary, its counters as Prometheus text) and what every worker did per UTC hour.
//! The pipeline writes them; the web's status page and `/metrics` read them.

use crate::args;
use crate::db::Db;
use crate::StoreError;

/// The per-hour counters of `stage_hours`, in this order.
pub const STAGE_COUNTS: [&str; 9] = [
    "alerts",
    "stored",
    "classified",
    "filtered",
    "delivered",
    "rejected",
    "batches",
    "batch_ns",
    "failed_deliveries",
];

/// Counts in the order of [`STAGE_COUNTS`].
pub type StageCounts = [i64; 9];

/// The roles whose counts make each column of [`STAGE_COUNTS`] when the hours are summed:
/// in scale-out every role decodes what reaches it, so summing "alerts" over roles would
/// count each alert once per stage. `run` (embedded) does every stage; `process` runs
/// context and filter on what ingest workers published. Rejections are each role's own.
const OWNERS: [&[&str]; 9] = [
    &["run", "ingest"],
    &["run", "ingest"],
    &["run", "context", "process"],
    &["run", "filter", "process"],
    &["run", "filter", "process"],
    &["run", "ingest", "context", "process", "filter"],
    &["run", "filter", "process"],
    &["run", "filter", "process"],
    &["run", "filter", "process"],
];

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
                 VALUES ({hour}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (hour, worker) DO UPDATE SET {sums}"
            ),
            args![r.worker, r.role, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]],
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
    select_workers(db, "")
}

/// The workers running or heard from in the last `seconds`, newest first, and how many
/// others (stopped before then) there are: a fleet restarted every night would otherwise
/// list every process it ever ran.
pub fn recent_workers(db: &mut Db, seconds: u32) -> Result<(Vec<WorkerRow>, i64), StoreError> {
    let since = db.dialect().seconds_ago(seconds);
    let recent = select_workers(db, &format!("WHERE running = 1 OR updated >= {since}"))?;
    let older: i64 = db
        .query_one(
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM worker_status WHERE running = 0 AND updated < {since}"
            ),
            &[],
        )?
        .get(0)?;
    Ok((recent, older))
}

fn select_workers(db: &mut Db, filter: &str) -> Result<Vec<WorkerRow>, StoreError> {
    db.query(
        &format!(
            "SELECT worker, role, updated, running, summary, metrics FROM worker_status {filter}
             ORDER BY updated DESC"
        ),
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

/// The counts of the last `hours` UTC hours (this one included), each column summed over
/// the workers of the roles that own it, oldest first: (hour, counts).
pub fn hours(db: &mut Db, hours: u32) -> Result<Vec<(String, StageCounts)>, StoreError> {
    let since = db.dialect().hours_ago(hours.saturating_sub(1));
    sums(db, "hour", &since)
}

/// The counts of the last `nights` nights (tonight included), oldest first: (night,
/// counts). A night is Rubin's `dayObs`, the date in UTC−12 h, so a night in Chile is one
/// row (at Palomar a night's last hours, after 12:00 UTC, fall in the next).
pub fn nights(db: &mut Db, nights: u32) -> Result<Vec<(String, StageCounts)>, StoreError> {
    let dialect = db.dialect();
    let since = dialect.hours_ago(nights.saturating_mul(24).saturating_add(12));
    sums(db, &dialect.day_obs_of_hour("hour"), &since)
}

/// `stage_hours` since the hour `since`, grouped by `group` (an expression of `hour`).
fn sums(db: &mut Db, group: &str, since: &str) -> Result<Vec<(String, StageCounts)>, StoreError> {
    let columns = STAGE_COUNTS
        .iter()
        .zip(OWNERS)
        .map(|(c, roles)| {
            let roles = roles
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("CAST(SUM(CASE WHEN role IN ({roles}) THEN {c} ELSE 0 END) AS BIGINT)")
        })
        .collect::<Vec<_>>()
        .join(", ");
    db.query(
        &format!(
            "SELECT {group} AS g, {columns} FROM stage_hours WHERE hour >= {since}
             GROUP BY g ORDER BY g"
        ),
        &[],
    )?
    .iter()
    .map(|r| {
        let mut counts = StageCounts::default();
        for (i, c) in counts.iter_mut().enumerate() {
            *c = r.get(i + 1)?;
        }
        Ok((r.get(0)?, counts))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test runs on SQLite and, where it runs, PostgreSQL.
    fn each_backend(test: impl Fn(&mut Db)) {
        crate::main_db::each_target("worker_status", |target| {
            test(&mut super::super::connect(target).unwrap())
        });
    }

    /// Regression (scale-out status, 926 "ingested" for 309 alerts): each role decodes
    /// what reaches it, so each column is summed over the roles that own it only.
    #[test]
    fn scale_out_counts_each_alert_once_per_stage_not_once_per_role() {
        each_backend(|db| {
            let counts = |db: &mut Db, worker: &str, role: &str, c: StageCounts| {
                let r = Report {
                    worker,
                    role,
                    started: "",
                    running: true,
                    summary: "{}",
                    metrics: "",
                };
                report(db, &r, &c).unwrap();
            };
            // 309 alerts through ingest, context and filter; 2 deliveries failed.
            counts(db, "ingest@a:1", "ingest", [309, 309, 0, 0, 0, 3, 0, 0, 0]);
            counts(
                db,
                "context@a:2",
                "context",
                [309, 0, 309, 0, 0, 0, 0, 0, 0],
            );
            counts(
                db,
                "filter@a:3",
                "filter",
                [309, 0, 0, 309, 40, 0, 7, 700, 2],
            );
            let hours = hours(db, 12).unwrap();
            assert_eq!(hours.len(), 1);
            assert_eq!(hours[0].1, [309, 309, 309, 309, 40, 3, 7, 700, 2]);
            let nights = nights(db, 14).unwrap();
            assert_eq!(nights.len(), 1);
            assert_eq!(nights[0].1, hours[0].1);
            // An embedded run does every stage.
            counts(db, "run@b:1", "run", [10, 10, 10, 10, 1, 0, 1, 5, 0]);
            assert_eq!(
                super::hours(db, 12).unwrap()[0].1,
                [319, 319, 319, 319, 41, 3, 8, 705, 2]
            );
        });
    }

    /// A night is Rubin's dayObs: the date in UTC−12 h.
    #[test]
    fn a_night_is_the_date_twelve_hours_earlier() {
        each_backend(|db| {
            for (hour, night) in [
                ("2026-12-04 09:00", "2026-12-03"),
                ("2026-12-03 23:00", "2026-12-03"),
                ("2026-12-04 12:00", "2026-12-04"),
                ("2027-01-01 00:00", "2026-12-31"),
            ] {
                let expr = db.dialect().day_obs_of_hour(&format!("'{hour}'"));
                let got: String = db
                    .query_one(&format!("SELECT {expr}"), &[])
                    .unwrap()
                    .get(0)
                    .unwrap();
                assert_eq!(got, night, "{hour}");
            }
        });
    }

    #[test]
    fn workers_stopped_long_ago_are_counted_not_listed() {
        each_backend(|db| {
            let r = |worker: &'static str, running: bool| Report {
                worker,
                role: "ingest",
                started: "",
                running,
                summary: "{}",
                metrics: "",
            };
            report(db, &r("old@a:1", false), &StageCounts::default()).unwrap();
            report(db, &r("new@a:2", true), &StageCounts::default()).unwrap();
            db.execute(
                "UPDATE worker_status SET updated = '2020-01-01 00:00:00' WHERE worker = 'old@a:1'",
                &[],
            )
            .unwrap();
            let (recent, older) = recent_workers(db, 86400).unwrap();
            let names: Vec<&str> = recent.iter().map(|w| w.worker.as_str()).collect();
            assert_eq!((names, older), (vec!["new@a:2"], 1));
        });
    }
}
