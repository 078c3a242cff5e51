//! Counters shared by the stages, read by the progress line and the final summary, and
//! exposed for Prometheus through `prometheus-client` (OpenMetrics text, [`Stats::prometheus`]).
//! Each counter is registered once, with its help and labels, when the stats are made.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// A counter of nanoseconds, exposed in seconds.
#[derive(Debug, Clone, Default)]
pub struct Nanos(Counter<u64, AtomicU64>);

impl Nanos {
    pub fn seconds(&self) -> f64 {
        self.0.get() as f64 / 1e9
    }

    pub fn nanos(&self) -> u64 {
        self.0.get()
    }
}

impl TypedMetric for Nanos {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Nanos {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.seconds(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

type Labels = [(&'static str, &'static str); 1];

pub struct Stats {
    registry: Registry,
    /// Per visit, what each stage got through (the completeness ledger), until the status
    /// reporter writes it.
    pub ledger: crate::ledger::Tally,
    /// Payloads (files, Kafka messages) read from the source.
    pub payloads: Counter,
    /// Alerts decoded.
    pub alerts: Counter,
    /// Alerts whose history has been stored.
    pub stored: Counter,
    /// Alerts through the filter stage.
    pub filtered: Counter,
    /// Alerts published to the internal topic (ingest processes).
    pub published: Counter,
    /// Kafka input: messages behind the ends of this member's partitions.
    pub kafka_lag: Gauge<i64, AtomicI64>,
    pub detections: Counter,
    pub forced: Counter,
    pub non_detections: Counter,
    pub cutouts: Counter,
    pub cutout_bytes: Counter,
    /// Objects rows written (an object in several batches counts each time).
    pub object_writes: Counter,
    /// Rubin alerts for solar-system sources, which have no DIA object to featurise.
    pub solar_system: Counter,
    pub batches: Counter,
    /// Time each stage spent working (not waiting on its input).
    pub busy_decode_ns: Nanos,
    pub busy_store_ns: Nanos,
    pub busy_filter_ns: Nanos,
    pub busy_context_ns: Nanos,
    /// Objects classified by the context stage, and answers taken from its cache.
    pub classified: Counter,
    /// Objects classified again in the background after a new catalogue version.
    pub reclassified: Counter,
    pub context_cache_hits: Counter,
    /// User filter runs (one per active filter per batch), rows they returned, failures.
    pub filter_runs: Counter,
    pub filter_rows: Counter,
    pub filter_failures: Counter,
    pub busy_user_filters_ns: Nanos,
    /// Watchlist cone, watchmap and GW-event hits found for batches' objects.
    pub watch_hits: Counter,
    pub busy_watch_ns: Nanos,
    /// Within the filter stage: features from the stored lightcurves (wall time, however
    /// many workers), and the batch's rows written to the main database.
    pub busy_features_ns: Nanos,
    pub busy_write_ns: Nanos,
    /// Within the filter stage: the trained classifiers' scores stored, alerts a model
    /// skipped for a missing input, and the time they took.
    pub model_scores: Counter,
    pub model_skipped: Counter,
    pub busy_models_ns: Nanos,
    /// Filter runs triggered by annotations (also counted in `filter_runs`).
    pub annotation_runs: Counter,
    /// Records handed to Kafka, webhooks or the email queue; deliveries that failed;
    /// records held back by a filter's daily byte quota.
    pub delivered: Counter,
    pub delivery_failures: Counter,
    pub quota_rejected: Counter,
    pub busy_delivery_ns: Nanos,
    /// Writes tried again after a transient failure (a store unavailable), and source
    /// messages (files, Kafka messages) left unacknowledged by the stage that was waiting
    /// when the run stopped during an outage.
    pub store_retries: Counter,
    pub abandoned: Counter,
    rejected_by_reason: Family<Labels, Counter>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Receipt-to-commit latency, for Prometheus.
    latency_histogram: Histogram,
    /// Receipt-to-commit latencies (µs) of the most recent alerts, for the summary's
    /// percentiles.
    latencies: Mutex<LatencyRing>,
    /// The newest alert decoded per survey (Rubin, ZTF): its MJD in UTC as `f64` bits,
    /// 0 for none yet. The status page's "newest alert" and lag.
    newest_alert: [AtomicU64; 2],
    /// When this worker last committed a batch (stored or filtered), Unix ms, 0 for never.
    last_batch_ms: AtomicU64,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("payloads", &self.payloads.get())
            .field("alerts", &self.alerts.get())
            .field("stored", &self.stored.get())
            .finish_non_exhaustive()
    }
}

/// Seconds from 10 ms to about 80 s, doubling: receipt to filter output.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 14)
}

impl Default for Stats {
    fn default() -> Stats {
        let mut registry = Registry::with_prefix("solas");
        let stage = Family::<Labels, Counter>::default();
        let stage_of = |name| stage.get_or_create(&[("stage", name)]).clone();
        let busy = Family::<Labels, Nanos>::default();
        let busy_of = |name| busy.get_or_create(&[("stage", name)]).clone();
        let runs = Family::<Labels, Counter>::default();
        let run_of = |name| runs.get_or_create(&[("result", name)]).clone();
        let delivered = Family::<Labels, Counter>::default();
        let delivered_of = |name| delivered.get_or_create(&[("result", name)]).clone();
        let stats = Stats {
            ledger: Default::default(),
            payloads: stage_of("source"),
            alerts: stage_of("decode"),
            stored: stage_of("store"),
            classified: stage_of("context"),
            filtered: stage_of("filter"),
            published: stage_of("publish"),
            kafka_lag: Gauge::default(),
            detections: Counter::default(),
            forced: Counter::default(),
            non_detections: Counter::default(),
            cutouts: Counter::default(),
            cutout_bytes: Counter::default(),
            object_writes: Counter::default(),
            solar_system: Counter::default(),
            batches: Counter::default(),
            busy_decode_ns: busy_of("decode"),
            busy_store_ns: busy_of("store"),
            busy_context_ns: busy_of("context"),
            busy_filter_ns: busy_of("filter"),
            busy_watch_ns: busy_of("watch"),
            busy_features_ns: busy_of("features"),
            busy_write_ns: busy_of("objects_write"),
            model_scores: Counter::default(),
            model_skipped: Counter::default(),
            busy_models_ns: busy_of("models"),
            busy_user_filters_ns: busy_of("user_filters"),
            busy_delivery_ns: busy_of("delivery"),
            context_cache_hits: Counter::default(),
            reclassified: Counter::default(),
            filter_runs: run_of("run"),
            filter_failures: run_of("failed"),
            annotation_runs: run_of("annotation_triggered"),
            filter_rows: Counter::default(),
            watch_hits: Counter::default(),
            delivered: delivered_of("delivered"),
            delivery_failures: delivered_of("failed"),
            quota_rejected: delivered_of("over_quota"),
            store_retries: Counter::default(),
            abandoned: Counter::default(),
            rejected_by_reason: Family::default(),
            rejected: Mutex::default(),
            latency_histogram: Histogram::new(latency_buckets()),
            latencies: Mutex::default(),
            newest_alert: Default::default(),
            last_batch_ms: AtomicU64::new(0),
            registry: Registry::default(),
        };
        registry.register("alerts", "Alerts through each stage", stage);
        registry.register(
            "rejected",
            "Alerts set aside, by reason",
            stats.rejected_by_reason.clone(),
        );
        registry.register("stage_busy_seconds", "Time each stage spent working", busy);
        registry.register("filter_runs", "User filter runs and failures", runs);
        registry.register(
            "delivered_records",
            "Filter results delivered, failed deliveries and records held back by quotas",
            delivered,
        );
        // The counters of their own (no labels).
        for (name, help, counter) in [
            (
                "store_retries",
                "Writes tried again because a store (S3, PostgreSQL, the disk) was unavailable",
                &stats.store_retries,
            ),
            (
                "abandoned",
                "Source messages left unacknowledged by a stop during an outage (read again later)",
                &stats.abandoned,
            ),
            ("batches", "Filter-stage batches committed", &stats.batches),
            (
                "filter_rows",
                "Rows returned by user filters",
                &stats.filter_rows,
            ),
            (
                "watch_hits",
                "Watchlist, watchmap and GW-event hits",
                &stats.watch_hits,
            ),
            (
                "detections",
                "Detections stored (new ones only)",
                &stats.detections,
            ),
            (
                "forced_photometry",
                "Forced photometry stored (new ones only)",
                &stats.forced,
            ),
            (
                "non_detections",
                "Upper limits stored (new ones only)",
                &stats.non_detections,
            ),
            ("cutouts", "Cutouts stored", &stats.cutouts),
            (
                "cutout_bytes",
                "Bytes of cutouts stored",
                &stats.cutout_bytes,
            ),
            (
                "object_writes",
                "Objects rows written",
                &stats.object_writes,
            ),
            (
                "context_cache_hits",
                "Context answers taken from the cache",
                &stats.context_cache_hits,
            ),
            (
                "reclassified",
                "Objects classified again after a new catalogue version",
                &stats.reclassified,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "kafka_lag",
            "Messages behind the ends of this member's partitions",
            stats.kafka_lag.clone(),
        );
        registry.register(
            "latency_seconds",
            "Receipt-to-filter-output latency of alerts",
            stats.latency_histogram.clone(),
        );
        Stats { registry, ..stats }
    }
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
    pub fn add(counter: &Counter, n: u64) {
        counter.inc_by(n);
    }

    /// Add the time since `since` to a busy counter.
    pub fn busy(counter: &Nanos, since: std::time::Instant) {
        counter.0.inc_by(since.elapsed().as_nanos() as u64);
    }

    /// Add nanoseconds to a busy counter.
    pub fn add_nanos(counter: &Nanos, ns: u64) {
        counter.0.inc_by(ns);
    }

    pub fn get(counter: &Counter) -> u64 {
        counter.get()
    }

    pub fn reject(&self, reason: &'static str) {
        self.rejected_by_reason
            .get_or_create(&[("reason", reason)])
            .inc();
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
                let waited = now.duration_since(r);
                self.latency_histogram.observe(waited.as_secs_f64());
                let us = u32::try_from(waited.as_micros()).unwrap_or(u32::MAX);
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

    /// An alert of `survey` observed at `mjd` (the survey's own time scale) was decoded.
    pub fn saw_alert(&self, survey: solas_core::Survey, mjd: f64) {
        let utc = survey.mjd_utc(mjd);
        if !utc.is_finite() || utc <= 0.0 {
            return;
        }
        let slot = &self.newest_alert[usize::from(survey == solas_core::Survey::Ztf)];
        // f64 bits of positive numbers order as the numbers do.
        slot.fetch_max(utc.to_bits(), Ordering::Relaxed);
    }

    /// The newest alert decoded per survey: MJD (UTC).
    pub fn newest_alerts(&self) -> Vec<(solas_core::Survey, f64)> {
        [solas_core::Survey::Lsst, solas_core::Survey::Ztf]
            .into_iter()
            .zip(&self.newest_alert)
            .filter_map(|(s, a)| {
                let bits = a.load(Ordering::Relaxed);
                (bits != 0).then(|| (s, f64::from_bits(bits)))
            })
            .collect()
    }

    /// A batch was committed now.
    pub fn batch_committed(&self) {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.last_batch_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// When the last batch was committed (Unix ms), if one was.
    pub fn last_batch_ms(&self) -> Option<u64> {
        Some(self.last_batch_ms.load(Ordering::Relaxed)).filter(|ms| *ms > 0)
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected().values().sum()
    }

    /// Every counter in the OpenMetrics text format, for `/metrics`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            log::error!("encoding the metrics: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenMetrics family a sample name belongs to (`_total`, `_bucket`, `_sum`,
    /// `_count` are the samples of a counter or histogram).
    fn family(sample: &str) -> &str {
        ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| sample.strip_suffix(suffix))
            .unwrap_or(sample)
    }

    #[test]
    fn prometheus_text_has_every_family_and_counts() {
        let s = Stats::default();
        Stats::add(&s.alerts, 7);
        s.reject("truncated");
        Stats::add_nanos(&s.busy_filter_ns, 1_500_000_000);
        s.record_latencies([std::time::Instant::now()].into_iter());
        let text = s.prometheus();
        assert!(
            text.contains("solas_alerts_total{stage=\"decode\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains("solas_rejected_total{reason=\"truncated\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("solas_stage_busy_seconds_total{stage=\"filter\"} 1.5\n"),
            "{text}"
        );
        assert!(text.contains("solas_latency_seconds_count 1\n"), "{text}");
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics text ends so: {text}"
        );
        for family in [
            "store_retries",
            "batches",
            "stage_busy_seconds",
            "filter_runs",
            "latency_seconds",
            "abandoned",
            "kafka_lag",
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
                text.contains(&format!("# TYPE solas_{} ", family(&name))),
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
