//! Builds and runs the embedded pipeline: one process, a thread per stage (several for
//! decoding), bounded channels between them, SQLite and a directory for storage.
//!
//! ```text
//! <data>/solas.db          main database (objects)
//! <data>/lightcurves.db    lightcurve store
//! <data>/cutouts/          cutout blob store
//! <data>/rejected/         alerts that could not be decoded, with the reason
//! <data>/catalogues/       catalogue store for context classification (`solas catalogue add`)
//! ```

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use solas_decode::Decoder;
use solas_features::DustMap;
use solas_store::blob::PackBlobStore;
use solas_store::sqlite::{SqliteContextCache, SqliteLightcurves, SqliteMainDb};
use solas_store::{BlobStore, MainDb};

use crate::context::{CatalogueClassifier, Classifier, ContextStage};
use crate::filter::FilterStage;
use crate::ingest::decode::DecodeWorker;
use crate::ingest::rejected::Rejected;
use crate::ingest::store::StoreWriter;
use crate::source::Source;
use crate::stats::Stats;

/// Where alerts come from.
pub enum Input {
    Files(Vec<String>),
    /// Named payloads replayed from memory up to a total count (benchmarks).
    Memory {
        payloads: Vec<(String, Vec<u8>)>,
        total: usize,
        /// Payloads per second to offer (None: as fast as possible).
        rate: Option<f64>,
    },
    #[cfg(feature = "kafka")]
    Kafka(crate::source::kafka::KafkaConfig),
}

pub struct RunConfig {
    pub data_dir: PathBuf,
    pub input: Input,
    /// Directory of Rubin `.avsc` schemas, for wire-format alerts.
    pub schema_dir: Option<PathBuf>,
    /// Confluent-compatible schema registry URL, for wire-format alerts.
    pub schema_registry: Option<String>,
    /// Directory with the SFD dust maps (E(B−V) is NULL without one).
    pub dust_dir: Option<PathBuf>,
    /// Catalogue store for context classification (default `<data>/catalogues`); without
    /// catalogues there is no context stage.
    pub catalogue_dir: Option<PathBuf>,
    pub decode_workers: usize,
    /// Alerts per lightcurve-store transaction.
    pub ingest_batch: usize,
    /// Alerts per filter batch (Lasair: 10,000).
    pub filter_batch: usize,
    /// A filter batch closes when no alert has come for this long...
    pub filter_idle: Duration,
    /// ...or when its first alert has waited this long.
    pub filter_max_age: Duration,
    /// Print a progress line on stderr (only when it is a terminal).
    pub progress: bool,
}

