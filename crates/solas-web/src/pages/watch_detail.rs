//! One watchlist (`/watchlists/{id}`) or watchmap (`/watchmaps/{id}`, with its region drawn
//! on the sky, `/watchmaps/{id}/sky.png`): what it is and its hits, newest first, a page
//! at a time, each object linked. Private ones are shown to their owner only.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use maud::{html, Markup};
use solas_core::Survey;
use solas_store::main_db::watch_view::{self, Hit};

use super::layout::{page, PageError, PageResult};
use super::recent::survey_label;
use super::session::Viewer;
use super::sky_map::{regions_png, sky_map, Layer};
use crate::db::blocking;
use crate::AppState;

/// Hits per page.
pub(crate) const PAGE: i64 = 100;

/// The page number asked for (from 1).
pub(crate) fn page_number(q: &HashMap<String, String>) -> Result<i64, PageError> {
    match q.get("page") {
        None => Ok(1),
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| PageError::bad("page is a page number from 1")),
    }
}

/// Links to the pages before and after `page` of `base`.
pub(crate) fn pager(base: &str, page: i64, shown: usize, total: i64) -> Markup {
    let pages = (total + PAGE - 1) / PAGE;
    html! {
        p.pager {
            @if page > 1 { a href={ (base) "?page=" (page - 1) } { "« newer" } " " }
            @if total > 0 { "Page " (page) " of " (pages.max(1)) " (" (total) " hits). " }
            @if shown as i64 == PAGE && page < pages {
                a #next-page href={ (base) "?page=" (page + 1) } { "older »" }
            }
        }
    }
}

/// The sky map's layers, one per survey, from objects with a position:
/// (survey, id, RA, Dec).
pub(crate) fn layers(points: &[(Survey, &str, Option<f64>, Option<f64>)]) -> Vec<Layer<'static>> {
    [(Survey::Lsst, "rubin"), (Survey::Ztf, "ztf")]
        .into_iter()
        .map(|(survey, class)| Layer {
            label: survey_label(survey),
            class,
            objects: points
                .iter()
                .filter(|p| p.0 == survey)
                .filter_map(|p| Some((p.1.to_string(), p.2?, p.3?)))
                .collect(),
        })
        .collect()
}

fn dots(hits: &[Hit]) -> Vec<Layer<'static>> {
    let points: Vec<_> = hits
        .iter()
        .map(|h| (h.survey, h.object.as_str(), h.ra, h.dec))
        .collect();
    layers(&points)
}

fn hits_table(hits: &[Hit], cones: bool) -> Markup {
    html! {
        table.rows #hits {
            thead {
                tr {
                    th { "object" } th { "survey" }
                    @if cones { th { "cone" } th { "separation (″)" } }
                    th { "RA, Dec (°)" } th { "hit (UTC)" }
                }
            }
            tbody {
                @for h in hits {
                    tr {
                        td { a href={ "/objects/" (h.object) } { (h.object) } }
                        td { (survey_label(h.survey)) }
                        @if cones {
                            @let (name, sep) = h.cone.clone().unwrap_or_default();
                            td { (name) } td.num { (format!("{sep:.2}")) }
                        }
                        td.num {
                            @if let (Some(ra), Some(dec)) = (h.ra, h.dec) { (format!("{ra:.5}, {dec:+.5}")) }
                        }
                        td { (h.when) }
                    }
                }
            }
        }
    }
}

/// Whether `viewer` may see a resource of `owner` that is `public` or not.
fn visible(public: bool, owner: i64, viewer: Option<i64>) -> bool {
    public || viewer == Some(owner)
}

/// Watchmap `id` with its MOC's bytes, if `viewer` may see it.
fn visible_watchmap(
    db: &mut solas_store::db::Db,
    id: i64,
    viewer: Option<i64>,
) -> Result<(solas_store::main_db::watch::Watchmap, Vec<u8>), PageError> {
    watch_view::watchmap(db, id)?
        .filter(|(m, _)| visible(m.public, m.owner, viewer))
        .ok_or_else(|| {
            PageError::not_found(format!("No watchmap {id}, or it is private to its owner."))
        })
}

