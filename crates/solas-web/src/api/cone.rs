//! `/api/cone/`: the objects within `radius` arcsec of (`ra`, `dec`).
//!
//! Parameters as Lasair's `ConeSerializer`: `ra` [0, 360], `dec` [-90, 90], `radius` ≥ 0
//! (over 1000 is an error), `requestType` one of `nearest`, `all`, `count` (all required).
//! Answers as Lasair-LSST: `all` → `{"objects": [{"object", "separation"}…], "count",
//! "nearest"}`, `nearest` → `{"nearest": {"object", "separation"}}` or `{}`, `count` →
//! `{"count": n}`. Objects are sorted by separation (arcsec); `object` is the exact
//! `diaObjectId` (or the ZTF `objectId`).
//!
//! The search (`solas_export::select::cone`) reads the `htm16` index ranges covering the
//! cone and keeps the rows truly inside it.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use solas_core::Survey;

use crate::auth::AuthUser;
use crate::db::blocking;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::AppState;

pub(crate) const MAX_RADIUS_ARCSEC: f64 = 1000.0;

pub(crate) async fn handle(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let (ra, dec) = super::check_position(&mut c);
    let radius = c.float("radius", None);
    if radius < 0.0 {
        c.fail("radius", "radius must be positive");
    }
    let kind = c.choice("requestType", &["count", "all", "nearest"], None);
    let survey = super::survey(&mut c, state.shared.config.survey);
    c.finish()?;
    if radius > MAX_RADIUS_ARCSEC {
        return Err(ApiError::Bad("Max radius is 1000 arcsec.".into()));
    }
    let shared = state.shared.clone();
    let found = blocking(move || search(&shared.main, survey, ra, dec, radius)).await??;
    let entry =
        |(object, separation): &(Value, f64)| json!({"object": object, "separation": separation});
    Ok(Json(match kind {
        "count" => json!({ "count": found.len() }),
        "nearest" => match found.first() {
            Some(hit) => json!({ "nearest": entry(hit) }),
            None => json!({}),
        },
        _ => json!({
            "objects": found.iter().map(entry).collect::<Vec<_>>(),
            "count": found.len(),
            "nearest": found.first().map(entry).unwrap_or_else(|| json!({})),
        }),
    }))
}

/// (object id as JSON, separation in arcsec) of every object in the cone, nearest first.
pub(crate) fn search(
    main: &crate::db::Pool<solas_store::db::Db>,
    survey: Survey,
    ra: f64,
    dec: f64,
    radius_arcsec: f64,
) -> Result<Vec<(Value, f64)>, ApiError> {
    let mut conn = main.take()?;
    Ok(
        solas_export::select::cone(&mut conn, survey, ra, dec, radius_arcsec)?
            .into_iter()
            .map(|(key, sep)| (crate::db::json_of(&key), sep))
            .collect(),
    )
}
