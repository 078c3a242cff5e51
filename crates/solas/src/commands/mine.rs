//! `solas mine`: run a stored filter over the stored objects and fan its objects out over
//! a Kafka topic (`start`); mining workers of one consumer group run a user's program on
//! each object's lightcurve (`work`); the answers are kept per run (`runs`, `results`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use solas_pipeline::mine::{MineKafka, MineWorker, Program};
use solas_store::main_db::filters::FilterStore;
use solas_store::main_db::mining;

use super::filter::DataArg;

#[derive(Args, Debug)]
pub struct MineArgs {
    #[command(subcommand)]
    pub action: MineAction,
}

/// Where the tasks travel.
#[derive(Args, Debug, Clone)]
pub struct TopicArgs {
    /// Bootstrap brokers.
    #[arg(long)]
    kafka: String,
    #[arg(long)]
    topic: String,
    /// Extra librdkafka setting, KEY=VALUE (repeatable).
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    kafka_options: Vec<String>,
}

impl TopicArgs {
    fn kafka(&self) -> anyhow::Result<MineKafka> {
        Ok(MineKafka {
            brokers: self.kafka.clone(),
            topic: self.topic.clone(),
            extra: super::run::key_values(&self.kafka_options, "--kafka-option")?,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum MineAction {
    /// Run a stored filter over every stored object and send each object it picks to the
    /// topic, as one run; prints the run id.
    Start {
        /// The stored filter (`solas filter list`); its owner's rights apply.
        #[arg(long)]
        filter: i64,
        /// At most this many objects.
        #[arg(long, default_value_t = 1_000_000)]
        limit: u64,
        #[command(flatten)]
        topic: TopicArgs,
        #[command(flatten)]
        data: DataArg,
    },
    /// A mining worker: for each object on the topic, the user's program reads its
    /// lightcurve as JSON on stdin and writes one JSON value on stdout, kept as the
    /// object's answer. Start several with one --group to share the work.
    Work {
        #[command(flatten)]
        topic: TopicArgs,
        #[arg(long)]
        group: String,
        /// The program, run with `sh -c`.
        #[arg(long)]
        program: String,
        /// Seconds the program may take for one object.
        #[arg(long, default_value_t = 60.0)]
        time_limit: f64,
        /// Bytes the program may write for one object.
        #[arg(long, default_value_t = 1_000_000)]
        max_output: usize,
        /// Stop when no object has come for this many seconds and the topic is committed.
        #[arg(long)]
        idle_exit: Option<f64>,
        #[command(flatten)]
        data: DataArg,
        /// The lightcurves in PostgreSQL (default: <data>/lightcurves.db).
        #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
        lightcurves_db: Option<String>,
    },
    /// The runs, newest first, with how many objects are answered.
    Runs {
        #[command(flatten)]
        data: DataArg,
    },
    /// A run's answers, one JSON line per object.
    Results {
        run: i64,
        #[command(flatten)]
        data: DataArg,
    },
}

pub fn mine(args: MineArgs) -> anyhow::Result<()> {
    match args.action {
        MineAction::Start {
            filter,
            limit,
            topic,
            data,
        } => {
            let main = data.main_target();
            let stored = FilterStore::connect(&main)?
                .get(filter)?
                .with_context(|| format!("no filter {filter}"))?;
            let survey =
                solas_core::Survey::parse(&stored.survey).unwrap_or(solas_core::Survey::Lsst);
            let objects = solas_export::select::filter_keys(
                &main,
                None,
                survey,
                Some(stored.owner),
                &solas_export::select::ObjectFilter {
                    tables: stored.tables.clone(),
                    conditions: stored.conditions.clone(),
                },
                limit,
                Duration::from_secs(300),
            )?;
            let kafka = topic.kafka()?;
            let mut db = solas_store::main_db::connect(&main)?;
            let run = mining::create_run(&mut db, filter, stored.owner, survey, &kafka.topic)?;
            solas_pipeline::mine::publish(&kafka, run, survey, &objects)?;
            mining::set_objects(&mut db, run, objects.len() as i64)?;
            println!(
                "run {run}: {} objects of filter {filter} sent to {}",
                objects.len(),
                kafka.topic
            );
            Ok(())
        }
        MineAction::Work {
            topic,
            group,
            program,
            time_limit,
            max_output,
            idle_exit,
            data,
            lightcurves_db,
        } => {
            anyhow::ensure!(
                time_limit.is_finite() && time_limit > 0.0,
                "--time-limit must be positive"
            );
            let worker = MineWorker {
                kafka: topic.kafka()?,
                group,
                program: Program {
                    command: program,
                    time_limit: Duration::from_secs_f64(time_limit),
                    max_output,
                },
                idle_exit: idle_exit.map(Duration::from_secs_f64),
                name: solas_pipeline::status::worker_name("mine"),
            };
            let mut lightcurves =
                solas_store::open_lightcurves(lightcurves_db.as_deref(), &lightcurves_path(&data))
                    .context("opening the lightcurves")?;
            let stop = Arc::new(AtomicBool::new(false));
            let on_signal = stop.clone();
            ctrlc::set_handler(move || on_signal.store(true, Ordering::Relaxed))
                .context("installing the Ctrl-C handler")?;
            let s = solas_pipeline::mine::work(
                &worker,
                &data.main_target(),
                lightcurves.as_mut(),
                &stop,
            )?;
            println!(
                "{}: {} objects: {} answered, {} failed (their errors kept as answers), {} bad messages skipped",
                worker.name, s.tasks, s.answered, s.failed, s.bad_messages
            );
            Ok(())
        }
        MineAction::Runs { data } => {
            let mut db = solas_store::main_db::connect(&data.main_target())?;
            for r in mining::runs(&mut db)? {
                println!(
                    "run {:>4}  filter {:<4} owner {:<4} {:<4} topic {:<24} {:>8} / {:<8} answered  {}",
                    r.run_id,
                    r.filter_id,
                    r.owner,
                    r.survey.as_str(),
                    r.topic,
                    r.answered,
                    r.objects,
                    r.created
                );
            }
            Ok(())
        }
        MineAction::Results { run, data } => {
            let mut db = solas_store::main_db::connect(&data.main_target())?;
            for r in mining::results(&mut db, run)? {
                let result: serde_json::Value = r
                    .result
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()?
                    .unwrap_or(serde_json::Value::Null);
                println!(
                    "{}",
                    serde_json::json!({
                        "object": r.object, "result": result, "error": r.error, "worker": r.worker,
                    })
                );
            }
            Ok(())
        }
    }
}

fn lightcurves_path(data: &DataArg) -> PathBuf {
    data.data.join("lightcurves.db")
}
