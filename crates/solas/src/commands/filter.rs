//! `solas filter`: user filters. `check` parses a filter, checks it against the whitelist
//! and prints the SQL Solas would run; `add`, `list`, `test`, `activate` and `remove` manage
//! the filters stored in the main database, which the filter stage runs on every batch;
//! `reports` shows owners what went wrong with their filters.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use solas_pipeline::filter::user_filters::check_stored;
use solas_query::{check, Dialect, FilterSpec, NoResources, Resources, Survey};
use solas_store::db::Target;
use solas_store::main_db::filter_resources::DbResources;

#[derive(Args, Debug)]
pub struct FilterArgs {
    #[command(subcommand)]
    pub action: FilterAction,
}

#[derive(Subcommand, Debug)]
pub enum FilterAction {
    /// Check a filter: exit 0 and print the rendered SQL if it is accepted, else print the
    /// error (naming the offending token and its position) and exit 1.
    Check {
        /// The SELECT list, e.g. "objects.diaObjectId, objects.latest_psfFlux".
        #[arg(long, allow_hyphen_values = true)]
        selected: String,
        /// Tables: objects, sherlock_classifications, watchlist:N, watchmap:N, annotator:TOPIC, crossmatch_tns.
        #[arg(long, default_value = "objects")]
        tables: String,
        /// The WHERE clause, optionally followed by ORDER BY.
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        conditions: String,
        /// Which survey's objects table the filter reads.
        #[arg(long, value_enum, default_value_t = SurveyArg::Lsst)]
        survey: SurveyArg,
        /// SQL dialect to print.
        #[arg(long, value_enum, default_value_t = DialectArg::Sqlite)]
        dialect: DialectArg,
        /// Row limit (bound as a parameter).
        #[arg(long, default_value_t = 1000)]
        limit: u64,
        /// Check as this user (their private watchlists and watchmaps are allowed).
        #[arg(long)]
        owner: Option<i64>,
        /// With a data directory, watchlists, watchmaps and annotators are looked up there.
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
    /// Store a filter (checked first). It runs on every batch once active.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, allow_hyphen_values = true)]
        selected: String,
        #[arg(long, default_value = "objects")]
        tables: String,
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        conditions: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, value_enum, default_value_t = SurveyArg::Lsst)]
        survey: SurveyArg,
        /// Owner's user id (users and tokens come with the web site; 0 is the operator).
        #[arg(long, default_value_t = 0)]
        owner: i64,
        #[arg(long)]
        public: bool,
        /// off, alerts, annotations or both.
        #[arg(long, default_value = "alerts")]
        active: String,
        /// none, kafka, kafka-lite, kafka-full, kafka-gcn (GCN notices), email or webhook.
        #[arg(long, default_value = "none")]
        output: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        webhook: Option<String>,
        /// Bytes per UTC day the filter may deliver (-1: unlimited).
        #[arg(long, default_value_t = 100_000_000, allow_hyphen_values = true)]
        byte_quota: i64,
        #[command(flatten)]
        data: DataArg,
    },
    /// List stored filters.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Run a stored filter against every stored object and print the rows (JSON lines).
    Test {
        id: i64,
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Run it as the broker knew things at this MJD (TAI for Rubin, UTC for ZTF): over
        /// the objects detected since --since, each row computed from the sources observed
        /// up to then (the other tables as they are now).
        #[arg(long, value_name = "MJD")]
        as_of: Option<f64>,
        /// With --as-of: the start of the night (default: a day before --as-of).
        #[arg(long, value_name = "MJD", requires = "as_of")]
        since: Option<f64>,
        /// With --as-of: the lightcurves in PostgreSQL (default: <data>/lightcurves.db).
        #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
        lightcurves_db: Option<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Set when a stored filter runs: off, alerts, annotations or both.
    Activate {
        id: i64,
        mode: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a stored filter.
    Remove {
        id: i64,
        #[command(flatten)]
        data: DataArg,
    },
    /// What went wrong with filters (failures, timeouts, delivery errors, quota stops),
    /// newest first.
    Reports {
        /// Only this owner's filters.
        #[arg(long)]
        owner: Option<i64>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Scale-out filter worker: features, watch matching, user filters and delivery for
    /// alerts that `solas context` workers published (the same as `solas process
    /// --classified`). Copies share the consumer group.
    Run(Box<super::run::DownstreamArgs>),
}

/// What a filter may name (watchlists, watchmaps, annotators) in the main database.
fn resources(target: &Target) -> anyhow::Result<DbResources> {
    DbResources::connect(target).with_context(|| format!("opening the main database {target}"))
}

/// The stored filters, in the main database wherever it is (`--main-db` or the data
/// directory's); connecting brings its schema up to date.
fn open_filters(data: &DataArg) -> anyhow::Result<solas_store::main_db::filters::FilterStore> {
    let target = data.main_target();
    solas_store::main_db::filters::FilterStore::connect(&target)
        .with_context(|| format!("opening the main database {target}"))
}

/// Where the stored filters live.
#[derive(Args, Debug, Clone)]
pub struct DataArg {
    #[arg(long, default_value = "./solas-data")]
    pub data: std::path::PathBuf,
    /// The main database in PostgreSQL (a connection string), as the workers were given
    /// it, instead of <data>/solas.db.
    #[arg(long, env = "SOLAS_MAIN_DB")]
    pub main_db: Option<String>,
}

impl DataArg {
    /// The main database named by `--main-db`, if any.
    pub fn main_db_target(&self) -> Option<Target> {
        self.main_db.as_deref().map(Target::parse)
    }

    /// Where the main database is.
    pub fn main_target(&self) -> solas_store::db::Target {
        match &self.main_db {
            Some(s) => solas_store::db::Target::parse(s),
            None => solas_store::db::Target::Sqlite(self.data.join("solas.db")),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SurveyArg {
    Lsst,
    Ztf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DialectArg {
    Sqlite,
    Postgres,
}

pub fn filter(args: FilterArgs) -> anyhow::Result<()> {
    match args.action {
        FilterAction::Check {
            selected,
            tables,
            conditions,
            survey,
            dialect,
            limit,
            owner,
            data,
        } => {
            let spec = FilterSpec {
                selected,
                tables,
                conditions,
            };
            let survey = match survey {
                SurveyArg::Lsst => Survey::Lsst,
                SurveyArg::Ztf => Survey::Ztf,
            };
            let db_resources = match &data {
                Some(d) => Some(resources(&Target::Sqlite(d.join("solas.db")))?),
                None => None,
            };
            let resources: &dyn Resources = match &db_resources {
                Some(r) => r,
                None => &NoResources,
            };
            let checked = check(&spec, survey, owner, resources)
                .map_err(|e| anyhow::anyhow!("filter refused: {e}"))?;
            let dialect = match dialect {
                DialectArg::Sqlite => Dialect::Sqlite,
                DialectArg::Postgres => Dialect::Postgres,
            };
            let rendered = checked.render(dialect, Some(limit), None);
            println!("{}", rendered.sql);
            println!("-- parameters: {:?}", rendered.params);
            println!("-- columns: {}", checked.columns().join(", "));
            Ok(())
        }
        FilterAction::Add {
            name,
            selected,
            tables,
            conditions,
            description,
            survey,
            owner,
            public,
            active,
            output,
            email,
            webhook,
            byte_quota,
            data,
        } => {
            let modes = solas_delivery::OutputMode::ALL.map(|m| m.as_str());
            anyhow::ensure!(
                output.parse::<solas_delivery::OutputMode>().is_ok(),
                "--output must be one of {modes:?}"
            );
            anyhow::ensure!(
                output != "email" || email.is_some(),
                "--output email needs --email"
            );
            anyhow::ensure!(
                output != "webhook" || webhook.is_some(),
                "--output webhook needs --webhook"
            );
            let stored = solas_store::main_db::filters::StoredFilter {
                id: 0,
                owner,
                topic: solas_delivery::topic_name(owner, &name),
                name,
                description,
                selected,
                tables,
                conditions,
                survey: match survey {
                    SurveyArg::Lsst => "lsst".into(),
                    SurveyArg::Ztf => "ztf".into(),
                },
                public,
                active,
                output,
                email,
                webhook_url: webhook,
                byte_quota,
            };
            let mut store = open_filters(&data)?;
            check_stored(&stored, &resources(&data.main_target())?)
                .map_err(|e| anyhow::anyhow!("filter refused: {e}"))?;
            let id = store.add(&stored)?;
            println!(
                "filter {id} stored ({}); topic {}",
                stored.active, stored.topic
            );
            Ok(())
        }
        FilterAction::List { data } => {
            for f in open_filters(&data)?.list()? {
                println!(
                    "{:>4}  {:<24} owner {:<4} {:<6} active={:<11} output={:<10} topic={}",
                    f.id,
                    f.name,
                    f.owner,
                    if f.public { "public" } else { "" },
                    f.active,
                    f.output,
                    f.topic
                );
            }
            Ok(())
        }
        FilterAction::Test {
            id,
            limit,
            as_of,
            since,
            lightcurves_db,
            data,
        } => {
            let stored = open_filters(&data)?
                .get(id)?
                .with_context(|| format!("no filter {id}"))?;
            let target = data.main_target();
            let checked = check_stored(&stored, &resources(&target)?)
                .map_err(|e| anyhow::anyhow!("filter {id} no longer checks: {e}"))?;
            let timeout = std::time::Duration::from_secs(60);
            // Over every stored object (no batch), on a read-only connection.
            let mut runner = solas_store::main_db::filter_runs::FilterRunner::open(&target, None)?;
            let dialect = if runner.is_postgres() {
                solas_query::Dialect::Postgres
            } else {
                solas_query::Dialect::Sqlite
            };
            let night = match as_of {
                Some(mjd) => {
                    let survey = solas_core::Survey::parse(&stored.survey)
                        .unwrap_or(solas_core::Survey::Lsst);
                    let since = since.unwrap_or(mjd - 1.0);
                    let mut lightcurves = solas_store::open_lightcurves(
                        lightcurves_db.as_deref(),
                        &data.data.join("lightcurves.db"),
                    )
                    .context("opening the lightcurves")?;
                    let mut main = solas_store::db::Db::open(&target)?;
                    let rows = solas_store::as_of::rows_of_night(
                        &mut *lightcurves,
                        &mut main,
                        survey,
                        since,
                        mjd,
                    )?;
                    runner.shadow_objects(survey, &rows)?;
                    Some((mjd, since, rows.len()))
                }
                None => None,
            };
            let rendered = checked.render(dialect, Some(limit), None);
            let rows = runner.run(&rendered, &checked.columns(), timeout)?;
            for row in &rows {
                println!("{}", serde_json::Value::Object(row.clone()));
            }
            match night {
                Some((mjd, since, n)) => eprintln!(
                    "{} rows, as of MJD {mjd} over the {n} objects detected since MJD {since}",
                    rows.len()
                ),
                None => eprintln!("{} rows", rows.len()),
            }
            Ok(())
        }
        FilterAction::Activate { id, mode, data } => {
            anyhow::ensure!(
                open_filters(&data)?.set_active(id, &mode)?,
                "no filter {id}"
            );
            println!("filter {id}: active = {mode}");
            Ok(())
        }
        FilterAction::Remove { id, data } => {
            anyhow::ensure!(open_filters(&data)?.remove(id)?, "no filter {id}");
            println!("filter {id} removed");
            Ok(())
        }
        FilterAction::Run(run) => super::run::process(super::run::ProcessArgs {
            classified: true,
            run: *run,
        }),
        FilterAction::Reports { owner, data } => {
            let reports = open_filters(&data)?.reports(owner)?;
            for r in &reports {
                println!(
                    "filter {:<4} owner {:<4} {:<8} ×{:<5} {} .. {}  {}",
                    r.filter_id, r.owner, r.kind, r.count, r.first_at, r.last_at, r.message
                );
            }
            eprintln!("{} report(s)", reports.len());
            Ok(())
        }
    }
}
