//! The routes, and what the endpoints share: which survey a request is about and that
//! survey's table and column names.
//!
//! `/api/` answers for the server's survey (Rubin by default) and `/ztf/api/` for ZTF, as
//! Lasair-ZTF's own API does: the unchanged `lasair` client cannot send a survey, so
//! `lasair_client(token, endpoint="http://HOST/ztf/api")` reaches the ZTF objects (its
//! `objects` table being `ztf_objects`). A `survey` parameter still chooses on either.
//!
//! Every path answers with and without its trailing slash (the `lasair` client always sends
//! the slash). Reading endpoints take GET and POST; the ones that write or take a password
//! (`annotate`, `annotatelist`, `auth-token`) take POST only, as in Lasair. A wrong method
//! gets DRF's 405, an unknown path a JSON 404.

pub(crate) mod annotate;
pub(crate) mod auth_token;
pub(crate) mod cone;
pub(crate) mod export;
pub(crate) mod fits;
pub(crate) mod ledger;
pub(crate) mod object;
pub(crate) mod query;
pub(crate) mod sherlock;

use axum::extract::Request;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde_json::json;
use solas_core::Survey;

use crate::error::ApiError;
use crate::params::Check;
use crate::AppState;

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed(req.method().to_string())
}

pub(crate) fn routes() -> Router<AppState> {
    let ztf = endpoints().layer(axum::Extension(crate::params::BaseSurvey(Survey::Ztf)));
    endpoints()
        .nest("/ztf", ztf)
        .route(
            "/api/openapi.json",
            get(crate::openapi::handle).fallback(method_not_allowed),
        )
        .route("/fits/{name}", get(fits::handle))
        .route("/fits/{mjd}/{name}", get(fits::handle_with_mjd))
}

/// `/api/`: the endpoints, for people and programs that land on the base path.
async fn index(uri: axum::extract::OriginalUri) -> axum::Json<serde_json::Value> {
    // The original path: under `/ztf` (nested) the path seen here has lost its prefix.
    let base = if uri.path().starts_with("/ztf/") {
        "/ztf/api/"
    } else {
        "/api/"
    };
    // The OpenAPI document's endpoints, under this base path.
    let endpoints: Vec<serde_json::Value> = crate::openapi::ENDPOINTS
        .iter()
        .map(|e| {
            let path = e.path.trim_start_matches("/api/");
            let methods: Vec<String> = e.methods.iter().map(|m| m.to_uppercase()).collect();
            json!({ "path": format!("{base}{path}"), "methods": methods, "about": e.summary })
        })
        .collect();
    axum::Json(json!({
        "endpoints": endpoints,
        "openapi": "/api/openapi.json",
        "auth": "Authorization: Token <your token> (from your profile, or POST auth-token/)",
        "client": format!("pip install lasair; from lasair import lasair_client; L = lasair_client(token, endpoint='https://HOST{}')", base.trim_end_matches('/')),
    }))
}

/// The API's endpoints under `/api/`.
fn endpoints() -> Router<AppState> {
    let endpoints: Vec<(&str, MethodRouter<AppState>)> = vec![
        ("/api/cone", get(cone::handle).post(cone::handle)),
        ("/api/query", get(query::handle).post(query::handle)),
        ("/api/object", get(object::handle).post(object::handle)),
        ("/api/export", get(export::handle).post(export::handle)),
        ("/api/ledger", get(ledger::handle).post(ledger::handle)),
        (
            "/api/sherlock/object",
            get(sherlock::object).post(sherlock::object),
        ),
        (
            "/api/sherlock/position",
            get(sherlock::position).post(sherlock::position),
        ),
        ("/api/annotate", post(annotate::annotate)),
        ("/api/annotatelist", post(annotate::annotate_list)),
        ("/api/auth-token", post(auth_token::handle)),
    ];
    let mut router = Router::new()
        .route("/api", get(index).fallback(method_not_allowed))
        .route("/api/", get(index).fallback(method_not_allowed));
    for (path, methods) in endpoints {
        let methods = methods.fallback(method_not_allowed);
        router = router
            .route(path, methods.clone())
            .route(&format!("{path}/"), methods);
    }
    router
}

/// The survey a request is about: its `survey` parameter, else its base path's
/// (`/ztf/api/`), else the server's.
pub(crate) fn survey(c: &mut Check<'_>, server: Survey) -> Survey {
    let default = c.base_survey().unwrap_or(server);
    match c.choice("survey", &["lsst", "ztf"], Some(default.as_str())) {
        "ztf" => Survey::Ztf,
        "lsst" => Survey::Lsst,
        _ => default,
    }
}

/// An object id as the survey keys it: a Rubin `diaObjectId` (64-bit integer) or a ZTF
/// name. The text must be exactly one of those.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ObjectId {
    Lsst(i64),
    Ztf(String),
}

impl ObjectId {
    pub(crate) fn parse(survey: Survey, text: &str) -> Result<ObjectId, String> {
        let text = text.trim();
        match survey {
            Survey::Lsst => text
                .parse::<i64>()
                .map(ObjectId::Lsst)
                .map_err(|_| format!("{text:?} is not a diaObjectId (a 64-bit integer)")),
            Survey::Ztf => solas_core::ObjectKey::ztf(text)
                .map(|_| ObjectId::Ztf(text.to_string()))
                .map_err(|_| format!("{text:?} is not a ZTF objectId (like ZTF21abiuvdk)")),
        }
    }

    /// As JSON: an exact integer or the name.
    pub(crate) fn json(&self) -> serde_json::Value {
        match self {
            ObjectId::Lsst(id) => json!(id),
            ObjectId::Ztf(name) => json!(name),
        }
    }

    pub(crate) fn key(&self) -> Result<solas_core::ObjectKey, String> {
        match self {
            ObjectId::Lsst(id) => Ok(solas_core::ObjectKey::lsst(*id)),
            ObjectId::Ztf(name) => solas_core::ObjectKey::ztf(name).map_err(|e| e.to_string()),
        }
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectId::Lsst(id) => write!(f, "{id}"),
            ObjectId::Ztf(name) => f.write_str(name),
        }
    }
}

/// Check a position the way Lasair's serializers do (ra in [0, 360], dec in [-90, 90]).
pub(crate) fn check_position(c: &mut Check<'_>) -> (f64, f64) {
    let ra = c.float("ra", None);
    if ra.is_finite() && !(0.0..=360.0).contains(&ra) {
        c.fail("ra", "ra must be between 0 and 360");
    }
    let dec = c.float("dec", None);
    if dec.is_finite() && !(-90.0..=90.0).contains(&dec) {
        c.fail("dec", "dec must be between -90 and 90");
    }
    (ra, dec)
}
