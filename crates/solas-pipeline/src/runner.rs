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

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use solas_decode::Decoder;
use solas_features::DustMap;
use solas_store::main_db::{DbContextCache, MainDatabase};
use solas_store::{BlobStore, MainDb};

pub use crate::config::{Input, Role, RunConfig};
pub use crate::error::RunError;
pub use crate::summary::Summary;

use crate::context::{CatalogueClassifier, Classifier, ContextStage};
use crate::filter::FilterStage;
use crate::ingest::decode::DecodeWorker;
use crate::ingest::rejected::Rejected;
use crate::ingest::store::StoreWriter;
use crate::message::InFlight;
use crate::retry::Retrier;
use crate::source::Source;
use crate::stage::{Ack, Output, Stage};
use crate::stats::Stats;

fn catalogue_dir(config: &RunConfig) -> std::path::PathBuf {
    config
        .catalogue_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("catalogues"))
}

/// The context classifier over the configured catalogue store, if it holds catalogues.
fn classifier(config: &RunConfig) -> Result<Option<Box<dyn Classifier>>, RunError> {
    let dir = catalogue_dir(config);
    if !dir.exists() {
        return Ok(None);
    }
    let store = solas_catalogue::Store::open(&dir)?;
    Ok(CatalogueClassifier::new(store).map(|c| Box::new(c) as Box<dyn Classifier>))
}

