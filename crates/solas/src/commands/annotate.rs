//! `solas annotator` and `solas annotate`: annotators are topics a user owns; an annotation
//! is that topic's classification of one object, replacing the previous one. A running
//! `solas run` sees new annotations within a second and re-runs the filters that name the
//! annotator for that object.

use anyhow::Context;
use clap::{Args, Subcommand};
use solas_core::Survey;
use solas_store::main_db::annotations::{Annotation, AnnotationStore, Annotator};

use super::filter::{DataArg, SurveyArg};

#[derive(Args, Debug)]
pub struct AnnotatorArgs {
    #[command(subcommand)]
    pub action: AnnotatorAction,
}

#[derive(Subcommand, Debug)]
pub enum AnnotatorAction {
    /// Register an annotator topic for a user (Lasair's vetting step: the operator does it).
    Add {
        topic: String,
        #[arg(long)]
        owner: i64,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value = "")]
        url: String,
        /// Registered but not accepting annotations.
        #[arg(long)]
        inactive: bool,
        /// Hidden from other users' lists (filters may still name it).
        #[arg(long)]
        private: bool,
        #[command(flatten)]
        data: DataArg,
    },
    /// List annotators.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Follow another broker's classification stream on Kafka (JSON or Avro) and store each
    /// record as this annotator's annotation.
    Follow(Box<FollowArgs>),
}

#[derive(Args, Debug)]
pub struct FollowArgs {
    /// The annotator the classifications are stored under (must exist).
    pub topic: String,
    #[arg(long)]
    pub kafka: String,
    /// The Kafka topic to follow.
    #[arg(long = "kafka-topic")]
    pub kafka_topic: String,
    #[arg(long)]
    pub group: String,
    #[arg(long, value_enum, default_value_t = SurveyArg::Ztf)]
    pub survey: SurveyArg,
    /// Field holding the object id (dotted path).
    #[arg(long, default_value = "objectId")]
    pub object_field: String,
    /// Field holding the class.
    #[arg(long, default_value = "class")]
    pub class_field: String,
    #[arg(long)]
    pub version_field: Option<String>,
    #[arg(long)]
    pub explanation_field: Option<String>,
    /// Field holding the class probabilities (default: the record's top-level values).
    #[arg(long)]
    pub classdict_field: Option<String>,
    /// Link per object, `{id}` replaced by the object id.
    #[arg(long)]
    pub url_template: Option<String>,
    /// Stop after this many seconds without a message.
    #[arg(long)]
    pub idle_exit: Option<f64>,
    #[command(flatten)]
    pub schemas: super::SchemaArgs,
    #[command(flatten)]
    pub data: DataArg,
}

#[derive(Args, Debug)]
pub struct AnnotateArgs {
    /// The annotator topic.
    #[arg(long)]
    pub topic: String,
    /// diaObjectId (Rubin) or ZTF objectId.
    #[arg(long)]
    pub object: String,
    #[arg(long, value_enum, default_value_t = SurveyArg::Lsst)]
    pub survey: SurveyArg,
    /// The annotating user (must own the topic).
    #[arg(long)]
    pub user: i64,
    #[arg(long)]
    pub classification: String,
    #[arg(long, default_value = "")]
    pub version: String,
    #[arg(long, default_value = "")]
    pub explanation: String,
    /// A JSON object, e.g. '{"SN Ia": 0.8}'.
    #[arg(long, default_value = "{}")]
    pub classdict: String,
    #[arg(long, default_value = "")]
    pub url: String,
    #[command(flatten)]
    pub data: DataArg,
}

/// The annotation tables of the main database wherever it is (`--main-db` or the data
/// directory's); connecting brings its schema up to date.
fn open(data: &DataArg) -> anyhow::Result<AnnotationStore> {
    let target = data.main_target();
    AnnotationStore::connect(&target).with_context(|| format!("opening the main database {target}"))
}

pub fn annotator(args: AnnotatorArgs) -> anyhow::Result<()> {
    match args.action {
        AnnotatorAction::Add {
            topic,
            owner,
            description,
            url,
            inactive,
            private,
            data,
        } => {
            open(&data)?.add_annotator(&Annotator {
                topic: topic.clone(),
                owner,
                description,
                url,
                active: !inactive,
                public: !private,
            })?;
            println!("annotator {topic} added for user {owner}");
        }
        AnnotatorAction::Follow(f) => follow(*f)?,
        AnnotatorAction::List { data } => {
            for a in open(&data)?.annotators()? {
                println!(
                    "{:<24} owner {:<4} {:<8} {:<7} {}",
                    a.topic,
                    a.owner,
                    if a.active { "active" } else { "inactive" },
                    if a.public { "public" } else { "private" },
                    a.description
                );
            }
        }
    }
    Ok(())
}

pub fn annotate(args: AnnotateArgs) -> anyhow::Result<()> {
    let annotation = Annotation {
        survey: match args.survey {
            SurveyArg::Lsst => Survey::Lsst,
            SurveyArg::Ztf => Survey::Ztf,
        },
        object: args.object.clone(),
        topic: args.topic.clone(),
        version: args.version,
        classification: args.classification,
        explanation: args.explanation,
        classdict: args.classdict,
        url: args.url,
    };
    let seq = open(&args.data)?.annotate(args.user, &annotation)?;
    println!(
        "annotation {seq}: {} on {} stored",
        args.topic.to_ascii_lowercase(),
        args.object
    );
    Ok(())
}

fn follow(f: FollowArgs) -> anyhow::Result<()> {
    use solas_pipeline::classifications::{FollowConfig, Mapping};
    open(&f.data)?; // applies migrations
    let mapping = Mapping {
        annotator: f.topic.clone(),
        survey: match f.survey {
            SurveyArg::Lsst => Survey::Lsst,
            SurveyArg::Ztf => Survey::Ztf,
        },
        object_field: f.object_field,
        class_field: f.class_field,
        version_field: f.version_field,
        explanation_field: f.explanation_field,
        classdict_field: f.classdict_field,
        url_template: f.url_template,
    };
    let config = FollowConfig {
        brokers: f.kafka,
        topic: f.kafka_topic,
        group: f.group,
        idle_exit: f.idle_exit.map(std::time::Duration::from_secs_f64),
        max_messages: None,
        extra: Vec::new(),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("installing the Ctrl-C handler")?;
    let summary = solas_pipeline::classifications::follow(
        &config,
        &mapping,
        &f.data.main_target(),
        &f.schemas.decoder()?,
        &stop,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "{} messages: {} annotations stored, {} records skipped",
        summary.messages, summary.annotations, summary.skipped
    );
    Ok(())
}
