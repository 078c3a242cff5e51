//! What a run is given: its input, its role among the workers, where it stores, and the
//! settings of each stage ([`RunConfig`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use solas_store::db::Target;

use crate::stats::Stats;

/// Where alerts come from.
pub enum Input {
    Files(Vec<String>),
    /// Named payloads replayed from memory up to a total count (benchmarks).
    Memory(crate::source::memory::MemorySource),
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
    /// After a new catalogue version, stored objects where it differs are classified
    /// again in the background at most this many a second (0: not at all).
    pub reclassify_per_second: f64,
    /// Trained classifiers run in the filter stage: the built-in ones, plus a folder of
    /// `<name>/model.toml` models (`ModelSet::load_dir`); None runs none.
    pub models: Option<std::sync::Arc<solas_classify::ModelSet>>,
    pub decode_workers: usize,
    /// Threads computing a filter batch's features (each with its own lightcurve reader).
    pub features_workers: usize,
    /// Alerts per lightcurve-store transaction, and the longest a batch's first alert
    /// waits for it to fill (it also closes when the stream pauses).
    pub ingest_batch: usize,
    pub ingest_max_age: Duration,
    /// Alerts per filter batch (Lasair: 10,000).
    pub filter_batch: usize,
    /// A filter batch closes when no alert has come for this long...
    pub filter_idle: Duration,
    /// ...or when its first alert has waited this long.
    pub filter_max_age: Duration,
    /// A Rubin and a ZTF object this close (arcsec) are linked as counterparts (None or
    /// 0: not linked).
    pub counterpart_radius_arcsec: Option<f64>,
    /// Rows per filter run, and how long one filter may run on one batch.
    pub filter_row_limit: u64,
    pub filter_time_limit: Duration,
    /// Where filter results go.
    pub delivery: crate::delivery::DeliveryConfig,
    /// PostgreSQL connection string for the lightcurve store (e.g. `host=db user=solas
    /// dbname=solas`); None keeps it in `<data>/lightcurves.db`.
    pub lightcurves_url: Option<String>,
    /// The main database (objects, classifications, filters, watchlists, annotations,
    /// context cache): a PostgreSQL connection string, shared by every context and filter
    /// worker of a scale-out deployment; None keeps it in `<data>/solas.db`.
    pub main_db: Option<Target>,
    /// On PostgreSQL, the connection string of the read-only role user filters run as
    /// (None: the main database's).
    pub filter_db_url: Option<String>,
    /// `s3://bucket[/prefix]` for cutouts in an S3-compatible store (None: pack files under
    /// `<data>/cutouts`), with its options (endpoint, allow_http, keys, region; the `AWS_*`
    /// environment variables are read too).
    pub cutouts_url: Option<String>,
    pub cutouts_options: Vec<(String, String)>,
    /// A webhook (Slack-compatible: a JSON `{"text": …}` POST) told when the run fails,
    /// when Kafka stays unreachable for `alert_after`, and when a worker on this data
    /// directory stops reporting without a clean exit.
    pub alert_webhook: Option<String>,
    pub alert_after: Duration,
    /// The longest wait between two tries of a write to an unavailable store.
    pub retry_max_backoff: Duration,
    /// Which stages this process runs.
    pub role: Role,
    /// Kafka topic that rejected payloads are also published to, with the reason.
    #[cfg(feature = "kafka")]
    pub dead_letter: Option<crate::publish::PublishConfig>,
    /// Counters to fill (e.g. shared with the `/metrics` endpoint); a fresh set if None.
    pub stats: Option<Arc<Stats>>,
    /// Print a progress line on stderr (only when it is a terminal).
    pub progress: bool,
}

