//! `solas run`: the embedded default.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use solas_pipeline::runner::{Input, RunConfig};

use super::SchemaArgs;

/// Where a worker reads from Kafka.
#[derive(Args, Debug, Clone)]
pub struct KafkaInputArgs {
    /// Read from Kafka: bootstrap brokers, e.g. localhost:9092.
    #[arg(long, requires_all = ["topic", "group"])]
    pub kafka: Option<String>,
    /// Kafka topic to consume.
    #[arg(long)]
    pub topic: Option<String>,
    /// Kafka consumer group (offsets are committed for this group after durable writes).
    #[arg(long)]
    pub group: Option<String>,
    /// Stop when Kafka has had no message for this many seconds and the consumer group has
    /// committed the whole topic (at most a minute more waiting for it); default: run until
    /// Ctrl-C.
    #[arg(long)]
    pub idle_exit: Option<f64>,
    /// Stop after this many Kafka messages.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Extra librdkafka setting, KEY=VALUE (repeatable).
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,
}

/// Where the stores are.
#[derive(Args, Debug, Clone)]
pub struct StoresArgs {
    /// Where the database, lightcurves and cutouts are kept (and the catalogues, skymaps
    /// and rejected alerts, whatever the backends).
    #[arg(long, default_value = "./solas-data")]
    pub data: PathBuf,
    /// Keep lightcurves in PostgreSQL (a connection string such as
    /// "host=127.0.0.1 user=postgres dbname=solas") instead of <data>/lightcurves.db;
    /// several separated by ';' shard them by object over those servers.
    #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
    pub lightcurves_db: Option<String>,
    /// Keep the main database (objects, classifications, filters, watchlists, annotations,
    /// context cache, worker status) in PostgreSQL, shared by every context and filter
    /// worker, instead of <data>/solas.db.
    #[arg(long, env = "SOLAS_MAIN_DB")]
    pub main_db: Option<String>,
    /// Keep cutouts in an S3-compatible store, `s3://bucket[/prefix]`, instead of
    /// <data>/cutouts (endpoint and keys from AWS_ENDPOINT, AWS_ACCESS_KEY_ID, …;
    /// AWS_ALLOW_HTTP=true for a plain http:// endpoint).
    #[arg(long, env = "SOLAS_CUTOUTS")]
    pub cutouts: Option<String>,
    /// An S3 client setting, KEY=VALUE (repeatable): the AWS_* variables' keys in lower
    /// case without the prefix (endpoint, allow_http, region, …), and the client's own
    /// retry budget, max_retries and retry_timeout_secs (default 10 tries within 180 s;
    /// past it Solas itself waits for the store, rejecting nothing).
    #[arg(long = "cutouts-option", value_name = "KEY=VALUE")]
    pub cutouts_options: Vec<String>,
}

/// Decoding the survey's alerts (where they enter).
#[derive(Args, Debug, Clone)]
pub struct DecodeArgs {
    #[command(flatten)]
    pub schemas: SchemaArgs,
    /// Decoding threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
}

/// The context stage.
#[derive(Args, Debug, Clone)]
pub struct ContextStageArgs {
    /// Catalogue store for context classification (default: <data>/catalogues, filled by
    /// `solas catalogue add`). Without catalogues there is no context stage.
    #[arg(long, env = "SOLAS_CATALOGUES")]
    pub catalogues: Option<PathBuf>,
    /// After a new catalogue version is loaded (`solas catalogue add` while this runs),
    /// stored objects where it differs are classified again in the background, at most
    /// this many a second (0: only when their next alert comes).
    #[arg(long, default_value_t = 200.0)]
    pub reclassify_per_second: f64,
}

