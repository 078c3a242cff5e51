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
}
