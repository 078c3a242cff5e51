//! The home page: live counts of what is stored and the most recently updated objects of
//! each survey, linking to their object pages.

use axum::extract::State;
use axum::response::IntoResponse;
use solas_core::Survey;
use solas_store::db::Db;
use solas_store::main_db::overview::{self, Shared};

use maud::{html, Markup};

use super::layout::{json_table, page, PageResult};
use super::session::Viewer;
use crate::db::{blocking, named_json};
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

struct Home {
    counts: Vec<(&'static str, Option<i64>)>,
    lsst: Markup,
    ztf: Markup,
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
    let counts = vec![
        ("Rubin objects", main.count_rows("objects")?),
        ("ZTF objects", main.count_rows("ztf_objects")?),
        ("Detections stored", lc.count_rows("detections")?),
        ("Forced photometry", lc.count_rows("forced_photometry")?),
        ("Filters", filters),
        ("Watchlists", watchlists),
        ("Watchmaps", watchmaps),
    ];
    let mut newest = |survey, key: &'static str, path: &'static str| {
        let (names, rows) = overview::newest_objects(&mut main, survey, 20)?;
        Ok::<_, crate::error::ApiError>(json_table(
            &names,
            &named_json(&names, &rows),
            Some((key, path)),
        ))
    };
    Ok(Home {
        counts,
        lsst: newest(Survey::Lsst, "diaObjectId", "lsst")?,
        ztf: newest(Survey::Ztf, "objectId", "ztf")?,
    })
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let id = viewer.user_id();
    let home = blocking(move || gather(&st, id)).await??;
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
        h2 { "Recent Rubin objects" } (home.lsst)
        h2 { "Recent ZTF objects" } (home.ztf)
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