/// Which stages a process runs. The embedded default runs them all; in a scale-out
/// deployment `Ingest` processes publish stored alerts to an internal topic that `Process`
/// processes (context, filter, delivery) consume, each role a consumer group of its own.
#[derive(Debug, Clone, Default)]
pub enum Role {
    #[default]
    All,
    /// Decode, store cutouts and lightcurves, publish the cutout-free alert.
    #[cfg(feature = "kafka")]
    Ingest(crate::publish::PublishConfig),
    /// Read alerts published by ingest workers, classify their context and publish them on
    /// (with the classification) for `Filter` workers.
    #[cfg(feature = "kafka")]
    Context(crate::publish::PublishConfig),
    /// Read published alerts (JSON) and run context, filter and delivery on them; the
    /// lightcurves are already stored.
    Process,
    /// Read alerts published by context workers and run filter and delivery on them.
    Filter,
}

impl Role {
    /// The role's name, as the `solas` subcommand that runs it.
    pub fn name(&self) -> &'static str {
        match self {
            Role::All => "run",
            #[cfg(feature = "kafka")]
            Role::Ingest(_) => "ingest",
            #[cfg(feature = "kafka")]
            Role::Context(_) => "context",
            Role::Process => "process",
            Role::Filter => "filter",
        }
    }

    /// What the role reads: the survey's alerts where they enter, else what the upstream
    /// workers published.
    pub fn payload(&self) -> crate::ingest::decode::Payload {
        if self.stores() {
            crate::ingest::decode::Payload::Survey
        } else {
            crate::ingest::decode::Payload::Published
        }
    }

    /// Whether this role writes lightcurves and cutouts (only where alerts enter).
    pub fn stores(&self) -> bool {
        matches!(self, Role::All) || self.publishes_stored()
    }

    #[cfg(feature = "kafka")]
    fn publishes_stored(&self) -> bool {
        matches!(self, Role::Ingest(_))
    }

    #[cfg(not(feature = "kafka"))]
    fn publishes_stored(&self) -> bool {
        false
    }
}

/// The machine's cores (2 where they cannot be told): the default number of decode and
/// features workers.
pub fn cores() -> usize {
    thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl RunConfig {
    /// Lightcurves in PostgreSQL at `url`, written the way that store is fast: each batch
    /// gathered in the worker (up to 10,000 alerts, or until the stream pauses or the
    /// first alert has waited half a second) and moved in one bulk transfer.
    pub fn lightcurves_in_postgres(&mut self, url: String) {
        self.lightcurves_url = Some(url);
        self.ingest_batch = 10_000;
        self.ingest_max_age = Duration::from_millis(500);
    }

    /// Where the main database is.
    pub fn main_target(&self) -> Target {
        self.main_db
            .clone()
            .unwrap_or_else(|| Target::Sqlite(self.data_dir.join("solas.db")))
    }

    pub fn new(data_dir: &Path, input: Input) -> RunConfig {
        RunConfig {
            data_dir: data_dir.to_path_buf(),
            input,
            schema_dir: None,
            schema_registry: None,
            dust_dir: None,
            catalogue_dir: None,
            reclassify_per_second: 200.0,
            models: Some(solas_classify::ModelSet::shared_builtin()),
            decode_workers: cores(),
            features_workers: cores(),
            ingest_batch: 500,
            ingest_max_age: Duration::from_millis(200),
            filter_batch: 10_000,
            counterpart_radius_arcsec: Some(
                solas_store::main_db::counterparts::DEFAULT_RADIUS_ARCSEC,
            ),
            filter_idle: Duration::from_millis(200),
            filter_max_age: Duration::from_secs(1),
            filter_row_limit: 1000,
            filter_time_limit: Duration::from_secs(5),
            delivery: Default::default(),
            role: Role::All,
            lightcurves_url: None,
            main_db: None,
            filter_db_url: None,
            alert_webhook: None,
            alert_after: Duration::from_secs(60),
            retry_max_backoff: Duration::from_secs(5),
            cutouts_url: None,
            cutouts_options: Vec::new(),
            stats: None,
            #[cfg(feature = "kafka")]
            dead_letter: None,
            progress: true,
        }
    }
}
