//! The home page: counts of what is stored (kept counters, not scans), the search box, a
//! sky map of the recent objects, and the most recently detected objects of each survey
//! with their class and latest magnitude, linking to the paged list and object pages.

use axum::extract::State;
use axum::response::IntoResponse;
use solas_core::Survey;
use solas_store::db::Db;
use solas_store::main_db::overview::{self, Shared};

use maud::html;

use super::layout::{page, PageResult};
use super::recent::{recent_table, survey_label};
use super::session::Viewer;
use super::sky_map::{sky_map, Layer};
use crate::db::blocking;
use crate::AppState;

/// A number with thousands separators.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A table's rows: its kept count (`solas_store::row_counts`), or where it has none (a
/// table no trigger counts) a `count(*)`.
pub(crate) fn rows(
    db: &mut Db,
    kept: &std::collections::HashMap<String, i64>,
    table: &str,
) -> Result<Option<i64>, solas_store::StoreError> {
    match kept.get(table) {
        Some(n) => Ok(Some(*n)),
        None => db.count_rows(table),
    }
}

/// How many recent objects each survey shows on the home page.
const HOME_ROWS: i64 = 10;

/// The sky map shows each survey's objects detected last, this many at most.
const MAP_DOTS: i64 = 1000;

type Dots = Vec<(String, f64, f64)>;

struct Home {
    counts: Vec<(&'static str, Option<i64>)>,
    recent: Vec<(Survey, Vec<overview::Recent>)>,
    /// Per survey, the sky map's dots: (id, RA, Dec).
    map: Vec<(Survey, Dots)>,
}

fn gather(state: &AppState, viewer: Option<i64>) -> Result<Home, crate::error::ApiError> {
    let mut main = state.shared.main.take()?;
    let mut lc = Db::open(&state.shared.config.lightcurve_target())?;
    // Filters and watchlists count only what the viewer may see: their own and public.
    let mut visible = |what: Shared| overview::visible_count(&mut main, what, viewer).map(Some);
    let (filters, watchlists, watchmaps) = (
        visible(Shared::Filters)?,
        visible(Shared::Watchlists)?,
        visible(Shared::Watchmaps)?,
    );
    let (main_kept, lc_kept) = (
        solas_store::row_counts::row_counts(&mut main)?,
        solas_store::row_counts::row_counts(&mut lc)?,
    );
    let counts = vec![
        ("Rubin objects", rows(&mut main, &main_kept, "objects")?),
        ("ZTF objects", rows(&mut main, &main_kept, "ztf_objects")?),
        ("Detections stored", rows(&mut lc, &lc_kept, "detections")?),
        (
            "Forced photometry",
            rows(&mut lc, &lc_kept, "forced_photometry")?,
        ),
        ("Filters", filters),
        ("Watchlists", watchlists),
        ("Watchmaps", watchmaps),
    ];
    let mut recent = Vec::new();
    let mut map = Vec::new();
    for survey in [Survey::Lsst, Survey::Ztf] {
        // One read serves both: the map's objects, the newest of which the list shows.
        let mut rows = overview::recent_objects(&mut main, survey, MAP_DOTS, None)?;
        let dots = rows
            .iter()
            .filter(|o| o.ra.is_finite() && o.dec.is_finite())
            .map(|o| (o.id.clone(), o.ra, o.dec))
            .collect();
        rows.truncate(HOME_ROWS as usize);
        recent.push((survey, rows));
        map.push((survey, dots));
    }
    Ok(Home {
        counts,
        recent,
        map,
    })
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let id = viewer.user_id();
    let home = blocking(move || gather(&st, id)).await??;
    let layers: Vec<Layer> = home
        .map
        .iter()
        .map(|(survey, objects)| Layer {
            label: survey_label(*survey),
            class: match survey {
                Survey::Lsst => "rubin",
                Survey::Ztf => "ztf",
            },
            objects: objects.clone(),
        })
        .collect();
    let body = html! {
        section.counts {
            @for (label, n) in &home.counts {
                div.count {
                    span.n { (n.map_or("–".to_string(), thousands)) }
                    span.label { (label) }
                }
            }
        }
        (super::search::search_box("", 5.0))
        h2 { "Where the recent objects are" }
        (sky_map(&layers, &format!("Each survey's objects detected last ({MAP_DOTS} at most)."), None))
        @for (survey, rows) in &home.recent {
            h2 { "Recent " (survey_label(*survey)) " objects" }
            @if rows.is_empty() {
                p.note { "None stored yet." }
            } @else {
                (recent_table(*survey, rows))
                p { a href={ "/objects?survey=" (survey.as_str()) } { "All " (survey_label(*survey)) " objects, newest first »" } }
            }
        }
    };
    Ok(page("Solas alert broker", viewer.0.as_ref(), body).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::thousands(-1000), "-1,000");
    }
}
