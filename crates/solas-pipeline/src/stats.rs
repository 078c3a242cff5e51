//! Counters shared by the stages, read by the progress line and the final summary.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Stats {
    /// Payloads (files, Kafka messages) read from the source.
    pub payloads: AtomicU64,
    /// Alerts decoded.
    pub alerts: AtomicU64,
    /// Alerts whose history has been stored.
    pub stored: AtomicU64,
    /// Alerts through the filter stage.
    pub filtered: AtomicU64,
    /// Alerts published to the internal topic (ingest processes).
    pub published: AtomicU64,
    /// Kafka input: messages behind the ends of this member's partitions (a gauge).
    pub kafka_lag: AtomicU64,
    pub detections: AtomicU64,
    pub forced: AtomicU64,
    pub non_detections: AtomicU64,
    pub cutouts: AtomicU64,
    pub cutout_bytes: AtomicU64,
    /// Objects rows written (an object in several batches counts each time).
    pub object_writes: AtomicU64,
    /// Rubin alerts for solar-system sources, which have no DIA object to featurise.
    pub solar_system: AtomicU64,
    pub batches: AtomicU64,
    /// Time each stage spent working (not waiting on its input), in nanoseconds.
    pub busy_decode_ns: AtomicU64,
    pub busy_store_ns: AtomicU64,
    pub busy_filter_ns: AtomicU64,
    pub busy_context_ns: AtomicU64,
    /// Objects classified by the context stage, and answers taken from its cache.
    pub classified: AtomicU64,
    pub context_cache_hits: AtomicU64,
    /// User filter runs (one per active filter per batch), rows they returned, failures.
    pub filter_runs: AtomicU64,
    pub filter_rows: AtomicU64,
    pub filter_failures: AtomicU64,
    pub busy_user_filters_ns: AtomicU64,
    /// Watchlist cone, watchmap and GW-event hits found for batches' objects.
    pub watch_hits: AtomicU64,
    pub busy_watch_ns: AtomicU64,
    /// Filter runs triggered by annotations (also counted in `filter_runs`).
    pub annotation_runs: AtomicU64,
    /// Records handed to Kafka, webhooks or the email queue; deliveries that failed;
    /// records held back by a filter's daily byte quota.
    pub delivered: AtomicU64,
    pub delivery_failures: AtomicU64,
    pub quota_rejected: AtomicU64,
    pub busy_delivery_ns: AtomicU64,
    /// Writes tried again after a transient failure (a store unavailable), and alerts left
    /// unacknowledged because the run stopped while a store was still unavailable.
    pub store_retries: AtomicU64,
    pub abandoned: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Receipt-to-commit latencies (µs) of the most recent alerts.
    latencies: Mutex<LatencyRing>,
}

/// The last [`LATENCY_SAMPLES`] latencies: bounded memory however long the run.
#[derive(Debug, Default)]
struct LatencyRing {
    samples: Vec<u32>,
    next: usize,
}

