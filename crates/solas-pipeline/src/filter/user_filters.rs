//! Users' filters, run on every batch after its rows are committed (Lasair runs them on the
//! filter node's batch before transferring it): each active filter sees only the batch's
//! objects, returns at most `row_limit` rows, and is stopped after `time_limit`. A filter
//! that fails or runs too long is reported and skipped; the others still run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use solas_query::run_sqlite::{BatchObjects, ResultRow, SqliteRunner};
use solas_query::{check, CheckedQuery, FilterSpec, QueryError, Resources, Survey};
use solas_store::sqlite::filters::{FilterStore, StoredFilter};

/// What one filter did with one batch.
#[derive(Debug)]
pub struct FilterOutcome {
    pub filter: StoredFilter,
    pub result: Result<Vec<ResultRow>, String>,
    pub elapsed: Duration,
}

/// Runs the active filters on a batch.
pub trait FilterEngine: Send {
    fn run_batch(&mut self, batch: &BatchObjects) -> Vec<FilterOutcome>;
}

/// The embedded engine: filters stored in the SQLite main database, run on a read-only
/// connection to it.
pub struct SqliteFilterEngine {
    main_db: PathBuf,
    store: FilterStore,
    runner: SqliteRunner,
    checked: HashMap<i64, (StoredFilter, Result<CheckedQuery, QueryError>)>,
    refreshed: Option<Instant>,
    pub row_limit: u64,
    pub time_limit: Duration,
}

/// Filters added while running become live within this long.
const REFRESH: Duration = Duration::from_secs(5);

/// Until watchlists, watchmaps and annotators exist, filters naming them are refused.
pub struct NoResources;

impl Resources for NoResources {
    fn watchlist_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
        Ok(false)
    }
    fn watchmap_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
        Ok(false)
    }
    fn annotator_exists(&self, _: &str) -> Result<bool, QueryError> {
        Ok(false)
    }
}

/// Check a stored filter as its owner.
pub fn check_stored(f: &StoredFilter) -> Result<CheckedQuery, QueryError> {
    let survey = if f.survey == "ztf" {
        Survey::Ztf
    } else {
        Survey::Lsst
    };
    let spec = FilterSpec {
        selected: f.selected.clone(),
        tables: f.tables.clone(),
        conditions: f.conditions.clone(),
    };
    check(&spec, survey, Some(f.owner), &NoResources)
}

impl SqliteFilterEngine {
    pub fn open(main_db: &Path) -> Result<SqliteFilterEngine, String> {
        Ok(SqliteFilterEngine {
            main_db: main_db.to_path_buf(),
            store: FilterStore::open(main_db).map_err(|e| e.to_string())?,
            runner: SqliteRunner::open(main_db).map_err(|e| e.to_string())?,
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
        match self.store.active_on_alerts() {
            Ok(active) => {
                let mut next = HashMap::new();
                for f in active {
                    // Re-check only what changed.
                    let entry = match self.checked.remove(&f.id) {
                        Some((old, checked)) if old == f => (old, checked),
                        _ => {
                            let checked = check_stored(&f);
                            if let Err(e) = &checked {
                                log::warn!(
                                    "filter {} ({}) of user {} no longer checks: {e}",
                                    f.id,
                                    f.name,
                                    f.owner
                                );
                            }
                            (f, checked)
                        }
                    };
                    next.insert(entry.0.id, entry);
                }
                self.checked = next;
            }
            Err(e) => log::error!("reading filters from {}: {e}", self.main_db.display()),
        }
    }
}

impl FilterEngine for SqliteFilterEngine {
    fn run_batch(&mut self, batch: &BatchObjects) -> Vec<FilterOutcome> {
        self.refresh();
        if self.checked.is_empty() {
            return Vec::new();
        }
        if let Err(e) = self.runner.set_batch(batch) {
            log::error!("filters skipped for this batch: {e}");
            return Vec::new();
        }
        let mut ids: Vec<i64> = self.checked.keys().copied().collect();
        ids.sort_unstable();
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            let Some((filter, checked)) = self.checked.get(&id) else {
                continue;
            };
            let started = Instant::now();
            let result = match checked {
                Ok(q) => self
                    .runner
                    .run(q, true, self.row_limit, self.time_limit)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = &result {
                log::warn!(
                    "filter {} ({}) of user {}: {e}",
                    filter.id,
                    filter.name,
                    filter.owner
                );
            }
            outcomes.push(FilterOutcome {
                filter: filter.clone(),
                result,
                elapsed: started.elapsed(),
            });
        }
        outcomes
    }
}