type Handles = Vec<(&'static str, thread::JoinHandle<Result<(), RunError>>)>;
type Acks = crossbeam_channel::Sender<Ack>;

/// Start a stage on its own thread, between its input queue and its output.
fn spawn<S: Stage>(
    handles: &mut Handles,
    stage: S,
    input: crossbeam_channel::Receiver<S::In>,
    output: Output<S::Out>,
) where
    RunError: From<S::Error>,
{
    let run = move || stage.run(input, output).map_err(RunError::from);
    handles.push((S::NAME, thread::spawn(run)));
}

/// The context stage, when catalogues are configured; otherwise alerts pass straight on.
fn start_context(
    config: &RunConfig,
    handles: &mut Handles,
    input: crossbeam_channel::Receiver<InFlight>,
    acks: &Acks,
    stats: &Arc<Stats>,
    retry: &Arc<Retrier>,
) -> Result<crossbeam_channel::Receiver<InFlight>, RunError> {
    let Some(classifier) = classifier(config)? else {
        return Ok(input);
    };
    let (tx, rx) = crate::queues::classified();
    let stage = ContextStage {
        classifier,
        cache: Box::new(DbContextCache::connect(&config.main_target())?),
        stats: stats.clone(),
        max_batch: config.ingest_batch,
        linger: Duration::from_millis(20),
        retry: retry.clone(),
    };
    spawn(handles, stage, input, Output::new(tx, acks.clone()));
    Ok(rx)
}

/// Context, filter and delivery, from stored alerts to acknowledgements.
#[allow(clippy::too_many_arguments)]
fn start_downstream(
    config: &RunConfig,
    data: &Path,
    handles: &mut Handles,
    stored_rx: crossbeam_channel::Receiver<InFlight>,
    acks: &Acks,
    stats: &Arc<Stats>,
    open_lc: &dyn Fn() -> Result<Box<dyn solas_store::LightcurveStore>, solas_store::StoreError>,
    dust: Option<Arc<DustMap>>,
    retry: &Arc<Retrier>,
) -> Result<(), RunError> {
    let main_db = config.main_target();
    let filter_rx = if matches!(config.role, Role::Filter) {
        stored_rx // classified by the context workers upstream
    } else {
        start_context(config, handles, stored_rx, acks, stats, retry)?
    };
    let mut engine = crate::filter::user_filters::DbFilterEngine::connect(
        &main_db,
        config.filter_db_url.as_deref(),
    )
    .map_err(RunError::Filters)?;
    engine.row_limit = config.filter_row_limit;
    engine.time_limit = config.filter_time_limit;
    // One lightcurve reader per features worker.
    let more_lightcurves = (1..config.features_workers.max(1))
        .map(|_| open_lc())
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(models) = &config.models {
        crate::filter::models::register(models, &main_db)?;
    }
    let filter = FilterStage {
        lightcurves: open_lc()?,
        more_lightcurves,
        main: Box::new(MainDatabase::connect(&main_db)?),
        dust,
        stats: stats.clone(),
        max_batch: config.filter_batch,
        idle: config.filter_idle,
        max_age: config.filter_max_age,
        watch: Some({
            let mut matcher = crate::filter::watch::WatchMatcher::connect(&main_db, data)?;
            matcher.set_counterpart_radius(config.counterpart_radius_arcsec);
            matcher
        }),
        filters: Some(Box::new(engine)),
        models: config.models.clone(),
        retry: retry.clone(),
    };
    let (work_tx, work_rx) = crate::queues::results();
    spawn(
        handles,
        filter,
        filter_rx,
        Output::new(work_tx, acks.clone()),
    );
    let delivery = crate::delivery::DeliveryStage {
        sink: crate::delivery::build_sink(&main_db, &config.delivery)?,
        reports: solas_store::main_db::filters::FilterStore::connect(&main_db)?,
        stats: stats.clone(),
        retry: retry.clone(),
    };
    spawn(handles, delivery, work_rx, Output::terminal(acks.clone()));
    Ok(())
}

/// For the ingest and context roles: start the stage that publishes to the next workers'
/// topic (after context classification for the context role). Other roles get `stored_rx`
/// back, for the stages after.
#[cfg(feature = "kafka")]
fn start_publisher(
    config: &RunConfig,
    handles: &mut Handles,
    stored_rx: crossbeam_channel::Receiver<InFlight>,
    acks: &Acks,
    stats: &Arc<Stats>,
    retry: &Arc<Retrier>,
) -> Result<Option<crossbeam_channel::Receiver<InFlight>>, RunError> {
    let (Role::Ingest(publish) | Role::Context(publish)) = &config.role else {
        return Ok(Some(stored_rx));
    };
    let publish_rx = if matches!(config.role, Role::Context(_)) {
        start_context(config, handles, stored_rx, acks, stats, retry)?
    } else {
        stored_rx
    };
    let publisher = crate::publish::Publisher::new(publish, stats.clone(), retry.clone())?;
    spawn(
        handles,
        publisher,
        publish_rx,
        Output::terminal(acks.clone()),
    );
    Ok(None)
}

/// Without Kafka there are no workers' topics: every role runs the stages after.
#[cfg(not(feature = "kafka"))]
fn start_publisher(
    _config: &RunConfig,
    _handles: &mut Handles,
    stored_rx: crossbeam_channel::Receiver<InFlight>,
    _acks: &Acks,
    _stats: &Arc<Stats>,
    _retry: &Arc<Retrier>,
) -> Result<Option<crossbeam_channel::Receiver<InFlight>>, RunError> {
    Ok(Some(stored_rx))
}

/// Run the pipeline until the input is exhausted (files), or `stop` is set or the Kafka
/// source's idle limit is reached.
pub fn run(config: RunConfig, stop: Arc<AtomicBool>) -> Result<Summary, RunError> {
    let hook = config.alert_webhook.clone();
    let source = match &config.input {
        Input::Files(f) => format!("{} file input(s)", f.len()),
        Input::Memory(_) => "replay from memory".to_string(),
        #[cfg(feature = "kafka")]
        Input::Kafka(k) => format!("kafka topic {} group {}", k.topic, k.group),
    };
    let result = run_stages(config, stop);
    if let (Err(e), Some(url)) = (&result, hook) {
        crate::alert_hook::post(
            &url,
            &format!("Solas stopped with an error ({source}): {e}"),
        );
    }
    result
}

fn run_stages(mut config: RunConfig, stop: Arc<AtomicBool>) -> Result<Summary, RunError> {
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
    let blobs: Arc<dyn BlobStore> = solas_store::blob::open(
        config.cutouts_url.as_deref(),
        &config.cutouts_options,
        &data.join("cutouts"),
    )?;
    let lightcurves_path = data.join("lightcurves.db");
    // The store writer's handle, and the filter stage's readers (start_downstream).
    let open_lc =
        || solas_store::open_lightcurves(config.lightcurves_url.as_deref(), &lightcurves_path);
    let writer_lc = open_lc()?;
    // Opened here so a database that cannot be reached or migrated stops the run at once.
    MainDatabase::connect(&config.main_target())?;
    let stats = config.stats.clone().unwrap_or_default();
    let retry = Arc::new(
        Retrier::new(stop.clone(), stats.clone())
            .with_hook(config.alert_webhook.clone(), config.alert_after)
            .with_max_backoff(config.retry_max_backoff),
    );
    let mut source: Box<dyn Source> = match config.input {
        Input::Files(ref inputs) => Box::new(crate::source::files::FileSource::new(inputs)?),
        Input::Memory(ref mut source) => Box::new(std::mem::replace(
            source,
            crate::source::memory::MemorySource::new(Vec::new(), 0, None),
        )),
        #[cfg(feature = "kafka")]
        Input::Kafka(ref k) => {
            let mut source =
                crate::source::kafka::KafkaSource::new(k.clone())?.with_lag_stats(stats.clone());
            if let Some(url) = &config.alert_webhook {
                source = source.with_alert_hook(url.clone(), config.alert_after);
            }
            Box::new(source)
        }
    };
    let source_name = source.describe();
    // What a worker joined and writes to, once, for the operator's log (`solas run` over
    // files stays quiet).
    if !matches!(config.input, Input::Files(_) | Input::Memory(_)) {
        log::info!(
            "{} worker: {source_name}; main database {}; lightcurves {}; cutouts {}",
            config.role.name(),
            config.main_target(),
            config
                .lightcurves_url
                .as_deref()
                .map(|u| solas_store::db::Target::Postgres(u.to_string()).to_string())
                .unwrap_or_else(|| lightcurves_path.display().to_string()),
            config
                .cutouts_url
                .clone()
                .unwrap_or_else(|| data.join("cutouts").display().to_string()),
        );
    }

    // The queues between the stages: `queues` says what each holds and why its size.
    let (raw_tx, raw_rx) = crate::queues::raw();
    let (decoded_tx, decoded_rx) = crate::queues::decoded();
    let (stored_tx, stored_rx) = crate::queues::stored(config.filter_batch);
    let (ack_tx, ack_rx) = crate::queues::acks();

    let mut handles: Handles = Vec::new();
    let rejected = Rejected::new(&data.join("rejected"));
    #[cfg(feature = "kafka")]
    let rejected = match &config.dead_letter {
        Some(dl) => rejected.with_dead_letter(dl)?,
        None => rejected,
    };
    let rejected = Arc::new(rejected);
    for _ in 0..config.decode_workers.max(1) {
        let worker = DecodeWorker {
            payload: config.role.payload(),
            decoder: decoder.clone(),
            blobs: blobs.clone(),
            rejected: rejected.clone(),
            stats: stats.clone(),
            retry: retry.clone(),
        };
        let output = Output::new(decoded_tx.clone(), ack_tx.clone());
        spawn(&mut handles, worker, raw_rx.clone(), output);
    }
    drop((raw_rx, decoded_tx));
    // Published alerts were stored by the ingest process that published them.
    let stored_rx = if !config.role.stores() {
        drop(stored_tx);
        decoded_rx
    } else {
        let writer = StoreWriter {
            lightcurves: writer_lc,
            blobs: blobs.clone(),
            stats: stats.clone(),
            max_batch: config.ingest_batch,
            linger: Duration::from_millis(20),
            max_age: config.ingest_max_age,
            retry: retry.clone(),
            accounted: solas_core::recent::RecentSet::new(
                crate::ingest::store::ACCOUNTED_SOURCES,
                None,
            ),
            gather_ahead: config.lightcurves_url.is_some(),
        };
        let output = Output::new(stored_tx, ack_tx.clone());
        spawn(&mut handles, writer, decoded_rx, output);
        stored_rx
    };
    // Ingest and context workers publish on; every other role runs the stages after.
    if let Some(stored_rx) =
        start_publisher(&config, &mut handles, stored_rx, &ack_tx, &stats, &retry)?
    {
        start_downstream(
            &config,
            data,
            &mut handles,
            stored_rx,
            &ack_tx,
            &stats,
            &open_lc,
            dust,
            &retry,
        )?;
    }
    drop(ack_tx);

    let done = Arc::new(AtomicBool::new(false));
    let progress = (config.progress && std::io::stderr().is_terminal()).then(|| {
        let (stats, done) = (stats.clone(), done.clone());
        thread::spawn(move || progress_loop(&stats, &done, started))
    });
    // Where the context stage runs, objects are classified again in the background when a
    // new catalogue version differs from the one before.
    let runs_context = match &config.role {
        Role::All | Role::Process => true,
        #[cfg(feature = "kafka")]
        Role::Context(_) => true,
        _ => false,
    };
    let reclassifier = (runs_context && config.reclassify_per_second > 0.0).then(|| {
        let r = crate::context::reclassify::Reclassifier {
            main: config.main_target(),
            per_second: config.reclassify_per_second,
            stats: stats.clone(),
        };
        let (dir, done) = (catalogue_dir(&config), done.clone());
        thread::spawn(move || r.run(dir, done))
    });
    let reporter = {
        let (stats, done, db) = (stats.clone(), done.clone(), config.main_target());
        let role = config.role.name();
        let hook = config.alert_webhook.clone();
        thread::spawn(move || crate::status::report_loop(&db, role, stats, done, hook))
    };

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
    let _ = reporter.join();
    if let Some(r) = reclassifier {
        let _ = r.join();
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let abandoned = Stats::get(&stats.abandoned);
    if abandoned > 0 {
        return Err(RunError::Outage(abandoned));
    }
    let tables = MainDatabase::connect(&config.main_target())?.counts()?;
    Ok(Summary {
        source: source_name,
        payloads: Stats::get(&stats.payloads),
        alerts: Stats::get(&stats.alerts),
        stored: Stats::get(&stats.stored),
        published: Stats::get(&stats.published),
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
        user_filter_seconds: stats.busy_user_filters_ns.seconds(),
        annotation_runs: Stats::get(&stats.annotation_runs),
        watch_hits: Stats::get(&stats.watch_hits),
        watch_seconds: stats.busy_watch_ns.seconds(),
        features_seconds: stats.busy_features_ns.seconds(),
        write_seconds: stats.busy_write_ns.seconds(),
        model_scores: Stats::get(&stats.model_scores),
        model_skipped: Stats::get(&stats.model_skipped),
        model_seconds: stats.busy_models_ns.seconds(),
        delivered: Stats::get(&stats.delivered),
        delivery_failures: Stats::get(&stats.delivery_failures),
        quota_rejected: Stats::get(&stats.quota_rejected),
        solar_system: Stats::get(&stats.solar_system),
        batches: Stats::get(&stats.batches),
        rejected: stats.rejected(),
        latency: stats.latency(),
        busy: [
            stats.busy_decode_ns.seconds(),
            stats.busy_store_ns.seconds(),
            stats.busy_context_ns.seconds(),
            stats.busy_filter_ns.seconds(),
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
