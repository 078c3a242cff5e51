//! The web pages: server-rendered HTML over the same stores the API reads, for people in
//! a browser. Every asset (CSS, JS) is compiled into the binary, so no page needs the
//! internet; the sky view (Aladin Lite) is an optional online extra.
//!
//! Routes: `/` (home), `/objects` (recent objects, paged), `/objects/{id}` (object), `/cutouts/{survey}/{sourceId}/{kind}.png`,
//! `/filters` (list, builder, test, save), `/filters/{id}` (detail, activate),
//! `/watchlists` and `/watchmaps` (list, upload), `/status`, `/login`, `/logout`,
//! `/static/*`, `/metrics`.

pub(crate) mod api_docs;
pub(crate) mod column_notes;
pub(crate) mod detection_table;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod filter_edit;
pub(crate) mod filters;
pub(crate) mod form;
pub(crate) mod home;
pub(crate) mod layout;
pub(crate) mod ledger;
pub(crate) mod login;
pub(crate) mod object;
pub(crate) mod object_summary;
pub(crate) mod profile;
pub(crate) mod recent;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod sky_map;
pub(crate) mod sky_view;
pub(crate) mod status;
pub(crate) mod tags;
pub(crate) mod user_photometry;
pub(crate) mod watch;
pub(crate) mod watch_detail;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

const CSS: &str = include_str!("../../assets/solas.css");
const LIGHTCURVE_JS: &str = include_str!("../../assets/lightcurve.js");
const UPLOAD_JS: &str = include_str!("../../assets/upload.js");
const STAMPS_JS: &str = include_str!("../../assets/stamps.js");
const TABLE_SORT_JS: &str = include_str!("../../assets/table_sort.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `/metrics`: whatever the embedding program plugged in, in the OpenMetrics text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let text = match &state.shared.config.metrics {
        Some(f) => Some(f()),
        // A server without a pipeline of its own shows what the workers on its data
        // directory last reported, each sample labelled with its worker.
        None => {
            let st = state.clone();
            match crate::db::blocking(move || status::workers(&mut *st.shared.main.take()?)).await {
                Ok(Ok(workers)) if !workers.is_empty() => Some(status::labelled_metrics(&workers)),
                _ => None,
            }
        }
    };
    match text {
        Some(t) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            t,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no metrics: no pipeline has run here\n",
        )
            .into_response(),
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::handle))
        .route("/search", get(search::handle))
        .route("/objects", get(recent::handle))
        .route("/objects/{id}", get(object::handle))
        .route("/objects/{id}/export", get(object::export))
        .route("/objects/{id}/photometry", post(user_photometry::upload))
        .route(
            "/objects/{id}/photometry/{upload}/delete",
            post(user_photometry::delete),
        )
        .route("/objects/{id}/tags", post(tags::add))
        .route("/objects/{id}/tags/remove", post(tags::remove))
        .route("/tags", get(tags::list))
        .route("/tags/{tag}", get(tags::objects))
        .route("/cutouts/{survey}/{source}/{kind}", get(object::cutout_png))
        .route("/filters", get(filters::list).post(filters::save))
        .route("/filters/test", post(filters::test))
        .route("/filters/test.csv", post(filter_edit::test_csv))
        .route(
            "/filters/{id}",
            get(filters::detail).post(filter_edit::update),
        )
        .route("/filters/{id}/edit", get(filter_edit::edit))
        .route("/filters/{id}/copy", get(filter_edit::copy))
        .route("/filters/{id}/delete", post(filter_edit::delete))
        .route("/filters/{id}/active", post(filters::set_active))
        .route(
            "/watchlists",
            get(watch::watchlists).post(watch::upload_watchlist),
        )
        .route(
            "/watchmaps",
            get(watch::watchmaps).post(watch::upload_watchmap),
        )
        .route("/watchlists/{id}", get(watch_detail::watchlist))
        .route("/watchmaps/{id}", get(watch_detail::watchmap))
        .route("/watchmaps/{id}/sky.png", get(watch_detail::watchmap_png))
        .route("/ledger/{survey}/{night}", get(ledger::night))
        .route("/ledger/{survey}/{night}/sky.fits", get(ledger::sky))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::detail))
        .route("/events/{id}/sky.png", get(events::sky_png))
        .route("/events/{id}/zoom.png", get(events::zoom_png))
        .route("/watchlists/{id}/delete", post(watch::delete_watchlist))
        .route("/watchmaps/{id}/delete", post(watch::delete_watchmap))
        .route("/status", get(status::handle))
        .route("/docs/api", get(api_docs::handle))
        .route("/login", get(login::get).post(login::post))
        .route("/logout", post(login::logout))
        .route("/profile", get(profile::show))
        .route("/profile/tokens", post(profile::make_token))
        .route("/profile/tokens/{seq}/revoke", post(profile::revoke_token))
        .route("/profile/password", post(profile::change_password))
        .route("/metrics", get(metrics))
        .route(
            "/static/solas.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/static/lightcurve.js",
            get(|| async { asset("text/javascript; charset=utf-8", LIGHTCURVE_JS) }),
        )
        .route(
            "/static/upload.js",
            get(|| async { asset("text/javascript; charset=utf-8", UPLOAD_JS) }),
        )
        .route(
            "/static/stamps.js",
            get(|| async { asset("text/javascript; charset=utf-8", STAMPS_JS) }),
        )
        .route(
            "/static/table_sort.js",
            get(|| async { asset("text/javascript; charset=utf-8", TABLE_SORT_JS) }),
        )
}
