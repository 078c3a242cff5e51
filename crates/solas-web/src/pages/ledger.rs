//! `/ledger/{survey}/{night}`: one night of the completeness ledger, as the status page's
//! row for it links: every visit with the alerts each stage got through (a short visit
//! first and highlighted), the sources later alerts' histories show whose own alerts never
//! came, and the night's sky as a MOC to download (`/ledger/{survey}/{night}/sky.fits`).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use maud::{html, Markup};
use solas_core::Survey;
use solas_store::main_db::ledger::{self, Night, Step, VisitRow};

use super::layout::{page, PageError, PageResult};
use super::session::Viewer;
use crate::db::blocking;
use crate::AppState;

fn survey_of(text: &str) -> Result<Survey, PageError> {
    Survey::parse(text)
        .ok_or_else(|| PageError::not_found(format!("No survey {text:?}: lsst or ztf.")))
}

/// 20250905 → "2025-09-05".
pub(crate) fn night_text(night: i64) -> String {
    format!(
        "{}-{:02}-{:02}",
        night / 10_000,
        night / 100 % 100,
        night % 100
    )
}

pub(crate) async fn night(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((survey, night)): Path<(String, i64)>,
) -> PageResult {
    let survey = survey_of(&survey)?;
    let shared = state.shared.clone();
    let found = blocking(move || crate::api::ledger::recent(&shared, Some(survey), Some(night), 1))
        .await??;
    let Some(n) = found.into_iter().next() else {
        return Err(PageError::not_found(format!(
            "The ledger has no {} night {}.",
            survey.as_str(),
            night_text(night)
        )));
    };
    let title = format!(
        "Completeness of {} on the night of {}",
        match survey {
            Survey::Lsst => "Rubin",
            Survey::Ztf => "ZTF",
        },
        night_text(n.night)
    );
    Ok(page(&title, viewer.0.as_ref(), body(&n)).into_response())
}

fn body(n: &Night) -> Markup {
    let short = n.short_visits();
    let cell = |v: &VisitRow, s: Step| n.count_of(v, s).map_or("–".into(), |c| c.to_string());
    // Short visits first, then the rest in time order.
    let mut rows: Vec<&VisitRow> = short.clone();
    rows.extend(n.visits.iter().filter(|v| !short.contains(v)));
    html! {
        p #ledger-summary {
            (n.visits.len()) " visits, " (n.total(Step::Decoded)) " alerts decoded; "
            @if short.is_empty() { "no visit lost an alert." }
            @else { strong { (short.len()) " visit(s) lost alerts" } " (listed first)." }
            @if let Some(a) = n.sky_deg2 {
                " Sky covered: " (format!("{a:.1}")) " deg² ("
                a href={ "/ledger/" (n.survey.as_str()) "/" (n.night) "/sky.fits" } { "MOC, FITS" } ")."
            }
        }
        p.note { "A visit is Rubin's visit or ZTF's field on the night. – : no worker ran the stage. "
            "Missing: sources later alerts carry in their histories whose own alerts never came." }
        table.rows #ledger-visits {
            thead { tr {
                th { (if n.survey == Survey::Ztf { "field" } else { "visit" }) } th { "MJD" } th { "decoded" } th { "stored" } th { "classified" }
                th { "filtered" } th { "delivered" } th { "missing (source ids)" }
            } }
            tbody {
                @for v in rows {
                    tr.short[short.contains(&v)] {
                        td { (v.key.visit) }
                        td.num { (v.mjd.map_or("–".into(), |m| format!("{m:.5}"))) }
                        td.num { (cell(v, Step::Decoded)) } td.num { (cell(v, Step::Stored)) }
                        td.num { (cell(v, Step::Classified)) } td.num { (cell(v, Step::Filtered)) }
                        td.num { (cell(v, Step::Delivered)) }
                        td { (ledger::id_list(&v.missing, 20)) }
                    }
                }
            }
        }
        @if !n.unreceived.is_empty() {
            h2 { "Exposures none of whose alerts came" }
            table.rows #ledger-unreceived {
                thead { tr { th { "MJD" } th { "sources known from later alerts' histories" } } }
                tbody {
                    @for (mjd, sources) in &n.unreceived {
                        tr { td.num { (format!("{mjd:.5}")) } td { (ledger::id_list(sources, 20)) } }
                    }
                }
            }
        }
        p.note { "The same as JSON: " code { "/api/ledger/?night=" (n.night) "&survey=" (n.survey.as_str()) }
            "; from the command line: " code { "solas ledger --night " (n.night) " --survey " (n.survey.as_str()) " --all" } "." }
    }
}

/// The night's sky, a FITS MOC.
pub(crate) async fn sky(
    State(state): State<AppState>,
    Path((survey, night)): Path<(String, i64)>,
) -> PageResult {
    let survey = survey_of(&survey)?;
    let shared = state.shared.clone();
    let fits = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        Ok(ledger::sky_fits(&mut db, survey, night)?)
    })
    .await??;
    let Some(fits) = fits else {
        return Err(PageError::not_found("No sky recorded for that night."));
    };
    let name = format!(
        "attachment; filename=\"solas-sky-{}-{night}.fits\"",
        survey.as_str()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/fits".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        fits,
    )
        .into_response())
}
