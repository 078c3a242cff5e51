//! `/api/sherlock/object/` and `/api/sherlock/position/`: the context classification of an
//! object or a position, computed now against the loaded catalogues (Lasair proxies these
//! to its Sherlock service, which runs the classifier live too).
//!
//! Answers in the shape of Lasair's Sherlock service: `{"classifications": {<name>:
//! [<class>, <description>]}, "crossmatches": [...]}`, each crossmatch with Lasair's
//! `sherlock_classifications` column names, its `rank` and `transient_object_id`. The name
//! is the object id for an object and `query0` for a position, as Lasair's service names
//! unnamed positions. With `lite` only the top-ranked crossmatch is returned (what
//! Sherlock's lite mode means; Lasair's service compares the flag to the word "lite" and so
//! ignores it as sent by its own web server).
//!
//! Positions are classified at today's epoch: stars with proper motions are matched where
//! they are now (the pipeline matches them where they were at each alert).
//!
//! An object not in the database is a 404 `{"message": "Object <id> not found"}`; a server
//! without catalogues answers 400, as a Lasair cluster without a Sherlock service does.

use std::path::Path;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use solas_catalogue::Store;

use super::ObjectId;
use crate::auth::AuthUser;
use crate::db::blocking;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::AppState;

/// The catalogue store, searched by `solas_context::classify`.
pub(crate) struct Catalogues(Store);

impl Catalogues {
    /// The store in `dir`, if it exists and holds at least one catalogue. (An empty store
    /// would call everything ORPHAN, which would be wrong rather than unknown.)
    pub(crate) fn open(dir: &Path) -> Result<Option<Catalogues>, solas_catalogue::CatalogueError> {
        if !dir.is_dir() {
            return Ok(None);
        }
        let store = Store::open(dir)?;
        Ok((!store.catalogues().is_empty()).then_some(Catalogues(store)))
    }

    pub(crate) fn count(&self) -> usize {
        self.0.catalogues().len()
    }

    /// Every crossmatch of a named position, best first (what `lite=true` cuts to one).
    pub(crate) fn crossmatches(&self, name: &str, ra: f64, dec: f64) -> Vec<Value> {
        match self
            .answer(name, ra, dec, false)
            .get_mut("crossmatches")
            .map(Value::take)
        {
            Some(Value::Array(all)) => all,
            _ => Vec::new(),
        }
    }

    /// Lasair's Sherlock answer for one named position.
    pub(crate) fn answer(&self, name: &str, ra: f64, dec: f64, lite: bool) -> Value {
        // Today: stars with proper motions are matched where they are now, as the
        // pipeline matches them where they were at each alert.
        let epoch = solas_context::today_mjd().map(solas_context::julian_year);
        let result = solas_context::classify_at(&self.0, ra, dec, epoch);
        let mut crossmatches: Vec<Value> = result
            .matches
            .iter()
            .take(if lite { 1 } else { usize::MAX })
            .map(|m| {
                let mut v = m.to_json();
                v["transient_object_id"] = json!(name);
                v
            })
            .collect();
        // Sherlock lists the crossmatches by rank, best first.
        crossmatches.sort_by_key(|m| m["rank"].as_i64().unwrap_or(i64::MAX));
        json!({
            "classifications": { name: [result.classification.as_str(), result.description] },
            "crossmatches": crossmatches,
        })
    }
}

fn no_sherlock() -> ApiError {
    ApiError::Bad(
        "This Solas server has no catalogues loaded, so it has no Sherlock service \
         (load some with `solas catalogue add`)"
            .into(),
    )
}

pub(crate) async fn object(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let survey = super::survey(&mut c, state.shared.config.survey);
    // Lasair-LSST's objectId is an IntegerField; ZTF's are names.
    let id = match survey {
        solas_core::Survey::Lsst => {
            let n = c.int("objectId");
            ObjectId::Lsst(n)
        }
        solas_core::Survey::Ztf => {
            let text = c.text("objectId", 256, false, None);
            match ObjectId::parse(survey, &text) {
                Ok(id) => id,
                Err(message) => {
                    if c.ok() {
                        c.fail("objectId", message);
                    }
                    ObjectId::Ztf(text)
                }
            }
        }
    };
    let lite = c.boolean("lite", false);
    c.finish()?;
    if state.shared.sherlock.is_none() {
        return Err(no_sherlock());
    }
    let shared = state.shared.clone();
    let answer = blocking(move || -> Result<Value, ApiError> {
        let key = id.key().map_err(ApiError::Bad)?;
        let mut main = shared.main.take()?;
        let position = solas_store::main_db::object_view::position(&mut main, survey, &key)?;
        let Some((Some(ra), Some(dec))) = position else {
            return Err(ApiError::NotFound(
                json!({ "message": format!("Object {id} not found") }),
            ));
        };
        let catalogues = shared.sherlock.as_ref().ok_or_else(no_sherlock)?;
        Ok(catalogues.answer(&id.to_string(), ra, dec, lite))
    })
    .await??;
    Ok(Json(answer))
}

pub(crate) async fn position(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let (ra, dec) = super::check_position(&mut c);
    let lite = c.boolean("lite", false);
    c.finish()?;
    if state.shared.sherlock.is_none() {
        return Err(no_sherlock());
    }
    let shared = state.shared.clone();
    let answer = blocking(move || {
        shared
            .sherlock
            .as_ref()
            .map(|catalogues| catalogues.answer("query0", ra, dec, lite))
            .ok_or_else(no_sherlock)
    })
    .await??;
    Ok(Json(answer))
}