impl RunConfig {
    pub fn new(data_dir: &Path, input: Input) -> RunConfig {
        RunConfig {
            data_dir: data_dir.to_path_buf(),
            input,
            schema_dir: None,
            schema_registry: None,
            dust_dir: None,
            catalogue_dir: None,
            decode_workers: thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            ingest_batch: 500,
            filter_batch: 10_000,
            filter_idle: Duration::from_millis(200),
            filter_max_age: Duration::from_secs(1),
            progress: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("source: {0}")]
    Source(#[from] crate::source::SourceError),
    #[error("storage: {0}")]
    Store(#[from] solas_store::StoreError),
    #[error("schemas: {0}")]
    Decode(#[from] solas_decode::DecodeError),
    #[error("dust map: {0}")]
    Dust(#[from] solas_features::DustError),
    #[error("catalogues: {0}")]
    Catalogue(#[from] solas_catalogue::CatalogueError),
    #[error("user filters: {0}")]
    Filters(String),
    #[error("a stage thread panicked: {0}")]
    Panic(String),
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub source: String,
    pub payloads: u64,
    pub alerts: u64,
    pub stored: u64,
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
            writeln!(f, "  {table:<18}{n} rows")?;
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
            "user filters:",
            format!(
                "{} runs, {} rows, {} failed",
                self.filter_runs, self.filter_rows, self.filter_failures
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

/// The context classifier over the configured catalogue store, if it holds catalogues.
fn classifier(config: &RunConfig) -> Result<Option<Box<dyn Classifier>>, RunError> {
    let dir = config
        .catalogue_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("catalogues"));
    if !dir.exists() {
        return Ok(None);
    }
    let store = solas_catalogue::Store::open(&dir)?;
    Ok(CatalogueClassifier::new(store).map(|c| Box::new(c) as Box<dyn Classifier>))
}

/// Run the pipeline until the input is exhausted (files), or `stop` is set or the Kafka
/// source's idle limit is reached.
pub fn run(mut config: RunConfig, stop: Arc<AtomicBool>) -> Result<Summary, RunError> {
    let started = Instant::now();
    let data = &config.data_dir;
    let decoder = Arc::new(Decoder::configured(
        config.schema_dir.as_deref(),
        config.schema_registry.as_deref(),
    )?);
    let dust = config
        .dust_dir
        .as_deref()
        .map(DustMap::open)
        .transpose()?
        .map(Arc::new);
    let blobs: Arc<dyn BlobStore> = Arc::new(PackBlobStore::open(&data.join("cutouts"))?);
    let lightcurves_path = data.join("lightcurves.db");
    let writer_lc = SqliteLightcurves::open(&lightcurves_path)?;
    let reader_lc = SqliteLightcurves::open(&lightcurves_path)?;
    let main = SqliteMainDb::open(&data.join("solas.db"))?;
    let mut source: Box<dyn Source> = match config.input {
        Input::Files(ref inputs) => Box::new(crate::source::files::FileSource::new(inputs)?),
        Input::Memory {
            ref mut payloads,
            total,
            rate,
        } => Box::new(crate::source::memory::MemorySource::new(
            std::mem::take(payloads),
            total,
            rate,
        )),
        #[cfg(feature = "kafka")]
        Input::Kafka(ref k) => Box::new(crate::source::kafka::KafkaSource::new(k.clone())?),
    };
    let source_name = source.describe();
    let stats = Arc::new(Stats::default());

    let cap = 1024;
    let (raw_tx, raw_rx) = crossbeam_channel::bounded(cap);
    let (decoded_tx, decoded_rx) = crossbeam_channel::bounded(cap);
    let (stored_tx, stored_rx) = crossbeam_channel::bounded(config.filter_batch.max(cap));
    let (ack_tx, ack_rx) = crossbeam_channel::unbounded();

    let mut handles: Vec<(&str, thread::JoinHandle<Result<(), RunError>>)> = Vec::new();
    let rejected = Arc::new(Rejected::new(&data.join("rejected")));
    for _ in 0..config.decode_workers.max(1) {
        let worker = DecodeWorker {
            decoder: decoder.clone(),
            blobs: blobs.clone(),
            rejected: rejected.clone(),
            stats: stats.clone(),
        };
        let (rx, tx, acks) = (raw_rx.clone(), decoded_tx.clone(), ack_tx.clone());
        handles.push((
            "decode",
            thread::spawn(move || {
                worker.run(rx, tx, acks);
                Ok(())
            }),
        ));
    }
    drop((raw_rx, decoded_tx));
    let writer = StoreWriter {
        lightcurves: Box::new(writer_lc),
        blobs: blobs.clone(),
        stats: stats.clone(),
        max_batch: config.ingest_batch,
        linger: Duration::from_millis(20),
    };
    handles.push((
        "store",
        thread::spawn(move || Ok(writer.run(decoded_rx, stored_tx)?)),
    ));
    // With catalogues, the context stage sits between the store writer and the filter.
    let filter_rx = match classifier(&config)? {
        None => stored_rx,
        Some(classifier) => {
            let (tx, rx) = crossbeam_channel::bounded(cap);
            let stage = ContextStage {
                classifier,
                cache: Box::new(SqliteContextCache::open(&data.join("solas.db"))?),
                stats: stats.clone(),
                max_batch: config.ingest_batch,
                linger: Duration::from_millis(20),
            };
            handles.push((
                "context",
                thread::spawn(move || Ok(stage.run(stored_rx, tx)?)),
            ));
            rx
        }
    };
    let filter = FilterStage {
        lightcurves: Box::new(reader_lc),
        main: Box::new(main),
        dust,
        stats: stats.clone(),
        max_batch: config.filter_batch,
        idle: config.filter_idle,
        max_age: config.filter_max_age,
        filters: Some(Box::new(
            crate::filter::user_filters::SqliteFilterEngine::open(&data.join("solas.db"))
                .map_err(RunError::Filters)?,
        )),
    };
    let acks = ack_tx.clone();
    handles.push((
        "filter",
        thread::spawn(move || Ok(filter.run(filter_rx, acks)?)),
    ));
    drop(ack_tx);

    let done = Arc::new(AtomicBool::new(false));
    let progress = (config.progress && std::io::stderr().is_terminal()).then(|| {
        let (stats, done) = (stats.clone(), done.clone());
        thread::spawn(move || progress_loop(&stats, &done, started))
    });

    let source_result = source.run(raw_tx, ack_rx, &stop);
    if source_result.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    let mut first_error: Option<RunError> = source_result.err().map(RunError::from);
    for (name, handle) in handles {
        let result = handle
            .join()
            .unwrap_or_else(|p| Err(RunError::Panic(format!("{name}: {p:?}"))));
        if let Err(e) = result {
            log::error!("{name} stage failed: {e}");
            first_error.get_or_insert(e);
        }
    }
    done.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.join();
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let tables = SqliteMainDb::open(&data.join("solas.db"))?.counts()?;
    Ok(Summary {
        source: source_name,
        payloads: Stats::get(&stats.payloads),
        alerts: Stats::get(&stats.alerts),
        stored: Stats::get(&stats.stored),
        detections: Stats::get(&stats.detections),
        forced: Stats::get(&stats.forced),
        non_detections: Stats::get(&stats.non_detections),
        cutouts: Stats::get(&stats.cutouts),
        cutout_bytes: Stats::get(&stats.cutout_bytes),
        object_writes: Stats::get(&stats.object_writes),
        classified: Stats::get(&stats.classified),
        context_cache_hits: Stats::get(&stats.context_cache_hits),
        filter_runs: Stats::get(&stats.filter_runs),
        filter_rows: Stats::get(&stats.filter_rows),
        filter_failures: Stats::get(&stats.filter_failures),
        user_filter_seconds: Stats::get(&stats.busy_user_filters_ns) as f64 / 1e9,
        solar_system: Stats::get(&stats.solar_system),
        batches: Stats::get(&stats.batches),
        rejected: stats.rejected(),
        latency: stats.latency(),
        busy: [
            Stats::get(&stats.busy_decode_ns) as f64 / 1e9,
            Stats::get(&stats.busy_store_ns) as f64 / 1e9,
            Stats::get(&stats.busy_context_ns) as f64 / 1e9,
            Stats::get(&stats.busy_filter_ns) as f64 / 1e9,
        ],
        tables,
        elapsed: started.elapsed(),
    })
}

fn progress_loop(stats: &Stats, done: &AtomicBool, started: Instant) {
    let mut last = (Instant::now(), 0u64);
    while !done.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(250));
        if last.0.elapsed() < Duration::from_secs(1) {
            continue;
        }
        let alerts = Stats::get(&stats.alerts);
        let rate = (alerts - last.1) as f64 / last.0.elapsed().as_secs_f64();
        last = (Instant::now(), alerts);
        eprint!(
            "\r\x1b[K{:>6.1}s  {alerts} alerts ({rate:.0}/s)  stored {}  filtered {}  detections {}  cutouts {}  rejected {}",
            started.elapsed().as_secs_f64(),
            Stats::get(&stats.stored),
            Stats::get(&stats.filtered),
            Stats::get(&stats.detections),
            Stats::get(&stats.cutouts),
            stats.rejected_total(),
        );
    }
    eprintln!();
}
