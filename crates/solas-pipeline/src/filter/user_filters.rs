//! Users' filters, run on every batch after its rows are committed (Lasair runs them on the
//! filter node's batch before transferring it), and again for an object when an annotator a
//! filter names annotates it. Each run sees only its objects, returns at most `row_limit`
//! rows and is stopped after `time_limit`; a filter that fails or runs too long is reported
//! in its outcome and the others still run.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use solas_query::{check, CheckedQuery, Dialect, FilterSpec, QueryError, Resources, Survey};
pub use solas_store::main_db::filter_runs::{BatchObjects, ResultRow};
use solas_store::main_db::filter_runs::{FilterRunError, FilterRunner, BATCH_LSST, BATCH_ZTF};

use solas_store::db::Target;
use solas_store::main_db::annotations::{AnnotationEvent, AnnotationStore};
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::StoreError;

/// Why a filter ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// On a batch of alerts.
    Alerts,
    /// On annotations from this annotator topic.
    Annotation(String),
}

/// What one filter did with one batch.
#[derive(Debug)]
pub struct FilterOutcome {
    pub filter: StoredFilter,
    pub trigger: Trigger,
    pub result: Result<Vec<ResultRow>, FilterFailure>,
    pub elapsed: Duration,
}

/// Why a filter produced nothing this time.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterFailure {
    /// It ran past its time limit and was stopped.
    Timeout(String),
    /// It no longer checks (e.g. a watchlist it names was deleted) or the database failed.
    Failed(String),
}

impl FilterFailure {
    pub fn kind(&self) -> &'static str {
        match self {
            FilterFailure::Timeout(_) => "timeout",
            FilterFailure::Failed(_) => "failed",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            FilterFailure::Timeout(m) | FilterFailure::Failed(m) => m,
        }
    }
}

/// Runs the active filters. A database that is unavailable fails the whole call (a
/// transient [`EngineError`]), with nothing of it kept, so that it can be run again: a
/// filter's hits are never lost to an outage, nor counted as the filter's failure.
pub trait FilterEngine: Send {
    /// Every filter active on alerts, over the batch's objects.
    fn run_batch(&mut self, batch: &BatchObjects) -> Result<Vec<FilterOutcome>, EngineError>;
    /// Filters active on annotations, over the objects annotated since the last call by an
    /// annotator they name.
    fn run_annotations(&mut self) -> Result<Vec<FilterOutcome>, EngineError>;
}