/// Features, matching, user filters and delivery.
#[derive(Args, Debug, Clone)]
pub struct FilterStageArgs {
    /// Directory holding the SFD dust maps (SFD_dust_4096_ngp.fits and _sgp.fits); without
    /// it E(B−V) is NULL.
    #[arg(long, env = "SOLAS_DUST_DIR")]
    pub dust_dir: Option<PathBuf>,
    /// A folder of trained classifiers (`<name>/model.toml` each, as the repository's
    /// `models/`), run besides the built-in ones (a model of the same name replaces the
    /// built-in one). Their scores are annotations: `annotator:<name>` in filters.
    #[arg(long, env = "SOLAS_MODELS")]
    pub models: Option<PathBuf>,
    /// Run no trained classifier, not even the built-in ones.
    #[arg(long, conflicts_with = "models")]
    pub no_models: bool,
    /// Alerts per filter batch.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Rows one filter may return per batch.
    #[arg(long, default_value_t = 1000)]
    pub filter_row_limit: u64,
    /// Seconds one filter may run on one batch before it is stopped and reported.
    #[arg(long, default_value_t = 5.0)]
    pub filter_time_limit: f64,
    /// With --main-db on PostgreSQL: the connection string of the read-only role that user
    /// filters run as (default: the --main-db one; see docs/operations.md).
    #[arg(long, env = "SOLAS_FILTER_DB", requires = "main_db")]
    pub filter_db: Option<String>,
    /// Brokers for the filters' Kafka topics (default: the --kafka input brokers, if any).
    #[arg(long)]
    pub output_kafka: Option<String>,
    /// A Rubin and a ZTF object this close (arcsec) are counterparts: each object page
    /// shows the other's lightcurve, filters join `counterparts` (0: do not link).
    #[arg(long, default_value_t = solas_store::main_db::counterparts::DEFAULT_RADIUS_ARCSEC)]
    pub counterpart_radius: f64,
}

