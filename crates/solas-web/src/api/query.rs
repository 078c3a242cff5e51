//! `/api/query/`: run a filter (Lasair's `selected`, `tables`, `conditions`) once over the
//! whole main database and return the rows.
//!
//! Parameters as Lasair's `QuerySerializer`: `selected` (≤ 4096 characters), `tables`
//! (≤ 1024), `conditions` (≤ 4096, may be blank), `limit` (≤ 1,000,000, default 1000),
//! `offset` (default 0). The rows returned are capped by the caller's class (1,000 for the
//! public token, 10,000 for users, 1,000,000 for power users) whatever `limit` says.
//!
//! The filter goes through `solas-query`'s parser and whitelist with the caller's user id,
//! so other users' private watchlists and watchmaps are refused; it runs on a read-only
//! connection to `solas.db` only (users and tokens live elsewhere), with the row limit and
//! offset as bound parameters and a time limit (SQLite's progress handler interrupts it).
//! Lasair's REST query has no time limit; Solas stops a query at
//! `ServeConfig::query_time_limit`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::{Map, Value};
use solas_core::Survey;
use solas_query::{Dialect, FilterSpec, Param};

use crate::auth::AuthUser;
use crate::db::blocking;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::{AppState, Shared};
use solas_store::db::Target;
use solas_store::main_db::filter_runs::{FilterRunError, FilterRunner};

pub(crate) const DEFAULT_LIMIT: i64 = 1000;
pub(crate) const MAX_LIMIT: i64 = 1_000_000;

/// One running query, counted while it runs (on the blocking thread, so a client that
/// hangs up does not make the count forget a query still running).
pub(crate) struct Running(Arc<Shared>);

impl Running {
    pub(crate) fn start(shared: &Arc<Shared>) -> Result<Running, ApiError> {
        let max = shared.config.max_running_queries.max(1);
        let before = shared.running_queries.fetch_add(1, Ordering::SeqCst);
        let running = Running(shared.clone());
        if before >= max {
            return Err(ApiError::Busy);
        }
        Ok(running)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running_queries.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let spec = FilterSpec {
        selected: c.text("selected", 4096, false, None),
        tables: c.text("tables", 1024, false, None),
        conditions: c.text("conditions", 4096, true, None),
    };
    let limit = c.opt_int("limit", Some(0), Some(MAX_LIMIT));
    let offset = c.opt_int("offset", Some(0), None);
    let survey = super::survey(&mut c, state.shared.config.survey);
    c.finish()?;
    let limit = limit
        .unwrap_or(DEFAULT_LIMIT)
        .min(user.class.query_max_rows());
    let offset = offset.unwrap_or(0);
    let running = Running::start(&state.shared)?;
    let shared = state.shared.clone();
    let rows = blocking(move || {
        let _running = running;
        run(
            &shared.config,
            &spec,
            survey,
            user.id,
            limit,
            offset,
            shared.config.query_time_limit,
        )
    })
    .await??;
    Ok(Json(Value::Array(
        rows.into_iter().map(Value::Object).collect(),
    )))
}

/// Check and run a filter for `user`, returning rows `offset..offset+limit`.
pub(crate) fn run(
    config: &crate::ServeConfig,
    spec: &FilterSpec,
    survey: Survey,
    user: i64,
    limit: i64,
    offset: i64,
    timeout: Duration,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let main_db = &config.main_target();
    let resources = solas_store::main_db::filter_resources::DbResources::connect(main_db)?;
    let survey = match survey {
        Survey::Lsst => solas_query::Survey::Lsst,
        Survey::Ztf => solas_query::Survey::Ztf,
    };
    let checked = solas_query::check(spec, survey, Some(user), &resources)
        .map_err(|e| ApiError::Bad(e.to_string()))?;
    let limit = u64::try_from(limit).unwrap_or(0);
    let dialect = match main_db {
        Target::Sqlite(_) => Dialect::Sqlite,
        Target::Postgres(_) => Dialect::Postgres,
    };
    let mut rendered = checked.render(dialect, Some(limit), None);
    // The renderer ends the statement with `LIMIT ?n`; the page's offset follows it, also
    // bound, so no user text reaches the SQL.
    rendered.params.push(Param::Int(offset));
    let n = rendered.params.len();
    rendered.sql.push_str(&match dialect {
        Dialect::Sqlite => format!(" OFFSET ?{n}"),
        Dialect::Postgres => format!(" OFFSET ${n}"),
    });
    let names = checked.columns();
    let stopped = || {
        ApiError::Bad(format!(
            "Your query ran longer than {} s and was stopped. Narrow the conditions or ask for fewer rows.",
            timeout.as_secs_f64()
        ))
    };
    let failed =
        |e: &dyn std::fmt::Display| ApiError::Bad(format!("Your query returned the error: {e}"));
    // Filters' connection: read-only (on PostgreSQL as the filter role, if one is given).
    let mut runner =
        FilterRunner::open(main_db, config.filter_db_url.as_deref()).map_err(ApiError::internal)?;
    match runner.run(&rendered, &names, timeout) {
        Ok(rows) => Ok(rows),
        Err(FilterRunError::Timeout(_)) => Err(stopped()),
        Err(e) => Err(failed(&e)),
    }
}
