//! What a run did ([`Summary`]): the counts every stage kept, printed at the end of a run
//! and returned to callers and tests.

use std::collections::BTreeMap;
use std::time::Duration;

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub source: String,
    pub payloads: u64,
    pub alerts: u64,
    pub stored: u64,
    /// Alerts published for the downstream stages (ingest processes only).
    pub published: u64,
    pub detections: u64,
    pub forced: u64,
    pub non_detections: u64,
    pub cutouts: u64,
    pub cutout_bytes: u64,
    pub object_writes: u64,
    /// Objects the context stage classified, and answers it took from its cache.
    pub classified: u64,
    pub context_cache_hits: u64,
    /// User filter runs, the rows they returned, and runs that failed or timed out.
    pub filter_runs: u64,
    pub filter_rows: u64,
    pub filter_failures: u64,
    /// Seconds spent running user filters (all of them, all batches).
    pub user_filter_seconds: f64,
    /// Filter runs triggered by annotations (included in `filter_runs`).
    pub annotation_runs: u64,
    /// Watchlist cone, watchmap and GW-event hits, and seconds spent finding them.
    pub watch_hits: u64,
    pub watch_seconds: f64,
    /// Seconds the filter stage spent on features and on writing its batches' rows.
    pub features_seconds: f64,
    pub write_seconds: f64,
    /// Trained classifiers: scores stored, alerts skipped for a missing input, seconds.
    pub model_scores: u64,
    pub model_skipped: u64,
    pub model_seconds: f64,
    /// Records delivered (Kafka, webhook, email queue), failed deliveries, and records
    /// held back by daily byte quotas.
    pub delivered: u64,
    pub delivery_failures: u64,
    pub quota_rejected: u64,
    pub solar_system: u64,
    pub batches: u64,
    pub rejected: BTreeMap<&'static str, u64>,
    /// Seconds each stage spent working: decode (all workers), store, context, filter.
    pub busy: [f64; 4],
    /// Receipt-to-commit latency of the alerts.
    pub latency: crate::stats::Percentiles,
    /// Rows now in each main-database table.
    pub tables: Vec<(String, u64)>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn alerts_per_second(&self) -> f64 {
        self.alerts as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |f: &mut std::fmt::Formatter<'_>, label: &str, value: String| {
            writeln!(f, "{label:<20}{value}")
        };
        line(f, "source:", self.source.clone())?;
        line(f, "payloads read:", self.payloads.to_string())?;
        line(f, "alerts decoded:", self.alerts.to_string())?;
        line(f, "alerts stored:", self.stored.to_string())?;
        if self.published > 0 {
            line(f, "alerts published:", self.published.to_string())?;
        }
        line(f, "new detections:", self.detections.to_string())?;
        line(f, "new forced phot.:", self.forced.to_string())?;
        line(f, "new non-detections:", self.non_detections.to_string())?;
        line(
            f,
            "cutouts stored:",
            format!(
                "{} ({:.1} MB compressed)",
                self.cutouts,
                self.cutout_bytes as f64 / 1e6
            ),
        )?;
        line(
            f,
            "objects written:",
            format!(
                "{} (in {} batches; {} solar-system alerts have no object)",
                self.object_writes, self.batches, self.solar_system
            ),
        )?;
        for (table, n) in &self.tables {
            writeln!(f, "  {table:<30}{n} rows")?;
        }
        line(
            f,
            "context:",
            format!(
                "{} objects classified, {} answers from the cache",
                self.classified, self.context_cache_hits
            ),
        )?;
        line(
            f,
            "watch hits:",
            format!(
                "{} (watchlist cones, watchmaps, GW events; {:.2} s)",
                self.watch_hits, self.watch_seconds
            ),
        )?;
        line(
            f,
            "classifiers:",
            format!(
                "{} scores stored, {} alerts skipped for a missing input ({:.2} s)",
                self.model_scores, self.model_skipped, self.model_seconds
            ),
        )?;
        line(
            f,
            "user filters:",
            format!(
                "{} runs ({} on annotations), {} rows, {} failed",
                self.filter_runs, self.annotation_runs, self.filter_rows, self.filter_failures
            ),
        )?;
        line(
            f,
            "delivered:",
            format!(
                "{} records, {} failed deliveries, {} held back by quotas",
                self.delivered, self.delivery_failures, self.quota_rejected
            ),
        )?;
        line(f, "rejected:", self.rejected_total().to_string())?;
        for (reason, n) in &self.rejected {
            writeln!(f, "  {reason:<18}{n}")?;
        }
        line(
            f,
            "latency (ms):",
            format!(
                "p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
                self.latency.p50, self.latency.p90, self.latency.p99, self.latency.max
            ),
        )?;
        line(
            f,
            "stage busy (s):",
            format!(
                "decode {:.2} (all workers)  store {:.2}  context {:.2}  filter {:.2}",
                self.busy[0], self.busy[1], self.busy[2], self.busy[3]
            ),
        )?;
        write!(
            f,
            "{:<20}{:.2} s ({:.0} alerts/s)",
            "elapsed:",
            self.elapsed.as_secs_f64(),
            self.alerts_per_second()
        )
    }
}
