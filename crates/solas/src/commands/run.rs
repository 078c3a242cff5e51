//! `solas run`: the embedded default.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use solas_pipeline::runner::{Input, RunConfig};

use super::SchemaArgs;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Alert files, directories (every *.avro below them) or glob patterns.
    pub inputs: Vec<String>,
    /// Read from Kafka instead: bootstrap brokers, e.g. localhost:9092.
    #[arg(long, requires_all = ["topic", "group"], conflicts_with = "inputs")]
    pub kafka: Option<String>,
    /// Kafka topic to consume.
    #[arg(long)]
    pub topic: Option<String>,
    /// Kafka consumer group (offsets are committed for this group after durable writes).
    #[arg(long)]
    pub group: Option<String>,
    /// Stop when Kafka has had no message for this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub idle_exit: Option<f64>,
    /// Stop after this many Kafka messages.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Extra librdkafka setting, KEY=VALUE (repeatable).
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,
    /// Where the database, lightcurves and cutouts are kept.
    #[arg(long, default_value = "./solas-data")]
    pub data: PathBuf,
    #[command(flatten)]
    pub schemas: SchemaArgs,
    /// Directory holding the SFD dust maps (SFD_dust_4096_ngp.fits and _sgp.fits); without
    /// it E(B−V) is NULL.
    #[arg(long, env = "SOLAS_DUST_DIR")]
    pub dust_dir: Option<PathBuf>,
    /// Catalogue store for context classification (default: <data>/catalogues, filled by
    /// `solas catalogue add`). Without catalogues there is no context stage.
    #[arg(long, env = "SOLAS_CATALOGUES")]
    pub catalogues: Option<PathBuf>,
    /// Decoding threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Alerts per filter batch.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// No progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let input = match (&args.kafka, args.inputs.is_empty()) {
        (Some(brokers), _) => kafka_input(&args, brokers)?,
        (None, false) => Input::Files(args.inputs.clone()),
        (None, true) => {
            bail!("give alert files, directories or globs, or --kafka BROKERS --topic T --group G")
        }
    };
    let mut config = RunConfig::new(&args.data, input);
    config.schema_dir = args.schemas.schema_dir.clone();
    config.schema_registry = args.schemas.schema_registry.clone();
    config.dust_dir = args.dust_dir.clone();
    config.catalogue_dir = args.catalogues.clone();
    if let Some(w) = args.workers {
        config.decode_workers = w;
    }
    config.filter_batch = args.batch.max(1);
    config.progress = !args.quiet;

    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || {
        if on_signal.swap(true, Ordering::Relaxed) {
            std::process::exit(130); // second Ctrl-C: leave now
        }
        eprintln!("\nstopping: finishing the alerts in flight (Ctrl-C again to abort)");
    })
    .context("installing the Ctrl-C handler")?;

    let summary = solas_pipeline::run(config, stop).context("pipeline failed")?;
    println!("{summary}");
    println!("{:<20}{}", "data:", args.data.display());
    Ok(())
}

#[cfg(feature = "kafka")]
fn kafka_input(args: &RunArgs, brokers: &str) -> anyhow::Result<Input> {
    let extra = args
        .kafka_options
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--kafka-option {kv:?} is not KEY=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Input::Kafka(solas_pipeline::source::kafka::KafkaConfig {
        brokers: brokers.to_string(),
        topic: args
            .topic
            .clone()
            .context("--topic is required with --kafka")?,
        group: args
            .group
            .clone()
            .context("--group is required with --kafka")?,
        idle_exit: args.idle_exit.map(Duration::from_secs_f64),
        max_messages: args.max_messages,
        extra,
    }))
}

#[cfg(not(feature = "kafka"))]
fn kafka_input(_: &RunArgs, _: &str) -> anyhow::Result<Input> {
    bail!("this solas was built without the `kafka` feature")
}