/// Why the filter engine could not start, or could not take a batch's objects.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("main database: {0}")]
    Store(#[from] solas_store::StoreError),
    #[error("filter connection: {0}")]
    Runner(#[from] FilterRunError),
}

impl EngineError {
    pub fn kind(&self) -> solas_store::ErrorKind {
        match self {
            EngineError::Store(e) => e.kind(),
            EngineError::Runner(e) => e.kind(),
        }
    }
}

/// Run a checked filter over the runner's batch: rendered for its database, at most
/// `limit` rows, stopped after `timeout`.
pub fn run_on_batch(
    runner: &mut FilterRunner,
    query: &CheckedQuery,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<ResultRow>, FilterFailure> {
    run_checked(runner, query, limit, timeout).map_err(|e| match e {
        FilterRunError::Timeout(_) => FilterFailure::Timeout(e.to_string()),
        other => FilterFailure::Failed(other.to_string()),
    })
}

/// [`run_on_batch`] with the database's own error, which says whether it was unavailable.
fn run_checked(
    runner: &mut FilterRunner,
    query: &CheckedQuery,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<ResultRow>, FilterRunError> {
    let dialect = if runner.is_postgres() {
        Dialect::Postgres
    } else {
        Dialect::Sqlite
    };
    let batch = match query.survey() {
        Survey::Lsst => BATCH_LSST,
        Survey::Ztf => BATCH_ZTF,
    };
    let rendered = query.render(dialect, Some(limit), Some(batch));
    runner.run(&rendered, &query.columns(), timeout)
}

pub use solas_store::main_db::filter_resources::DbResources;

/// The engine over the filters stored in the main database (SQLite or PostgreSQL).
pub struct DbFilterEngine {
    main_db: Target,
    store: FilterStore,
    annotations: AnnotationStore,
    resources: DbResources,
    runner: FilterRunner,
    checked: HashMap<i64, (StoredFilter, Result<CheckedQuery, QueryError>)>,
    refreshed: Option<Instant>,
    pub row_limit: u64,
    pub time_limit: Duration,
}

/// Filters added while running become live within this long.
const REFRESH: Duration = Duration::from_secs(5);
/// Where the engine keeps its place in the annotation log.
const ANNOTATION_CURSOR: &str = "filters.annotations";
/// Annotation events handled per call.
const ANNOTATION_BATCH: usize = 10_000;

/// Check a stored filter as its owner would, against the watchlists, watchmaps and
/// annotators that exist now.
pub fn check_stored(
    f: &StoredFilter,
    resources: &dyn Resources,
) -> Result<CheckedQuery, QueryError> {
    let spec = FilterSpec {
        selected: f.selected.clone(),
        tables: f.tables.clone(),
        conditions: f.conditions.clone(),
    };
    check(&spec, survey_of(f), Some(f.owner), resources)
}

fn survey_of(f: &StoredFilter) -> Survey {
    if f.survey == "ztf" {
        Survey::Ztf
    } else {
        Survey::Lsst
    }
}

impl DbFilterEngine {
    /// The engine over the main database in a SQLite file.
    pub fn open(main_db: &std::path::Path) -> Result<DbFilterEngine, EngineError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()), None)
    }

    /// The engine over the main database at `main_db`. On PostgreSQL, filters run as the
    /// role of `runner_url` when given (a role that may only read the filter tables; see
    /// docs/operations.md), else on the main connection string; always in read-only
    /// transactions with a statement timeout.
    pub fn connect(
        main_db: &Target,
        runner_url: Option<&str>,
    ) -> Result<DbFilterEngine, EngineError> {
        let mut annotations = AnnotationStore::connect(main_db)?;
        // A new database starts following the log at its end: annotations made before the
        // broker first ran are not news.
        if annotations.cursor(ANNOTATION_CURSOR)?.is_none() {
            let end = annotations.last_seq()?;
            annotations.set_cursor(ANNOTATION_CURSOR, end)?;
        }
        let runner = FilterRunner::for_batches(main_db, runner_url)?;
        Ok(DbFilterEngine {
            main_db: main_db.clone(),
            store: FilterStore::connect(main_db)?,
            annotations,
            resources: DbResources::connect(main_db)?,
            runner,
            checked: HashMap::new(),
            refreshed: None,
            row_limit: 1000,
            time_limit: Duration::from_secs(5),
        })
    }

    fn refresh(&mut self) {
        if self.refreshed.is_some_and(|t| t.elapsed() < REFRESH) {
            return;
        }
        self.refreshed = Some(Instant::now());
        match self.store.list() {
            Ok(all) => {
                let mut next = HashMap::new();
                for f in all
                    .into_iter()
                    .filter(|f| f.runs_on_alerts() || f.runs_on_annotations())
                {
                    // Re-checked every refresh: a watchlist it names may have gone private.
                    let checked = check_stored(&f, &self.resources);
                    if let Err(e) = &checked {
                        let was_ok = self
                            .checked
                            .get(&f.id)
                            .is_none_or(|(old, c)| c.is_ok() || *old != f);
                        if was_ok {
                            log::warn!(
                                "filter {} ({}) of user {} no longer checks: {e}",
                                f.id,
                                f.name,
                                f.owner
                            );
                        }
                    }
                    next.insert(f.id, (f, checked));
                }
                self.checked = next;
            }
            Err(e) => log::error!("reading filters from {}: {e}", self.main_db),
        }
    }

    /// Run the chosen filters over the runner's current batch; an unavailable database
    /// fails them all.
    fn run_each(
        &mut self,
        ids: &[i64],
        trigger: &Trigger,
    ) -> Result<Vec<FilterOutcome>, EngineError> {
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            let Some((filter, checked)) = self.checked.get(id) else {
                continue;
            };
            let started = Instant::now();
            let result = match checked {
                Ok(q) => match run_checked(&mut self.runner, q, self.row_limit, self.time_limit) {
                    Err(e) if e.kind() == solas_store::ErrorKind::Transient => return Err(e.into()),
                    Err(e @ FilterRunError::Timeout(_)) => {
                        Err(FilterFailure::Timeout(e.to_string()))
                    }
                    Err(e) => Err(FilterFailure::Failed(e.to_string())),
                    Ok(rows) => Ok(rows),
                },
                Err(e) => Err(FilterFailure::Failed(format!("no longer accepted: {e}"))),
            };
            if let Err(e) = &result {
                log::warn!(
                    "filter {} ({}) of user {}: {}",
                    filter.id,
                    filter.name,
                    filter.owner,
                    e.message()
                );
            }
            outcomes.push(FilterOutcome {
                filter: filter.clone(),
                trigger: trigger.clone(),
                result,
                elapsed: started.elapsed(),
            });
        }
        Ok(outcomes)
    }

    /// Make `batch` the objects the chosen filters run over, with the tables they read.
    fn set_batch(&mut self, ids: &[i64], batch: &BatchObjects) -> Result<(), EngineError> {
        let mut reads = Vec::new();
        for (_, checked) in ids.iter().filter_map(|id| self.checked.get(id)) {
            for q in checked.iter() {
                let survey = q.survey();
                for (kind, col) in q.columns_read() {
                    if !reads.contains(&(survey, kind, col)) {
                        reads.push((survey, kind, col));
                    }
                }
            }
        }
        self.runner.set_reads(&reads);
        Ok(self.runner.set_batch(batch)?)
    }

    fn events(&mut self) -> Result<Vec<AnnotationEvent>, StoreError> {
        let from = self.annotations.cursor(ANNOTATION_CURSOR)?.unwrap_or(0);
        self.annotations.events_after(from, ANNOTATION_BATCH)
    }
}

