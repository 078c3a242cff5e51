//! Gravitational-wave (and other multi-messenger) events: `/events` lists them, and
//! `/events/{id}` draws the skymap's 50 % and 90 % credible regions on the sky
//! (`/events/{id}/sky.png`) with the objects found in them, most probable first: when each
//! was first seen after the event, the smallest credible region holding it, and the
//! probability densities with their units.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use maud::html;
use solas_core::Survey;
use solas_store::main_db::watch::{MmaEvent, WatchStore};
use solas_store::main_db::watch_view::{self, EventHit};

use super::layout::{page, PageError, PageResult};
use super::object_summary::utc;
use super::recent::survey_label;
use super::session::Viewer;
use super::sky_map::{regions_png, sky_map};
use super::sky_view::{zoom_figure, Tan};
use super::watch_detail::{page_number, pager, png_response, PAGE};
use crate::db::blocking;
use crate::AppState;

/// The zoomed view's side in pixels.
const ZOOM_SIDE: f64 = 400.0;

/// A view framing the event's 90 % region (several times its extent, within 0.5–90°).
fn frame(map: &solas_watch::Skymap) -> Option<Tan> {
    let (ra0, dec0, radius) = map.region_moc(90.0).extent()?;
    Some(Tan {
        ra0,
        dec0,
        fov: (radius * 2.6).clamp(0.5, 90.0),
        side: ZOOM_SIDE,
    })
}

/// Event skymaps parsed lately, by file path, newest last. An event's skymap file never
/// changes once stored (a new version of an event is a new file).
#[derive(Default)]
pub(crate) struct SkymapCache(
    std::sync::Mutex<Vec<(std::path::PathBuf, Arc<solas_watch::Skymap>)>>,
);

/// Skymaps kept parsed: a few MB each at the orders LVK publishes.
const SKYMAPS_KEPT: usize = 4;

fn load_skymap(st: &AppState, event: &MmaEvent) -> Result<Arc<solas_watch::Skymap>, PageError> {
    let path = st.shared.config.data_dir.join(&event.skymap_path);
    let cache = &st.shared.skymaps.0;
    let cached = {
        let kept = cache.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .find(|(p, _)| *p == path)
            .map(|(_, m)| m.clone())
    };
    if let Some(map) = cached {
        return Ok(map);
    }
    // Parsed outside the lock: two first views may both parse, which is harmless.
    let bytes = std::fs::read(&path).map_err(PageError::internal)?;
    let map = Arc::new(solas_watch::Skymap::from_fits(&bytes).map_err(PageError::internal)?);
    let mut kept = cache.lock().unwrap_or_else(|p| p.into_inner());
    kept.retain(|(p, _)| *p != path);
    if kept.len() >= SKYMAPS_KEPT {
        kept.remove(0);
    }
    kept.push((path, map.clone()));
    Ok(map)
}

/// Square degrees per steradian.
const DEG2_PER_SR: f64 = (180.0 / std::f64::consts::PI) * (180.0 / std::f64::consts::PI);

