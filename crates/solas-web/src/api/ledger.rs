//! `/api/ledger/`: the completeness ledger (Solas's own): per night and visit, the alerts
//! each stage got through, the sources later alerts' histories show whose own alerts never
//! came, and the sky covered. `night` (YYYYMMDD) picks one night, `survey` one survey;
//! without them, the newest [`RECENT_NIGHTS`] nights.

use axum::extract::State;
use axum::Json;
use serde_json::Value;
use solas_core::Survey;
use solas_store::main_db::ledger::{self, Night};

use crate::auth::AuthUser;
use crate::db::blocking;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::{AppState, Shared};

/// Nights answered when none is asked for.
pub(crate) const RECENT_NIGHTS: usize = 7;

pub(crate) async fn handle(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let night = c.opt_int("night", Some(19_000_101), Some(99_991_231));
    let survey = match params.get("survey") {
        Some(_) => Some(super::survey(&mut c, state.shared.config.survey)),
        None => None,
    };
    c.finish()?;
    let shared = state.shared.clone();
    let nights = blocking(move || recent(&shared, survey, night, RECENT_NIGHTS)).await??;
    Ok(Json(Value::Array(
        nights.iter().map(ledger::to_json).collect(),
    )))
}

/// The ledger's newest `limit` nights (or the one asked for), late alerts pruned first
/// ([`ledger::recent_nights`]).
pub(crate) fn recent(
    shared: &Shared,
    survey: Option<Survey>,
    night: Option<i64>,
    limit: usize,
) -> Result<Vec<Night>, ApiError> {
    let mut db = shared.main.take()?;
    Ok(shared
        .lightcurves
        .with(|lc| ledger::recent_nights(&mut db, lc.as_mut(), survey, night, limit))??)
}