impl FilterEngine for DbFilterEngine {
    fn run_batch(&mut self, batch: &BatchObjects) -> Result<Vec<FilterOutcome>, EngineError> {
        self.refresh();
        let mut ids: Vec<i64> = self
            .checked
            .values()
            .filter(|(f, _)| f.runs_on_alerts())
            .map(|(f, _)| f.id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ids.sort_unstable();
        self.set_batch(&ids, batch)?;
        self.run_each(&ids, &Trigger::Alerts)
    }

    fn run_annotations(&mut self) -> Result<Vec<FilterOutcome>, EngineError> {
        let events = self.events()?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(Vec::new());
        };
        self.refresh();
        // Objects per (topic, survey), each once.
        let mut touched: BTreeMap<(String, &'static str), BatchObjects> = BTreeMap::new();
        for e in &events {
            let objects = touched
                .entry((e.topic.clone(), e.survey.as_str()))
                .or_default();
            match e.survey {
                solas_core::Survey::Lsst => {
                    if let Ok(id) = e.object.parse() {
                        objects.lsst.push(id);
                    }
                }
                solas_core::Survey::Ztf => objects.ztf.push(e.object.clone()),
            }
        }
        let mut outcomes = Vec::new();
        for ((topic, survey), objects) in touched {
            let mut ids: Vec<i64> = self
                .checked
                .values()
                .filter(|(f, c)| {
                    f.runs_on_annotations()
                        && f.survey == survey
                        && c.as_ref().is_ok_and(|q| q.annotators().contains(&topic))
                })
                .map(|(f, _)| f.id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            ids.sort_unstable();
            self.set_batch(&ids, &objects)?;
            outcomes.extend(self.run_each(&ids, &Trigger::Annotation(topic))?);
        }
        // Only once every filter ran: after a failure the same events are read again.
        self.annotations.set_cursor(ANNOTATION_CURSOR, last)?;
        Ok(outcomes)
    }
}
