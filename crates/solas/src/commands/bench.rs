//! `solas bench`: replays alerts from memory, replicated with distinct ids, and reports
//! decode-only and end-to-end throughput, latency percentiles and peak memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use solas_pipeline::runner::{Input, RunConfig};
use solas_pipeline::source::files::FileSource;
use solas_pipeline::source::memory::MemorySource;

use super::SchemaArgs;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Alert files, directories or globs to replay.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// How many alerts to replay in all (the inputs are cycled, each copy with new ids).
    #[arg(long, default_value_t = 100_000)]
    pub alerts: usize,
    /// Where the end-to-end run stores its data (default: a fresh temporary directory).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub schemas: SchemaArgs,
    /// Decoding threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Threads computing each filter batch's features (default: one per core).
    #[arg(long)]
    pub features_workers: Option<usize>,
    /// Offer alerts at this many per second in the end-to-end run (default: as fast as
    /// the pipeline takes them), to measure latency at a given load. A history run's
    /// preload is never paced.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Catalogue store for the context stage (see `solas catalogue add`); default none.
    #[arg(long)]
    pub catalogues: Option<PathBuf>,
    /// Also time the context classifier on this many positions (needs --catalogues): half
    /// uniform over the sky, half within 60″ of the input alerts.
    #[arg(long, default_value_t = 0)]
    pub context_positions: usize,
    /// Install this many active user filters before the end-to-end run (generated, half on
    /// Rubin objects, half on ZTF, some joining sherlock_classifications).
    #[arg(long, default_value_t = 0)]
    pub filters: usize,
    /// Install a watchlist of this many cones (uniform over the sky, radius 1–30″) before
    /// the end-to-end run.
    #[arg(long, default_value_t = 0)]
    pub cones: usize,
    /// Alerts per filter batch in the end-to-end run.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Longest a filter batch waits to fill, seconds (the pipeline's default is 1).
    #[arg(long, default_value_t = 1.0)]
    pub batch_age: f64,
    /// Skip the end-to-end run.
    #[arg(long)]
    pub decode_only: bool,
    /// Main database in PostgreSQL (a connection string) instead of <data>/solas.db.
    #[arg(long)]
    pub main_db: Option<String>,
    /// Lightcurves in PostgreSQL (a connection string) instead of <data>/lightcurves.db.
    #[arg(long)]
    pub lightcurves_db: Option<String>,
    /// History mode: first preload this many copies of the inputs (each copy new objects:
    /// copies × the inputs' objects in all, timed as the fresh rate), then replay `--alerts`
    /// alerts as new alerts of those objects (new triggers and cutouts, histories repeating
    /// what was stored), timed as the history rate.
    #[arg(long)]
    pub history: Option<u32>,
    /// Store no cutouts for the preload's alerts (history mode: the objects and their
    /// lightcurves as with them, at a fraction of the disk; the history alerts keep
    /// theirs), or for all alerts (a long run's memory figure on a small disk).
    #[arg(long, value_enum)]
    pub without_cutouts: Option<WithoutCutouts>,
    /// Run no trained classifier (the built-in ones run by default, as in `solas run`):
    /// the end-to-end rate without them, for the classifiers' cost.
    #[arg(long)]
    pub no_models: bool,
    /// Store typed rows only, without the archive's records (every field of every source,
    /// object records, alert envelopes): the end-to-end rate as before the archive, for its
    /// cost (`docs/archive.md#cost`).
    #[arg(long)]
    pub without_records: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithoutCutouts {
    Preload,
    All,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let files = FileSource::new(&args.inputs)?;
    let payloads: Vec<(String, Vec<u8>)> = files
        .files()
        .iter()
        .map(|p| {
            Ok((
                p.display().to_string(),
                std::fs::read(p).with_context(|| p.display().to_string())?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let bytes: usize = payloads.iter().map(|(_, b)| b.len()).sum();
    let workers = args.workers.unwrap_or_else(solas_pipeline::config::cores);
    println!(
        "inputs: {} files, {:.1} MB; replaying {} alerts{}; {workers} decode threads",
        payloads.len(),
        bytes as f64 / 1e6,
        args.alerts,
        args.rate
            .map(|r| format!(" at {r:.0}/s"))
            .unwrap_or_default()
    );

    // Decode only: every thread takes the next payload until the total is reached.
    let decoder = Arc::new(args.schemas.decoder()?);
    let payloads = Arc::new(payloads);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let decoded: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (decoder, payloads, next) = (decoder.clone(), payloads.clone(), next.clone());
                let total = args.alerts;
                s.spawn(move || {
                    let mut ok = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            return ok;
                        }
                        if let Ok(d) = decoder.decode(&payloads[i % payloads.len()].1) {
                            ok += d.records.iter().filter(|(_, r)| r.is_ok()).count();
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "decode only:  {decoded} alerts in {secs:.2} s = {:.0} alerts/s ({:.1} MB/s)",
        decoded as f64 / secs,
        (bytes as f64 * args.alerts as f64 / payloads.len() as f64) / secs / 1e6
    );

    if args.context_positions > 0 {
        let dir = args
            .catalogues
            .as_ref()
            .context("--context-positions needs --catalogues")?;
        bench_context(dir, &decoder, &payloads, args.context_positions)?;
    }

    if !args.decode_only {
        let tmp;
        let data = match &args.data {
            Some(d) => d.clone(),
            None => {
                tmp = tempdir()?;
                tmp.clone()
            }
        };
        let payloads = Arc::try_unwrap(payloads).unwrap_or_else(|a| (*a).clone());
        let configure = |source: MemorySource| {
            let mut config = RunConfig::new(&data, Input::Memory(source));
            config.schema_dir = args.schemas.schema_dir.clone();
            config.schema_registry = args.schemas.schema_registry.clone();
            config.decode_workers = workers;
            if let Some(n) = args.features_workers {
                config.features_workers = n.max(1);
            }
            config.filter_batch = args.batch.max(1);
            config.filter_max_age = std::time::Duration::from_secs_f64(args.batch_age.max(0.01));
            config.main_db = args.main_db.as_deref().map(solas_store::db::Target::parse);
            if let Some(url) = &args.lightcurves_db {
                config.lightcurves_in_postgres(url.clone());
            }
            // Only the catalogues asked for: the temporary data directory has none of its own.
            config.catalogue_dir = Some(
                args.catalogues
                    .clone()
                    .unwrap_or_else(|| data.join("no-catalogues")),
            );
            config.progress = false;
            if args.no_models {
                config.models = None;
            }
            config
        };
        let main = configure(MemorySource::new(Vec::new(), 0, None)).main_target();
        install_filters(&main, args.filters)?;
        install_cones(&main, args.cones)?;
        let fresh = match args.history {
            Some(copies) => {
                let total = payloads.len() * copies as usize;
                let mut source = MemorySource::new(payloads.clone(), total, None);
                source.without_cutouts = args.without_cutouts.is_some();
                source.without_records = args.without_records;
                let preload = configure(source);
                let s = solas_pipeline::run(preload, Arc::new(AtomicBool::new(false)))?;
                println!(
                    "preload:      {} alerts in {:.2} s = {:.0} alerts/s (fresh: a new object each{}); {} objects rows written",
                    s.alerts,
                    s.elapsed.as_secs_f64(),
                    s.alerts_per_second(),
                    if args.without_cutouts.is_some() { ", without cutouts" } else { "" },
                    s.object_writes
                );
                println!(
                    "preload latency (ms): p50 {:.0}  p99 {:.0}; peak memory so far {}",
                    s.latency.p50,
                    s.latency.p99,
                    peak_memory().unwrap_or_else(|| "unknown".into())
                );
                Some(s.alerts_per_second())
            }
            None => None,
        };
        let mut source = MemorySource::new(payloads, args.alerts, args.rate);
        source.without_cutouts = args.without_cutouts == Some(WithoutCutouts::All);
        source.without_records = args.without_records;
        if let Some(copies) = args.history {
            // New alerts of the preloaded objects: replicas after the preload's.
            source.first_replica = copies;
            source.object_copies = Some(copies);
        }
        let config = configure(source);
        let summary = solas_pipeline::run(config, Arc::new(AtomicBool::new(false)))?;
        println!(
            "end to end:   {} alerts in {:.2} s = {:.0} alerts/s; {} objects rows written; {} rejected{}",
            summary.alerts,
            summary.elapsed.as_secs_f64(),
            summary.alerts_per_second(),
            summary.object_writes,
            summary.rejected.values().sum::<u64>(),
            if args.without_records { " (--without-records: typed rows only)" } else { "" }
        );
        println!(
            "classifiers:  {} scores stored, {:.1} µs per alert{}",
            summary.model_scores,
            summary.model_seconds * 1e6 / summary.alerts.max(1) as f64,
            if args.no_models { " (--no-models)" } else { "" }
        );
        if let Some(fresh) = fresh {
            println!(
                "history:      {:.0} alerts/s onto the stored objects, {:.2} of the fresh rate{}",
                summary.alerts_per_second(),
                summary.alerts_per_second() / fresh.max(f64::MIN_POSITIVE),
                if args.without_cutouts == Some(WithoutCutouts::Preload) {
                    " (a preload without cutouts: not the same work)"
                } else {
                    ""
                }
            );
        }
        println!(
            "latency (receipt → objects row committed, ms): p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}",
            summary.latency.p50, summary.latency.p90, summary.latency.p99, summary.latency.max
        );
        println!(
            "stage busy:   decode {:.1} s (all workers), store {:.1} s, context {:.1} s, filter {:.1} s",
            summary.busy[0], summary.busy[1], summary.busy[2], summary.busy[3]
        );
        println!(
            "filter stage: features {:.1} s, objects rows written {:.1} s, watch {:.1} s, user filters {:.1} s",
            summary.features_seconds,
            summary.write_seconds,
            summary.watch_seconds,
            summary.user_filter_seconds
        );
        if args.cones > 0 {
            println!(
                "watch:        {} cones; {} hits; {:.2} ms matching per batch",
                args.cones,
                summary.watch_hits,
                summary.watch_seconds * 1e3 / summary.batches.max(1) as f64
            );
        }
        if summary.filter_runs > 0 {
            println!(
                "user filters: {} active, {} runs over {} batches ({:.0} alerts per batch), {} rows, {} failed; {:.2} ms per filter per batch",
                args.filters,
                summary.filter_runs,
                summary.batches,
                summary.alerts as f64 / summary.batches.max(1) as f64,
                summary.filter_rows,
                summary.filter_failures,
                summary.user_filter_seconds * 1e3 / summary.filter_runs as f64
            );
        }
        if args.data.is_none() {
            let _ = std::fs::remove_dir_all(&data);
        }
    }
    println!(
        "peak memory:  {}",
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

/// A watchlist of `n` cones spread uniformly over the sky (a fixed xorshift sequence, so
/// runs are comparable).
fn install_cones(main: &solas_store::db::Target, n: usize) -> anyhow::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let cones: Vec<solas_watch::Cone> = (0..n)
        .map(|i| solas_watch::Cone {
            ra: next() * 360.0,
            dec: (2.0 * next() - 1.0).asin().to_degrees(),
            name: format!("c{i}"),
            radius_arcsec: Some(1.0 + 29.0 * next()),
        })
        .collect();
    solas_store::main_db::watch::WatchStore::connect(main)?.add_watchlist(
        &solas_store::main_db::watch::NewWatchlist {
            owner: 1,
            name: "bench",
            description: "",
            public: false,
            radius_arcsec: 3.0,
            mag_change: None,
        },
        &cones,
    )?;
    println!(
        "watchlist:    {n} cones stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("solas-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Peak resident set size (Linux VmHWM).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MB (VmHWM)", kb / 1024.0))
}

/// Times `solas_context::classify` through the pipeline's classifier on `n` positions.
fn bench_context(
    dir: &std::path::Path,
    decoder: &solas_decode::Decoder,
    payloads: &[(String, Vec<u8>)],
    n: usize,
) -> anyhow::Result<()> {
    use solas_pipeline::context::{CatalogueClassifier, Classifier};
    let store = solas_catalogue::Store::open(dir)?;
    let catalogues = store.catalogues().len();
    let classifier = CatalogueClassifier::new(store).context("no catalogues in the store")?;
    let alerts: Vec<(f64, f64)> = payloads
        .iter()
        .filter_map(|(_, b)| decoder.decode(b).ok())
        .flat_map(|d| d.records)
        .filter_map(|(_, r)| r.ok().map(|a| (a.ra, a.dec)))
        .collect();
    // xorshift: reproducible positions without a dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let positions: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            if i % 2 == 0 || alerts.is_empty() {
                (
                    360.0 * uniform(),
                    (2.0 * uniform() - 1.0).asin().to_degrees(),
                )
            } else {
                let (ra, dec) = alerts[i % alerts.len()];
                let r = 60.0 / 3600.0 * uniform();
                let t = std::f64::consts::TAU * uniform();
                (
                    (ra + r * t.cos() / dec.to_radians().cos()).rem_euclid(360.0),
                    (dec + r * t.sin()).clamp(-90.0, 90.0),
                )
            }
        })
        .collect();
    let mut micros: Vec<f64> = Vec::with_capacity(n);
    let mut classes = std::collections::BTreeMap::new();
    // Classified at today's epoch, as alerts are: catalogues with proper motions take
    // their moving path.
    let today = solas_context::today_mjd();
    for &(ra, dec) in &positions {
        let t = Instant::now();
        let answer = classifier.classify(ra, dec, today);
        micros.push(t.elapsed().as_secs_f64() * 1e6);
        let class = answer.classification;
        *classes.entry(class).or_insert(0u64) += 1;
    }
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    println!(
        "context:      {n} positions against {catalogues} catalogues: median {:.1} µs  p90 {:.1} µs  p99 {:.1} µs  max {:.0} µs",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    println!("              classes: {classes:?}");
    Ok(())
}

/// `n` active filters of the kinds astronomers write, with varied thresholds.
fn install_filters(main: &solas_store::db::Target, n: usize) -> anyhow::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let mut store = solas_store::main_db::filters::FilterStore::connect(main)?;
    for i in 0..n {
        let k = i as f64;
        let (survey, selected, tables, conditions) = match i % 4 {
            0 => ("lsst", "objects.diaObjectId, objects.latest_psfFlux, objects.nDiaSources", "objects",
                  format!("objects.latest_psfFlux > {} AND objects.nDiaSources >= 1", 500.0 + 37.0 * k)),
            1 => ("lsst", "objects.diaObjectId, objects.ra, objects.decl, sherlock_classifications.classification",
                  "objects, sherlock_classifications",
                  format!("sherlock_classifications.classification IN (\"SN\", \"NT\", \"ORPHAN\") AND objects.decl < {}", -40.0 + (k % 10.0))),
            2 => ("ztf", "objects.objectId, objects.gmag, objects.rmag, objects.ncand", "objects",
                  format!("objects.gmag < {} AND objects.ncand >= 1 ORDER BY objects.gmag", 16.0 + (k % 40.0) / 10.0)),
            _ => ("ztf", "objects.objectId, objects.dmdt_g, objects.jdmax", "objects",
                  format!("objects.jdmax > {} AND (objects.dmdt_g < {} OR objects.dmdt_r < 0)", 2458000.5 + k, -0.01 * (k % 7.0))),
        };
        let name = format!("bench-{i}");
        let f = solas_store::main_db::filters::StoredFilter {
            id: 0,
            owner: 1,
            topic: format!("solas_1_{name}"),
            name,
            description: String::new(),
            selected: selected.into(),
            tables: tables.into(),
            conditions,
            survey: survey.into(),
            public: false,
            active: "alerts".into(),
            output: "none".into(),
            email: None,
            webhook_url: None,
            byte_quota: -1,
        };
        solas_pipeline::filter::user_filters::check_stored(&f, &solas_query::NoResources)
            .map_err(|e| anyhow::anyhow!("generated filter {i} refused: {e}"))?;
        store.add(&f)?;
    }
    Ok(())
}
