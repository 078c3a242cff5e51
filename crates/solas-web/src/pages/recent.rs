//! `/objects?survey=…`: the objects of a survey by last detection, newest first, a page at
//! a time (keyset paging, so page 1,000 costs what page 1 does), each with its context
//! class and latest magnitude; and the same rows for the home page.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use solas_core::Survey;
use solas_store::main_db::overview::{self, After, Recent};

use super::layout::{page, PageError, PageResult};
use super::object_summary::utc;
use super::session::Viewer;
use crate::db::blocking;
use crate::AppState;

/// Rows per page.
const PAGE: i64 = 50;

/// The survey's name for people.
pub(crate) fn survey_label(survey: Survey) -> &'static str {
    match survey {
        Survey::Lsst => "Rubin",
        Survey::Ztf => "ZTF",
    }
}

/// A table of recent objects.
pub(crate) fn recent_table(survey: Survey, rows: &[Recent]) -> Markup {
    html! {
        table.rows.recent data-survey=(survey.as_str()) {
            thead {
                tr {
                    th { "object" } th { "class" } th { "latest mag" } th { "detections" }
                    th { "last detection (UTC)" } th { "RA, Dec (°)" }
                }
            }
            tbody {
                @for o in rows {
                    tr {
                        td { a href={ "/objects/" (o.id) } { (o.id) } }
                        td { (o.class.as_deref().unwrap_or("–")) }
                        td.num {
                            @match o.latest {
                                Some((band, mag)) => { (band) " " (format!("{mag:.2}")) }
                                None => "–",
                            }
                        }
                        td.num { (o.detections) }
                        td { (utc(survey, o.last_mjd).trim_end_matches(" UTC")) }
                        td.num { (format!("{:.5}, {:+.5}", o.ra, o.dec)) }
                    }
                }
            }
        }
    }
}

/// The link to the page after `last`.
fn next_link(survey: Survey, last: &After) -> String {
    let id: String = form_urlencoded::byte_serialize(last.1.as_bytes()).collect();
    // `{}` of an f64 prints the shortest text that reads back as the same number.
    format!(
        "/objects?survey={}&after={}&after_id={id}",
        survey.as_str(),
        last.0
    )
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let survey = match q.get("survey").map(String::as_str) {
        None | Some("lsst") | Some("") => Survey::Lsst,
        Some("ztf") => Survey::Ztf,
        Some(other) => return Err(PageError::bad(format!("survey {other:?} is lsst or ztf"))),
    };
    let after = match (q.get("after"), q.get("after_id")) {
        (Some(t), Some(id)) => Some((
            t.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .ok_or_else(|| PageError::bad("after is the time the previous page ended at"))?,
            id.clone(),
        )),
        _ => None,
    };
    let shared = state.shared.clone();
    let rows = blocking(move || -> Result<Vec<Recent>, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        Ok(overview::recent_objects(
            &mut db,
            survey,
            PAGE,
            after.as_ref(),
        )?)
    })
    .await??;
    let other = match survey {
        Survey::Lsst => Survey::Ztf,
        Survey::Ztf => Survey::Lsst,
    };
    let body = html! {
        p {
            "By last detection, newest first. "
            a href={ "/objects?survey=" (other.as_str()) } { (survey_label(other)) " objects" } "."
        }
        @if rows.is_empty() {
            p.note { "No more objects." }
        } @else {
            (recent_table(survey, &rows))
        }
        p.pager {
            @if q.contains_key("after") {
                a href={ "/objects?survey=" (survey.as_str()) } { "« newest" } " "
            }
            @if rows.len() as i64 == PAGE {
                @if let Some(last) = rows.last() {
                    a #next-page href=(next_link(survey, &last.after)) { "older »" }
                }
            }
        }
    };
    let title = format!("Recent {} objects", survey_label(survey));
    Ok(page(&title, viewer.0.as_ref(), body).into_response())
}