/// Running the process: telling the operator, serving, the progress line.
#[derive(Args, Debug, Clone)]
pub struct OpsArgs {
    /// Operator alert hook: a Slack-compatible webhook URL told when the run stops on an
    /// error (a database that cannot be opened), when Kafka or a store (S3, PostgreSQL, the
    /// disk) stays unavailable for --alert-after seconds and when it is back, and when a
    /// worker stops reporting without a clean exit (killed or crashed).
    #[arg(long, env = "SOLAS_ALERT_WEBHOOK")]
    pub alert_webhook: Option<String>,
    /// Seconds Kafka or a store may stay unavailable before the alert hook is told.
    #[arg(long, default_value_t = 60)]
    pub alert_after: u64,
    /// Also serve the REST API on this address while running (e.g. 127.0.0.1:8080).
    #[arg(long)]
    pub serve: Option<std::net::SocketAddr>,
    /// No progress line.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Alert files, directories (every *.avro below them) or glob patterns.
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub kafka: KafkaInputArgs,
    #[command(flatten)]
    pub stores: StoresArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Also publish alerts that cannot be decoded to this Kafka topic (on the --kafka
    /// brokers), with the reason, detail and origin as headers.
    #[arg(long, requires = "kafka")]
    pub dead_letter_topic: Option<String>,
    #[command(flatten)]
    pub context: ContextStageArgs,
    #[command(flatten)]
    pub filter: FilterStageArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Internal topic the stored, cutout-free alerts are published to (as JSON, keyed by
    /// object) for `solas process` workers.
    #[arg(long, default_value = "solas-stored")]
    pub publish_topic: String,
    #[command(flatten)]
    pub kafka: KafkaInputArgs,
    #[command(flatten)]
    pub stores: StoresArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Also publish alerts that cannot be decoded to this Kafka topic (on the --kafka
    /// brokers), with the reason, detail and origin as headers.
    #[arg(long, requires = "kafka")]
    pub dead_letter_topic: Option<String>,
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// `solas ingest`: decode, store cutouts and lightcurves, publish; one of N workers in a
/// consumer group.
#[cfg(feature = "kafka")]
pub fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let brokers = args
        .kafka
        .kafka
        .clone()
        .context("solas ingest reads Kafka: give --kafka BROKERS --topic T --group G")?;
    let role = solas_pipeline::runner::Role::Ingest(solas_pipeline::publish::PublishConfig {
        brokers,
        topic: args.publish_topic.clone(),
        extra: Vec::new(),
    });
    start(
        Parts {
            inputs: Vec::new(),
            kafka: args.kafka,
            stores: args.stores,
            decode: Some(args.decode),
            dead_letter_topic: args.dead_letter_topic,
            context: None,
            filter: None,
            ops: args.ops,
        },
        role,
    )
}

#[derive(Args, Debug)]
pub struct ContextArgs {
    /// Internal topic the classified alerts are published to, for `solas process
    /// --classified` workers.
    #[arg(long, default_value = "solas-classified")]
    pub publish_topic: String,
    #[command(flatten)]
    pub kafka: KafkaInputArgs,
    #[command(flatten)]
    pub stores: StoresArgs,
    #[command(flatten)]
    pub context: ContextStageArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// `solas context`: classify the alerts `solas ingest` published and publish them on.
#[cfg(feature = "kafka")]
pub fn context(args: ContextArgs) -> anyhow::Result<()> {
    let brokers = args
        .kafka
        .kafka
        .clone()
        .context("solas context reads Kafka: give --kafka BROKERS --topic T --group G")?;
    let role = solas_pipeline::runner::Role::Context(solas_pipeline::publish::PublishConfig {
        brokers,
        topic: args.publish_topic.clone(),
        extra: Vec::new(),
    });
    start(
        Parts {
            inputs: Vec::new(),
            kafka: args.kafka,
            stores: args.stores,
            decode: None,
            dead_letter_topic: None,
            context: Some(args.context),
            filter: None,
            ops: args.ops,
        },
        role,
    )
}

/// The stages after ingest, as `solas process` and `solas filter run` run them.
#[derive(Args, Debug)]
pub struct DownstreamArgs {
    #[command(flatten)]
    pub kafka: KafkaInputArgs,
    #[command(flatten)]
    pub stores: StoresArgs,
    #[command(flatten)]
    pub context: ContextStageArgs,
    #[command(flatten)]
    pub filter: FilterStageArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[derive(Args, Debug)]
pub struct ProcessArgs {
    /// The input was classified by `solas context` workers: run only features, matching,
    /// filters and delivery.
    #[arg(long)]
    pub classified: bool,
    #[command(flatten)]
    pub run: DownstreamArgs,
}

/// `solas process`: context (unless --classified), features, matching, filters and delivery
/// for alerts published by upstream workers (same --data directory: the lightcurves are
/// already stored).
pub fn process(args: ProcessArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.run.kafka.kafka.is_some(),
        "solas process reads an upstream workers' topic: give --kafka BROKERS --topic T --group G"
    );
    let role = if args.classified {
        solas_pipeline::runner::Role::Filter
    } else {
        solas_pipeline::runner::Role::Process
    };
    let run = args.run;
    start(
        Parts {
            inputs: Vec::new(),
            kafka: run.kafka,
            stores: run.stores,
            decode: None,
            dead_letter_topic: None,
            context: Some(run.context),
            filter: Some(run.filter),
            ops: run.ops,
        },
        role,
    )
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.kafka.kafka.is_none() || args.inputs.is_empty(),
        "give alert files or --kafka, not both"
    );
    start(
        Parts {
            inputs: args.inputs,
            kafka: args.kafka,
            stores: args.stores,
            decode: Some(args.decode),
            dead_letter_topic: args.dead_letter_topic,
            context: Some(args.context),
            filter: Some(args.filter),
            ops: args.ops,
        },
        solas_pipeline::runner::Role::All,
    )
}

/// The option groups a role was given; a role without a stage has no options for it.
struct Parts {
    inputs: Vec<String>,
    kafka: KafkaInputArgs,
    stores: StoresArgs,
    decode: Option<DecodeArgs>,
    dead_letter_topic: Option<String>,
    context: Option<ContextStageArgs>,
    filter: Option<FilterStageArgs>,
    ops: OpsArgs,
}

fn start(args: Parts, role: solas_pipeline::runner::Role) -> anyhow::Result<()> {
    let input = match (&args.kafka.kafka, args.inputs.is_empty()) {
        (Some(brokers), _) => kafka_input(&args.kafka, brokers)?,
        (None, false) => Input::Files(args.inputs.clone()),
        (None, true) => {
            bail!("give alert files, directories or globs, or --kafka BROKERS --topic T --group G")
        }
    };
    let data = args.stores.data.clone();
    let mut config = RunConfig::new(&data, input);
    if let Some(decode) = &args.decode {
        config.schema_dir = decode.schemas.schema_dir.clone();
        config.schema_registry = decode.schemas.schema_registry.clone();
        if let Some(w) = decode.workers {
            config.decode_workers = w;
        }
    }
    let catalogues = args.context.as_ref().and_then(|c| c.catalogues.clone());
    config.catalogue_dir = catalogues.clone();
    if let Some(c) = &args.context {
        config.reclassify_per_second = c.reclassify_per_second;
    }
    let mut filter_db = None;
    if let Some(filter) = &args.filter {
        config.dust_dir = filter.dust_dir.clone();
        config.models = models(filter)?;
        config.filter_batch = filter.batch.max(1);
        config.counterpart_radius_arcsec = Some(filter.counterpart_radius);
        config.filter_row_limit = filter.filter_row_limit.max(1);
        anyhow::ensure!(
            filter.filter_time_limit.is_finite() && filter.filter_time_limit > 0.0,
            "--filter-time-limit must be a positive number of seconds"
        );
        config.filter_time_limit = Duration::from_secs_f64(filter.filter_time_limit);
        if let Some(brokers) = filter.output_kafka.as_ref().or(args.kafka.kafka.as_ref()) {
            config.delivery.kafka = Some(solas_delivery::KafkaConfig::new(brokers));
        }
        filter_db = filter.filter_db.clone();
    }
    #[cfg(feature = "kafka")]
    if let (Some(topic), Some(brokers)) = (&args.dead_letter_topic, &args.kafka.kafka) {
        config.dead_letter = Some(solas_pipeline::publish::PublishConfig {
            brokers: brokers.clone(),
            topic: topic.clone(),
            extra: Vec::new(),
        });
    }
    config.progress = !args.ops.quiet;
    config.role = role;
    if let Some(url) = &args.stores.lightcurves_db {
        config.lightcurves_in_postgres(url.clone());
    }
    config.main_db = args
        .stores
        .main_db
        .as_deref()
        .map(solas_store::db::Target::parse);
    config.filter_db_url = filter_db;
    config.alert_webhook = args.ops.alert_webhook.clone();
    config.alert_after = std::time::Duration::from_secs(args.ops.alert_after);
    config.cutouts_url = args.stores.cutouts.clone();
    config.cutouts_options = key_values(&args.stores.cutouts_options, "--cutouts-option")?;

    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || {
        if on_signal.swap(true, Ordering::Relaxed) {
            std::process::exit(130); // second Ctrl-C: leave now
        }
        eprintln!("\nstopping: finishing the alerts in flight (Ctrl-C again to abort)");
    })
    .context("installing the Ctrl-C handler")?;

    let server = match args.ops.serve {
        Some(bind) => {
            let mut web = solas_web::ServeConfig::new(&data, bind);
            web.catalogue_dir = catalogues;
            web.main_db = config.main_db.clone();
            web.lightcurves_url = config.lightcurves_url.clone();
            web.filter_db_url = config.filter_db_url.clone();
            web.cutouts_url = config.cutouts_url.clone();
            // /metrics shows this run's counters.
            let stats = std::sync::Arc::new(solas_pipeline::stats::Stats::default());
            config.stats = Some(stats.clone());
            web.metrics = Some(std::sync::Arc::new(move || stats.prometheus()));
            let server = solas_web::spawn(web)?;
            eprintln!("serving the API on http://{}/api/", server.local_addr());
            Some(server)
        }
        None => None,
    };
    let summary = solas_pipeline::run(config, stop).context("pipeline failed")?;
    if let Some(server) = server {
        server.stop()?;
    }
    println!("{summary}");
    println!("{:<20}{}", "data:", data.display());
    Ok(())
}

/// `KEY=VALUE` settings of a repeatable `flag`.
pub(crate) fn key_values(settings: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    settings
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("{flag} {kv:?} is not KEY=VALUE"))
        })
        .collect()
}

