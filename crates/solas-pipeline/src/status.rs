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

use solas_store::db::{Db, Target};
use solas_store::main_db::worker_status::{self, StageCounts};

use crate::stats::{Stats, Stats as S};

const EVERY: Duration = Duration::from_secs(2);

/// This process's name in `worker_status`: role, host and process id.
pub fn worker_name(role: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{role}@{host}:{}", std::process::id())
}

fn summary(stats: &Stats) -> String {
    let l = stats.latency();
    let newest: serde_json::Map<String, serde_json::Value> = stats
        .newest_alerts()
        .into_iter()
        .map(|(survey, mjd)| (survey.as_str().to_string(), mjd.into()))
        .collect();
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
        "kafka_lag": stats.kafka_lag.get(),
        "failed_deliveries": S::get(&stats.delivery_failures),
        "rejected_by_reason": stats.rejected(),
        "newest_alert_mjd_utc": newest,
        "last_batch_unix_ms": stats.last_batch_ms(),
    })
    .to_string()
}

/// A worker silent this long (seconds) while marked running is taken for dead.
const SILENT: u32 = 30;

/// The counters `stage_hours` keeps ([`worker_status::STAGE_COUNTS`]).
fn hour_counts(stats: &Stats) -> StageCounts {
    [
        S::get(&stats.alerts),
        S::get(&stats.stored),
        S::get(&stats.classified),
        S::get(&stats.filtered),
        S::get(&stats.delivered),
        stats.rejected_total(),
        S::get(&stats.batches),
        stats.busy_filter_ns.nanos(),
        S::get(&stats.delivery_failures),
    ]
    .map(|n| n as i64)
}

struct Reporter {
    db: Db,
    worker: String,
    role: String,
    started: String,
    hook: Option<String>,
    /// The counters at the last report: each report adds the difference to its hour.
    reported: StageCounts,
}

impl Reporter {
    fn write(&mut self, running: bool, stats: &Stats) {
        let now = hour_counts(stats);
        let mut delta: StageCounts = Default::default();
        for (d, (n, r)) in delta.iter_mut().zip(now.iter().zip(self.reported)) {
            *d = (n - r).max(0);
        }
        let report = worker_status::Report {
            worker: &self.worker,
            role: &self.role,
            started: &self.started,
            running,
            summary: &summary(stats),
            metrics: &stats.prometheus(),
        };
        match worker_status::report(&mut self.db, &report, &delta) {
            Ok(()) => self.reported = now,
            Err(e) => log::warn!("writing worker status: {e}"),
        }
        // The completeness ledger: what the stages counted since the last report; kept
        // for the next one if the database does not take it now.
        let ledger = stats.ledger.take();
        if let Err(e) = solas_store::main_db::ledger::add(&mut self.db, &ledger) {
            log::warn!("writing the completeness ledger: {e}");
            stats.ledger.restore(ledger);
        }
    }

    /// Mark workers that stopped reporting as stopped, and tell the operator (each loss
    /// once, however many reporters look).
    fn claim_silent(&mut self) {
        let lost = match worker_status::claim_silent(&mut self.db, &self.worker, SILENT) {
            Ok(l) => l,
            Err(e) => {
                log::warn!("checking for silent workers: {e}");
                return;
            }
        };
        for w in lost {
            let text = format!(
                "Solas {} worker {} stopped reporting at {} UTC without a clean exit (killed, crashed or hung); noticed by {}",
                w.role, w.worker, w.updated, self.worker
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
    let started = worker_status::now(&mut db).unwrap_or_default();
    let mut reporter = Reporter {
        db,
        worker: worker_name(role),
        role: role.to_string(),
        started,
        hook,
        reported: Default::default(),
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