pub(crate) async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let shared = state.shared.clone();
    let (events, counts) = blocking(move || -> Result<_, PageError> {
        let mut store = WatchStore::connect(&shared.config.main_target())?;
        let events = store.events()?;
        let mut db = shared.main.take().map_err(PageError::from)?;
        let counts: HashMap<i64, i64> =
            watch_view::event_hit_counts(&mut db)?.into_iter().collect();
        Ok((events, counts))
    })
    .await??;
    let body = html! {
        p {
            "Multi-messenger events whose regions Solas holds: LVK skymaps (" code { "solas event add" } ") "
            "and the skymaps or error circles of GCN notices (" code { "solas gcn follow" } "). "
            "Objects first seen within an event's window after it, inside its 90 % region, are its hits; "
            "filters see them in " code { "mma_area_hits" } "."
        }
        @if events.is_empty() {
            p.note { "No events yet." }
        } @else {
            table.rows #events {
                thead { tr { th { "event" } th { "time (UTC)" } th { "window" } th { "50 % area" } th { "90 % area" } th { "hits" } } }
                tbody {
                    @for e in events.iter().rev() {
                        tr {
                            td { a href={ "/events/" (e.mw_id) } { (e.name) } }
                            td { (utc(Survey::Ztf, e.event_mjd)) }
                            td.num { (e.window_days) " d" }
                            td.num { (area(e.area50)) }
                            td.num { (area(e.area90)) }
                            td.num { (counts.get(&e.mw_id).copied().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Multi-messenger events", viewer.0.as_ref(), body).into_response())
}

/// Time since the event in words: "+3.2 h", "+2.1 d", "−5 min" (before it).
fn delta(days: f64) -> String {
    let sign = if days < 0.0 { "−" } else { "+" };
    let d = days.abs();
    if d < 1.0 / 24.0 {
        format!("{sign}{:.0} min", d * 1440.0)
    } else if d < 2.0 {
        format!("{sign}{:.1} h", d * 24.0)
    } else {
        format!("{sign}{d:.1} d")
    }
}

fn load_event(state: &AppState, id: i64) -> Result<MmaEvent, PageError> {
    let mut db = state.shared.main.take().map_err(PageError::from)?;
    watch_view::event(&mut db, id)?.ok_or_else(|| PageError::not_found(format!("No event {id}.")))
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let n = page_number(&q)?;
    let st = state.clone();
    let (event, hits, total, zoom) = blocking(move || -> Result<_, PageError> {
        let event = load_event(&st, id)?;
        // The zoomed view's frame; none if the skymap cannot be read (the page still shows).
        let zoom = load_skymap(&st, &event).ok().and_then(|m| frame(&m));
        let mut db = st.shared.main.take().map_err(PageError::from)?;
        let hits = watch_view::event_hits(&mut db, id, PAGE, (n - 1) * PAGE)?;
        let total = watch_view::event_hit_count(&mut db, id)?;
        Ok((event, hits, total, zoom))
    })
    .await??;
    let points: Vec<_> = hits
        .iter()
        .map(|h| (h.survey, h.object.as_str(), h.ra, h.dec))
        .collect();
    let layers = super::watch_detail::layers(&points);
    let row = |h: &EventHit| {
        html! {
            tr {
                td { a href={ "/objects/" (h.object) } { (h.object) } }
                td { (survey_label(h.survey)) }
                td { (h.first_mjd_utc.map(|m| utc(Survey::Ztf, m)).unwrap_or_default()) }
                td.num { (h.first_mjd_utc.map(|m| delta(m - event.event_mjd)).unwrap_or_default()) }
                td.num { (h.contour.map(|c| format!("{c:.1} %")).unwrap_or_default()) }
                td.num { (h.probdens2.map(|p| format!("{:.3e}", p / DEG2_PER_SR)).unwrap_or_default()) }
                td.num { (h.probdens3.map(|p| format!("{p:.3e}")).unwrap_or_else(|| "–".into())) }
            }
        }
    };
    let body = html! {
        table.fields #event {
            tr { th { "Time (UTC)" } td { (utc(Survey::Ztf, event.event_mjd)) " (MJD " (format!("{:.5}", event.event_mjd)) ")" } }
            tr { th { "Window" } td { "objects first seen up to " (event.window_days) " days after" } }
            tr { th { "Credible regions" } td { (format!("10 %: {}, 50 %: {}, 90 %: {}", area(event.area10), area(event.area50), area(event.area90))) } }
            tr { th { "Hits" } td #hit-count { (total) } }
        }
        @if let Some(tan) = &zoom {
            (zoom_figure(tan, &format!("/events/{id}/zoom.png"), &layers, "The 50 % (dark) and 90 % (light) credible regions up close, with this page's hits."))
        }
        (sky_map(&layers, "The 50 % (dark) and 90 % (light) credible regions on the whole sky, and this page's hits.", Some(&format!("/events/{id}/sky.png"))))
        h2 { "Hits, most probable first" }
        @if hits.is_empty() {
            p.note { "No objects in this event's region and window yet." }
        } @else {
            table.rows #event-hits {
                thead {
                    tr {
                        th { "object" } th { "survey" } th { "first seen (UTC)" } th { "Δt after event" }
                        th { "credible region" } th { "2-D density (deg⁻²)" } th { "3-D density (sr⁻¹ Mpc⁻¹)" }
                    }
                }
                tbody { @for h in &hits { (row(h)) } }
            }
            p.note {
                "Credible region: the smallest region of the skymap holding the object. "
                "The 3-D density is at the distance of the object's context match (none without one)."
            }
        }
        (pager(&format!("/events/{id}"), n, hits.len(), total))
    };
    Ok(page(&format!("Event {}", event.name), viewer.0.as_ref(), body).into_response())
}

/// `/events/{id}/zoom.png`: the 90 % and 50 % regions up close.
pub(crate) async fn zoom_png(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    let st = state.clone();
    let png = blocking(move || -> Result<_, PageError> {
        let event = load_event(&st, id)?;
        let map = load_skymap(&st, &event)?;
        let tan =
            frame(&map).ok_or_else(|| PageError::not_found("The skymap has no 90 % region."))?;
        let (r90, r50) = (map.region_moc(90.0), map.region_moc(50.0));
        let in90 = |ra: f64, dec: f64| r90.contains(ra, dec);
        let in50 = |ra: f64, dec: f64| r50.contains(ra, dec);
        Ok(tan.regions_png(&[(&in90, [240, 190, 90, 170]), (&in50, [213, 94, 0, 230])]))
    })
    .await??;
    Ok(png_response(png))
}

/// `/events/{id}/sky.png`: the 90 % and 50 % regions on the whole-sky map.
pub(crate) async fn sky_png(State(state): State<AppState>, Path(id): Path<i64>) -> PageResult {
    let st = state.clone();
    let png = blocking(move || -> Result<_, PageError> {
        let event = load_event(&st, id)?;
        let map = load_skymap(&st, &event)?;
        let (r90, r50) = (map.region_moc(90.0), map.region_moc(50.0));
        let in90 = |ra: f64, dec: f64| r90.contains(ra, dec);
        let in50 = |ra: f64, dec: f64| r50.contains(ra, dec);
        Ok(regions_png(&[
            (&in90, [240, 190, 90, 170]),
            (&in50, [213, 94, 0, 230]),
        ]))
    })
    .await??;
    Ok(png_response(png))
}

/// An area to the precision it has: whole square degrees for LVK's hundreds, three
/// significant digits for the error circles of GCN notices (a fraction of a square degree).
fn area(deg2: f64) -> String {
    if deg2 >= 100.0 || deg2 <= 0.0 || !deg2.is_finite() {
        format!("{deg2:.0} deg²")
    } else {
        let decimals = (2 - deg2.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{deg2:.decimals$} deg²")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn areas_keep_the_digits_they_have() {
        assert_eq!(super::area(23.14), "23.1 deg²");
        assert_eq!(super::area(0.785), "0.785 deg²");
        assert_eq!(super::area(1234.6), "1235 deg²");
        assert_eq!(super::area(0.0), "0 deg²");
    }
}