#[cfg(feature = "kafka")]
fn kafka_input(args: &KafkaInputArgs, brokers: &str) -> anyhow::Result<Input> {
    let extra = key_values(&args.kafka_options, "--kafka-option")?;
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
fn kafka_input(_: &KafkaInputArgs, _: &str) -> anyhow::Result<Input> {
    bail!("this solas was built without the `kafka` feature")
}

/// The classifiers a run uses: the built-in ones and those of `--models`, none with
/// `--no-models`. A model that does not load is reported and left out; the run goes on.
fn models(
    filter: &FilterStageArgs,
) -> anyhow::Result<Option<std::sync::Arc<solas_classify::ModelSet>>> {
    if filter.no_models {
        return Ok(None);
    }
    let Some(dir) = &filter.models else {
        return Ok(Some(solas_classify::ModelSet::shared_builtin()));
    };
    let mut set = solas_classify::ModelSet::builtin();
    let extra = solas_classify::ModelSet::load_dir(dir)
        .with_context(|| format!("reading --models {}", dir.display()))?;
    for model in extra.models {
        set.models.retain(|m| m.name() != model.name());
        set.models.push(model);
    }
    set.failed.extend(extra.failed);
    for (path, why) in &set.failed {
        eprintln!("model {} not loaded: {why}", path.display());
    }
    Ok(Some(std::sync::Arc::new(set)))
}
