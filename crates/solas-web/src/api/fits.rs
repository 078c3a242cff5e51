//! `/fits/<mjd>/<sourceId>_cutout<Type>` (and without the MJD): a stored cutout as a FITS
//! file, where the `imageUrls` of `/api/object/` point, as on Lasair's web server (which
//! serves them without a token too). `Type` is `Science`, `Template` or `Difference`; the
//! survey is the server's unless `?survey=` says otherwise.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use solas_core::{CutoutKind, Survey};

use crate::db::blocking;
use crate::error::ApiError;
use crate::AppState;

#[derive(serde::Deserialize)]
pub(crate) struct SurveyQuery {
    survey: Option<String>,
}

fn parse_name(name: &str) -> Option<(i64, CutoutKind, &'static str)> {
    let name = name.strip_suffix(".fits").unwrap_or(name);
    let (id, kind) = name.split_once("_cutout")?;
    let (kind, label) = match kind {
        "Science" => (CutoutKind::Science, "Science"),
        "Template" => (CutoutKind::Template, "Template"),
        "Difference" => (CutoutKind::Difference, "Difference"),
        _ => return None,
    };
    Some((id.parse().ok()?, kind, label))
}

pub(crate) async fn handle_with_mjd(
    state: State<AppState>,
    Path((_mjd, name)): Path<(String, String)>,
    query: Query<SurveyQuery>,
) -> Result<Response, ApiError> {
    cutout(state, name, query).await
}

pub(crate) async fn handle(
    state: State<AppState>,
    Path(name): Path<String>,
    query: Query<SurveyQuery>,
) -> Result<Response, ApiError> {
    cutout(state, name, query).await
}

async fn cutout(
    State(state): State<AppState>,
    name: String,
    Query(query): Query<SurveyQuery>,
) -> Result<Response, ApiError> {
    let survey = match query.survey.as_deref() {
        None => state.shared.config.survey,
        Some("lsst") => Survey::Lsst,
        Some("ztf") => Survey::Ztf,
        Some(other) => {
            return Err(ApiError::field(
                "survey",
                format!("\"{other}\" is not a valid choice."),
            ))
        }
    };
    let Some((source_id, kind, label)) = parse_name(&name) else {
        return Err(ApiError::NotFound(json!({
            "detail": "Not found: expected <sourceId>_cutout<Science|Template|Difference>."
        })));
    };
    let shared = state.shared.clone();
    let fits = blocking(move || shared.cutouts.get_cutout(survey, source_id, kind)).await??;
    let Some(fits) = fits else {
        return Err(ApiError::NotFound(json!({ "detail": "Not found." })));
    };
    let mut response = (StatusCode::OK, fits).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/fits"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{source_id}_cutout{label}.fits\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            parse_name("169298432598474793_cutoutScience"),
            Some((169298432598474793, CutoutKind::Science, "Science"))
        );
        assert!(parse_name("12_cutoutDifference.fits").is_some());
        assert!(parse_name("12_cutoutOther").is_none());
        assert!(parse_name("x_cutoutScience").is_none());
    }
}
