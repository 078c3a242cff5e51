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
    /// Offer alerts at this many per second in the end-to-end run (default: as fast as
    /// the pipeline takes them), to measure latency at a given load.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Skip the end-to-end run.
    #[arg(long)]
    pub decode_only: bool,
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
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
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
        let mut config = RunConfig::new(
            &data,
            Input::Memory {
                payloads,
                total: args.alerts,
                rate: args.rate,
            },
        );
        config.schema_dir = args.schemas.schema_dir.clone();
        config.schema_registry = args.schemas.schema_registry.clone();
        config.decode_workers = workers;
        config.progress = false;
        let summary = solas_pipeline::run(config, Arc::new(AtomicBool::new(false)))?;
        println!(
            "end to end:   {} alerts in {:.2} s = {:.0} alerts/s; {} objects rows written; {} rejected",
            summary.alerts,
            summary.elapsed.as_secs_f64(),
            summary.alerts_per_second(),
            summary.object_writes,
            summary.rejected.values().sum::<u64>()
        );
        println!(
            "latency (receipt → objects row committed, ms): p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}",
            summary.latency.p50, summary.latency.p90, summary.latency.p99, summary.latency.max
        );
        println!(
            "stage busy:   decode {:.1} s (all workers), store {:.1} s, filter {:.1} s",
            summary.busy[0], summary.busy[1], summary.busy[2]
        );
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
