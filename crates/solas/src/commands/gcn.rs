//! `solas gcn`: GCN notices as events (`solas_pipeline::gcn`): followed from GCN's Kafka
//! topics, or added from files.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use solas_pipeline::gcn::{apply, Applied, GcnKafka, GcnPolicy};

use super::filter::DataArg;

#[derive(Args, Debug)]
pub struct GcnArgs {
    #[command(subcommand)]
    pub action: GcnAction,
}

/// What the follower stores.
#[derive(Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Objects detected this many days after an event are tagged with it.
    #[arg(long, default_value_t = 14.0)]
    pub window_days: f64,
    /// Store test, mock and injected events too (skipped otherwise).
    #[arg(long)]
    pub accept_tests: bool,
}

impl PolicyArgs {
    fn policy(&self) -> anyhow::Result<GcnPolicy> {
        anyhow::ensure!(
            self.window_days.is_finite() && self.window_days > 0.0,
            "--window-days must be positive"
        );
        Ok(GcnPolicy {
            window_days: self.window_days,
            accept_tests: self.accept_tests,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum GcnAction {
    /// Follow GCN notices on Kafka (gcn-schema's JSON topics, LVK's igwn.gwalert): each
    /// becomes an event whose region tags the objects detected within the window.
    Follow {
        /// Bootstrap brokers (GCN's: kafka.gcn.nasa.gov, with OAuth settings given as
        /// --kafka-option).
        #[arg(long)]
        kafka: String,
        /// A topic to follow (repeatable), e.g. gcn.notices.swift.bat.guano, igwn.gwalert.
        #[arg(long = "topic", required = true)]
        topics: Vec<String>,
        #[arg(long)]
        group: String,
        /// Stop when no notice has come for this many seconds and every topic is committed.
        #[arg(long)]
        idle_exit: Option<f64>,
        /// Extra librdkafka setting, KEY=VALUE (repeatable).
        #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
        kafka_options: Vec<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        data: DataArg,
    },
    /// Store the notices of JSON files (one notice a file).
    Add {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        data: DataArg,
    },
}

pub fn gcn(args: GcnArgs) -> anyhow::Result<()> {
    match args.action {
        GcnAction::Follow {
            kafka,
            topics,
            group,
            idle_exit,
            kafka_options,
            policy,
            data,
        } => {
            let policy = policy.policy()?;
            let config = GcnKafka {
                brokers: kafka,
                topics,
                group,
                idle_exit: idle_exit.map(std::time::Duration::from_secs_f64),
                extra: super::run::key_values(&kafka_options, "--kafka-option")?,
            };
            super::watch::open(&data)?; // applies migrations
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let on_signal = stop.clone();
            ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
                .context("installing the Ctrl-C handler")?;
            let s = solas_pipeline::gcn::follow(
                &config,
                &data.main_target(),
                &data.data,
                &policy,
                &stop,
            )?;
            println!(
                "{} notices: {} events located, {} retractions, {} skipped, {} set aside (in {}); {} tags of stored objects",
                s.messages,
                s.located,
                s.retracted,
                s.skipped,
                s.set_aside,
                solas_pipeline::gcn::rejected_dir(&data.data).display(),
                s.stored_objects_tagged
            );
            Ok(())
        }
        GcnAction::Add {
            files,
            policy,
            data,
        } => {
            let policy = policy.policy()?;
            let mut store = super::watch::open(&data)?;
            let mut failed = 0;
            for file in &files {
                let bytes =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let outcome = solas_watch::gcn::parse_notice(&bytes)
                    .map_err(anyhow::Error::from)
                    .and_then(|n| Ok((apply(&mut store, &data.data, &n, &policy)?, n.name)));
                match outcome {
                    Ok((Applied::Located { mw_id, new }, name)) => {
                        // That event alone against the stored objects, as the follower does.
                        let tagged =
                            solas_pipeline::gcn::retro(&data.main_target(), &data.data, mw_id);
                        let what = if new { "stored" } else { "relocated" };
                        println!(
                            "{}: event {mw_id} ({name}) {what}; {tagged} stored objects in its region",
                            file.display()
                        );
                    }
                    Ok((Applied::Retracted { known }, name)) => {
                        let what = if known {
                            "removed with its tags"
                        } else {
                            "not known here"
                        };
                        println!("{}: {name} retracted: {what}", file.display());
                    }
                    Ok((Applied::Skipped(why), _)) => {
                        println!("{}: skipped: {why}", file.display())
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: {e}", file.display());
                    }
                }
            }
            anyhow::ensure!(
                failed == 0,
                "{failed} of {} notices not stored",
                files.len()
            );
            Ok(())
        }
    }
}