pub(crate) async fn watchlist(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let n = page_number(&q)?;
    let (shared, me) = (state.shared.clone(), viewer.user_id());
    let (list, hits) = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        let Some(list) =
            watch_view::watchlist(&mut db, id)?.filter(|w| visible(w.public, w.owner, me))
        else {
            return Err(PageError::not_found(format!(
                "No watchlist {id}, or it is private to its owner."
            )));
        };
        let hits = watch_view::watchlist_hits(&mut db, id, PAGE, (n - 1) * PAGE)?;
        Ok((list, hits))
    })
    .await??;
    let body = html! {
        @if !list.description.is_empty() { p { (list.description) } }
        table.fields #watchlist {
            tr { th { "Cones" } td { (list.cones) } }
            tr { th { "Default radius" } td { (list.radius) "″" } }
            tr { th { "Fires" } td #fires { @match list.mag_change {
                Some(m) => { "when an object's magnitude has moved by " (m) " or more since its cone last fired" },
                None => "on every alert of an object inside a cone",
            } } }
            tr { th { "Hits" } td #hit-count { (list.hits) } }
            tr { th { "Shared" } td { (if list.public { "public" } else { "private" }) } }
            tr { th { "Matching" } td { (if list.active { "active: new alerts are matched" } else { "inactive" }) } }
            tr { th { "In a filter" } td { code { "watchlist:" (list.wl_id) } " in the tables of a filter" } }
        }
        h2 { "Hits" }
        @if hits.is_empty() {
            p.note { "No hits yet." }
        } @else {
            (sky_map(&dots(&hits), "This page's hits.", None))
            (hits_table(&hits, true))
        }
        (pager(&format!("/watchlists/{id}"), n, hits.len(), list.hits))
    };
    Ok(page(&format!("Watchlist {}", list.name), viewer.0.as_ref(), body).into_response())
}

pub(crate) async fn watchmap(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let n = page_number(&q)?;
    let (shared, me) = (state.shared.clone(), viewer.user_id());
    let (map, hits) = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        let (map, _) = visible_watchmap(&mut db, id, me)?;
        let hits = watch_view::watchmap_hits(&mut db, id, PAGE, (n - 1) * PAGE)?;
        Ok((map, hits))
    })
    .await??;
    let body = html! {
        @if !map.description.is_empty() { p { (map.description) } }
        table.fields #watchmap {
            tr { th { "Area" } td { (map.area_deg2.map_or("–".into(), |a| format!("{a:.2} deg²"))) } }
            tr { th { "Hits" } td #hit-count { (map.hits) } }
            tr { th { "Shared" } td { (if map.public { "public" } else { "private" }) } }
            tr { th { "Matching" } td { (if map.active { "active: new alerts are matched" } else { "inactive" }) } }
            tr { th { "In a filter" } td { code { "watchmap:" (map.ar_id) } " in the tables of a filter" } }
        }
        (sky_map(&dots(&hits), "The watchmap's region (shaded) and this page's hits.", Some(&format!("/watchmaps/{id}/sky.png"))))
        h2 { "Hits" }
        @if hits.is_empty() {
            p.note { "No hits yet." }
        } @else {
            (hits_table(&hits, false))
        }
        (pager(&format!("/watchmaps/{id}"), n, hits.len(), map.hits))
    };
    Ok(page(&format!("Watchmap {}", map.name), viewer.0.as_ref(), body).into_response())
}

/// A region PNG, cacheable for an hour (a region does not change under its id).
pub(crate) fn png_response(png: Vec<u8>) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response()
}

/// `/watchmaps/{id}/sky.png`: the region on the whole-sky map.
pub(crate) async fn watchmap_png(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> PageResult {
    let (shared, me) = (state.shared.clone(), viewer.user_id());
    let png = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        let (_, bytes) = visible_watchmap(&mut db, id, me)?;
        drop(db);
        let moc = solas_watch::watchmap::parse_moc(&bytes).map_err(PageError::internal)?;
        let inside = |ra: f64, dec: f64| moc.contains(ra, dec);
        Ok(regions_png(&[(&inside, [86, 180, 233, 200])]))
    })
    .await??;
    Ok(png_response(png))
}