const LATENCY_SAMPLES: usize = 200_000;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Add the time since `since` to a busy counter.
    pub fn busy(counter: &AtomicU64, since: std::time::Instant) {
        counter.fetch_add(since.elapsed().as_nanos() as u64, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }

    pub fn reject(&self, reason: &'static str) {
        if let Ok(mut map) = self.rejected.lock() {
            *map.entry(reason).or_default() += 1;
        }
    }

    /// Rejected alerts by reason.
    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        self.rejected.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Record alerts finished now that were received at the given instants.
    pub fn record_latencies(&self, received: impl Iterator<Item = std::time::Instant>) {
        let now = std::time::Instant::now();
        if let Ok(mut ring) = self.latencies.lock() {
            for r in received {
                let us = u32::try_from(now.duration_since(r).as_micros()).unwrap_or(u32::MAX);
                if ring.samples.len() < LATENCY_SAMPLES {
                    ring.samples.push(us);
                } else {
                    let i = ring.next;
                    ring.samples[i] = us;
                    ring.next = (i + 1) % LATENCY_SAMPLES;
                }
            }
        }
    }

    pub fn latency(&self) -> Percentiles {
        let mut v = self
            .latencies
            .lock()
            .map(|r| r.samples.clone())
            .unwrap_or_default();
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_unstable();
        let at = |q: f64| f64::from(v[((v.len() - 1) as f64 * q).round() as usize]) / 1000.0;
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
        }
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected().values().sum()
    }

    /// The counters in Prometheus's text format, for `/metrics`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
            out.push_str(&format!(
                "# HELP solas_{name} {help}\n# TYPE solas_{name} {kind}\n"
            ));
            for (labels, v) in samples {
                out.push_str(&format!("solas_{name}{labels} {v}\n"));
            }
        };
        let g = |c: &AtomicU64| Stats::get(c) as f64;
        metric(
            "alerts_total",
            "counter",
            "Alerts through each stage.",
            &[
                ("{stage=\"source\"}", g(&self.payloads)),
                ("{stage=\"decode\"}", g(&self.alerts)),
                ("{stage=\"store\"}", g(&self.stored)),
                ("{stage=\"context\"}", g(&self.classified)),
                ("{stage=\"filter\"}", g(&self.filtered)),
                ("{stage=\"publish\"}", g(&self.published)),
            ],
        );
        let rejected: Vec<(String, f64)> = self
            .rejected()
            .into_iter()
            .map(|(r, n)| (format!("{{reason=\"{r}\"}}"), n as f64))
            .collect();
        let rejected: Vec<(&str, f64)> = rejected.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        metric(
            "rejected_total",
            "counter",
            "Alerts set aside, by reason.",
            &rejected,
        );
        metric(
            "store_retries_total",
            "counter",
            "Writes tried again because a store (S3, PostgreSQL, the disk) was unavailable.",
            &[("", g(&self.store_retries))],
        );
        metric(
            "batches_total",
            "counter",
            "Filter-stage batches committed.",
            &[("", g(&self.batches))],
        );
        metric(
            "stage_busy_seconds_total",
            "counter",
            "Time each stage spent working.",
            &[
                ("{stage=\"decode\"}", g(&self.busy_decode_ns) / 1e9),
                ("{stage=\"store\"}", g(&self.busy_store_ns) / 1e9),
                ("{stage=\"context\"}", g(&self.busy_context_ns) / 1e9),
                ("{stage=\"filter\"}", g(&self.busy_filter_ns) / 1e9),
                ("{stage=\"watch\"}", g(&self.busy_watch_ns) / 1e9),
                (
                    "{stage=\"user_filters\"}",
                    g(&self.busy_user_filters_ns) / 1e9,
                ),
                ("{stage=\"delivery\"}", g(&self.busy_delivery_ns) / 1e9),
            ],
        );
        metric(
            "filter_runs_total",
            "counter",
            "User filter runs, rows returned and failures.",
            &[
                ("{result=\"run\"}", g(&self.filter_runs)),
                ("{result=\"failed\"}", g(&self.filter_failures)),
                (
                    "{result=\"annotation_triggered\"}",
                    g(&self.annotation_runs),
                ),
            ],
        );
        metric(
            "filter_rows_total",
            "counter",
            "Rows returned by user filters.",
            &[("", g(&self.filter_rows))],
        );
        metric(
            "delivered_records_total",
            "counter",
            "Filter results delivered, failed deliveries and records held back by quotas.",
            &[
                ("{result=\"delivered\"}", g(&self.delivered)),
                ("{result=\"failed\"}", g(&self.delivery_failures)),
                ("{result=\"over_quota\"}", g(&self.quota_rejected)),
            ],
        );
        metric(
            "watch_hits_total",
            "counter",
            "Watchlist, watchmap and GW-event hits.",
            &[("", g(&self.watch_hits))],
        );
        let l = self.latency();
        metric(
            "latency_seconds",
            "gauge",
            "Receipt-to-commit latency of recent alerts.",
            &[
                ("{quantile=\"0.5\"}", l.p50 / 1e3),
                ("{quantile=\"0.9\"}", l.p90 / 1e3),
                ("{quantile=\"0.99\"}", l.p99 / 1e3),
            ],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_family_and_counts() {
        let s = Stats::default();
        Stats::add(&s.alerts, 7);
        s.reject("truncated");
        let text = s.prometheus();
        assert!(
            text.contains("solas_alerts_total{stage=\"decode\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("solas_rejected_total{reason=\"truncated\"} 1\n"),
            "{text}"
        );
        for family in [
            "store_retries_total",
            "batches_total",
            "stage_busy_seconds_total",
            "filter_runs_total",
            "latency_seconds",
        ] {
            assert!(
                text.contains(&format!("# TYPE solas_{family} ")),
                "{family}"
            );
        }
        // The Grafana dashboard in the repo only names metrics that exist.
        let dashboard = include_str!("../../../ops/grafana/solas-dashboard.json");
        for name in dashboard.split("solas_").skip(1) {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name.is_empty() || name == "dashboard" {
                continue;
            }
            assert!(
                text.contains(&format!("# TYPE solas_{name} ")),
                "dashboard names solas_{name}"
            );
        }
        // Every sample line is `name{labels} number`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
