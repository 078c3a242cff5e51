//! Each run reports itself in the main database's `worker_status` every few seconds and
//! when it ends: its role, its counters (Prometheus text) and a short JSON summary; and it
//! adds what it did since its last report to `stage_hours`, the per-hour counts behind the
//! status page's "tonight" table. The web server's status page and `/metrics` read them, so
//! one `solas serve` shows every worker on the data directory.
//!
//! A worker whose reports stop while it is marked running was killed, crashed or hangs:
//! the first reporter to notice marks it stopped and tells the operator's alert hook, so a
//! stage that dies and is restarted (by systemd or by hand) is heard of.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use solas_store::args;
use solas_store::db::{Db, Target};
use solas_store::StoreError;

use crate::stats::{Stats, Stats as S};

const EVERY: Duration = Duration::from_secs(2);

/// This process's name in `worker_status`: role, host and process id.
pub fn worker_name(role: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{role}@{host}:{}", std::process::id())
}

fn summary(stats: &Stats) -> String {
    let l = stats.latency();
    serde_json::json!({
        "payloads": S::get(&stats.payloads),
        "alerts": S::get(&stats.alerts),
        "stored": S::get(&stats.stored),
        "classified": S::get(&stats.classified),
        "filtered": S::get(&stats.filtered),
        "published": S::get(&stats.published),
        "rejected": stats.rejected_total(),
        "batches": S::get(&stats.batches),
        "filter_runs": S::get(&stats.filter_runs),
        "delivered": S::get(&stats.delivered),
        "latency_p99_ms": l.p99,
        "kafka_lag": S::get(&stats.kafka_lag),
    })
    .to_string()
}

/// A worker silent this long (seconds) while marked running is taken for dead.
const SILENT: u32 = 30;

/// The counters `stage_hours` keeps, in its column order.
fn hour_counts(stats: &Stats) -> [u64; 8] {
    [
        S::get(&stats.alerts),
        S::get(&stats.stored),
        S::get(&stats.classified),
        S::get(&stats.filtered),
        S::get(&stats.delivered),
        stats.rejected_total(),
        S::get(&stats.batches),
        S::get(&stats.busy_filter_ns),
    ]
}

struct Reporter {
    db: Db,
    worker: String,
    role: String,
    started: String,
    hook: Option<String>,
    /// The counters at the last report: each report adds the difference to its hour.
    reported: [u64; 8],
}

impl Reporter {
    fn write(&mut self, running: bool, stats: &Stats) {
        let now = hour_counts(stats);
        let delta: Vec<i64> = now
            .iter()
            .zip(self.reported)
            .map(|(n, r)| n.saturating_sub(r) as i64)
            .collect();
        let (worker, role, started) = (&self.worker, &self.role, &self.started);
        let hour = self.db.dialect().this_hour();
        let result = self.db.transaction(|tx| {
            tx.execute(
                "INSERT INTO worker_status (worker, role, started, updated, running, summary, metrics)
                 VALUES (?1, ?2, ?3, CURRENT_TIMESTAMP, ?4, ?5, ?6)
                 ON CONFLICT (worker) DO UPDATE SET updated = CURRENT_TIMESTAMP, running = excluded.running,
                   summary = excluded.summary, metrics = excluded.metrics",
                args![worker, role, started, running, summary(stats), stats.prometheus()],
            )?;
            if delta.iter().any(|d| *d > 0) {
                tx.execute(
                    &format!(
                        "INSERT INTO stage_hours (hour, worker, role, alerts, stored, classified,
                           filtered, delivered, rejected, batches, batch_ns)
                         VALUES ({hour}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         ON CONFLICT (hour, worker) DO UPDATE SET
                           alerts = stage_hours.alerts + excluded.alerts,
                           stored = stage_hours.stored + excluded.stored,
                           classified = stage_hours.classified + excluded.classified,
                           filtered = stage_hours.filtered + excluded.filtered,
                           delivered = stage_hours.delivered + excluded.delivered,
                           rejected = stage_hours.rejected + excluded.rejected,
                           batches = stage_hours.batches + excluded.batches,
                           batch_ns = stage_hours.batch_ns + excluded.batch_ns"
                    ),
                    args![
                        worker, role, delta[0], delta[1], delta[2], delta[3], delta[4], delta[5],
                        delta[6], delta[7]
                    ],
                )?;
            }
            Ok(())
        });
        match result {
            Ok(()) => self.reported = now,
            Err(e) => log::warn!("writing worker status: {e}"),
        }
    }

    /// Mark workers that stopped reporting as stopped, and tell the operator. The UPDATE
    /// claims them atomically, so however many reporters look, each loss is told once.
    fn claim_silent(&mut self) {
        let since = self.db.dialect().seconds_ago(SILENT);
        let lost: Result<Vec<(String, String, String)>, StoreError> = self
            .db
            .query(
                &format!(
                    "UPDATE worker_status SET running = 0
                     WHERE running = 1 AND worker != ?1 AND updated < {since}
                     RETURNING worker, role, updated"
                ),
                args![&self.worker],
            )
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .collect()
            });
        let lost = match lost {
            Ok(l) => l,
            Err(e) => {
                log::warn!("checking for silent workers: {e}");
                return;
            }
        };
        for (worker, role, updated) in lost {
            let text = format!(
                "Solas {role} worker {worker} stopped reporting at {updated} UTC without a clean exit (killed, crashed or hung); noticed by {}",
                self.worker
            );
            log::error!("{text}");
            if let Some(url) = &self.hook {
                crate::alert_hook::post(url, &text);
            }
        }
    }
}

/// Report until `done`, then once more as stopped. `hook` hears of workers that stop
/// reporting without a clean exit.
pub fn report_loop(
    main_db: &Target,
    role: &str,
    stats: Arc<Stats>,
    done: Arc<AtomicBool>,
    hook: Option<String>,
) {
    let mut db = match Db::open(main_db) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("worker status not reported: {e}");
            return;
        }
    };
    let started: String = db
        .query_one("SELECT CURRENT_TIMESTAMP", &[])
        .and_then(|r| r.get(0))
        .unwrap_or_default();
    let mut reporter = Reporter {
        db,
        worker: worker_name(role),
        role: role.to_string(),
        started,
        hook,
        reported: [0; 8],
    };
    // Once at start, however short the run: a restarted stage finds its predecessor.
    reporter.claim_silent();
    let mut last = Instant::now() - EVERY;
    while !done.load(Ordering::Relaxed) {
        if last.elapsed() >= EVERY {
            reporter.claim_silent();
            reporter.write(true, &stats);
            last = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reporter.write(false, &stats);
}
