//! The object page, `/objects/{id}` (a Rubin diaObjectId or a ZTF name): position, the
//! lightcurve plotted in the browser from JSON embedded in the page (`lightcurve.js`), the
//! three cutouts of the newest detection that has them as PNG (rendered here from the
//! stored FITS by `cutout_png`) with FITS download links, the context classification,
//! watchlist, watchmap and GW hits the viewer may see, annotations, TNS name and the
//! `objects` row. Also `/cutouts/{survey}/{sourceId}/{Kind}.png`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};
use solas_core::{CutoutKind, Survey};

use crate::cutout_png::Stretch;

use maud::{html, Markup};

use super::layout::{page, script_json, see_other, value_text, PageError, PageResult};
use super::session::Viewer;
use crate::api::object::{annotations, dec_sexagesimal, ra_sexagesimal, sherlock_row, tns_row};
use crate::api::ObjectId;
use crate::db::{all, blocking, first};
use crate::{AppState, Shared};
use solas_store::main_db::object_view;

/// The survey an id belongs to: `?survey=` if given, else digits mean Rubin.
fn survey_of(id: &str, asked: Option<&str>) -> Result<Survey, PageError> {
    match asked {
        Some("lsst") => Ok(Survey::Lsst),
        Some("ztf") => Ok(Survey::Ztf),
        Some(other) => Err(PageError::bad(format!(
            "unknown survey {other:?} (lsst or ztf)"
        ))),
        None if id.trim().bytes().all(|b| b.is_ascii_digit()) => Ok(Survey::Lsst),
        None => Ok(Survey::Ztf),
    }
}

/// The object a path names (a diaObjectId or a ZTF name), for the forms posted to it.
pub(crate) fn object_of(text: &str) -> Result<(Survey, ObjectId), PageError> {
    let survey = survey_of(text, None)?;
    Ok((
        survey,
        ObjectId::parse(survey, text).map_err(PageError::bad)?,
    ))
}

fn survey_name(s: Survey) -> &'static str {
    match s {
        Survey::Lsst => "lsst",
        Survey::Ztf => "ztf",
    }
}

/// The cutouts the page shows.
enum Cutouts {
    /// Those of `source` (the newest detection with a stored science cutout), and every
    /// detection (id, MJD, band), newest first, whose stamps the page can switch to.
    Of {
        source: i64,
        detections: Vec<(i64, f64, &'static str)>,
    },
    None,
    /// The cutout store failed (an S3 store out of reach, say): the rest of the page is
    /// still worth showing.
    Unavailable,
}

/// A ZTF detection's apparent (DC) magnitude from its stored record, when it has the
/// fields (Rubin's records have none of them).
fn ztf_dc_mag(record: &Value) -> Option<(f64, f64)> {
    let num = |k: &str| record.get(k).and_then(Value::as_f64);
    let positive = match record.get("isdiffpos").and_then(Value::as_str)? {
        "t" | "1" => true,
        "f" | "0" => false,
        _ => return None,
    };
    solas_features::dc_mag::dc_mag(&solas_features::dc_mag::ZtfPhotometry {
        fid: record.get("fid").and_then(Value::as_i64)?,
        magpsf: num("magpsf")?,
        sigmapsf: num("sigmapsf")?,
        magnr: num("magnr")?,
        sigmagnr: num("sigmagnr")?,
        magzpsci: num("magzpsci"),
        positive,
    })
}

/// Everything the page shows, gathered on a blocking thread.
struct ObjectView {
    row: Option<Map<String, Value>>,
    lightcurve: Value,
    bands: usize,
    ra: Option<f64>,
    dec: Option<f64>,
    cutouts: Cutouts,
    sherlock: Map<String, Value>,
    tns: Map<String, Value>,
    annotations: Vec<Value>,
    watchlist_hits: Vec<Map<String, Value>>,
    area_hits: Vec<Map<String, Value>>,
    mma_hits: Vec<Map<String, Value>>,
    summary: super::object_summary::Summary,
    /// Every stored field of every detection, as a sortable table.
    detection_table: Markup,
    /// The viewer's tags on the object.
    tags: Vec<String>,
    /// Users' own measurements the viewer may see.
    user_photometry: Vec<solas_store::main_db::user_photometry::Stored>,
    /// Every catalogue source near the object, best first (none without catalogues).
    crossmatches: Vec<Value>,
    /// What the classifiers say now (consensus) and every score they gave, oldest first.
    consensus: Option<solas_store::main_db::annotations::consensus::Consensus>,
    history: Vec<solas_store::main_db::annotations::scores::HistoryEntry>,
    /// The same source in the other survey: (survey, object, separation in arcsec).
    counterparts: Vec<(Survey, solas_core::ObjectKey, f64)>,
}

fn gather(
    shared: &Shared,
    survey: Survey,
    id: &ObjectId,
    viewer: i64,
) -> Result<ObjectView, crate::error::ApiError> {
    let mut conn = shared.main.take()?;
    let key = id.key().map_err(crate::error::ApiError::Bad)?;
    let row = first(object_view::object_row(&mut conn, survey, &key, None)?);
    let lc = shared
        .lightcurves
        .with(|store| store.lightcurve(survey, &key))??;
    // Every field of every detection, for the detection table and ZTF's apparent magnitude.
    let whole = crate::api::object::whole_records(shared, survey, id)?;
    let viewer_id = (viewer > 0).then_some(viewer);
    let user_photometry =
        solas_store::main_db::user_photometry::visible(&mut conn, survey, &key, viewer_id)?;

    // Per band, every detection with both flux and magnitude (so the page can switch),
    // with its sign and scores; the forced measurements; the limits, as AB magnitude and
    // as flux in nJy.
    #[derive(Default)]
    struct Band {
        points: Vec<Value>,
        forced: Vec<Value>,
        limits: Vec<Value>,
    }
    let mut bands: BTreeMap<&str, Band> = BTreeMap::new();
    let mut has_dc = false;
    for d in &lc.detections {
        let dc = whole.detections.get(&d.source_id).and_then(ztf_dc_mag);
        has_dc |= dc.is_some();
        bands
            .entry(d.band.as_str())
            .or_default()
            .points
            .push(json!({
                "mjd": d.mjd, "flux": d.flux, "fluxErr": d.flux_err,
                "mag": d.mag, "magErr": d.mag_err, "id": d.source_id.to_string(),
                "positive": d.positive, "reliability": d.reliability, "rb": d.rb,
                "dcMag": dc.map(|v| v.0), "dcMagErr": dc.map(|v| v.1),
            }));
    }
    for f in &lc.forced {
        bands
            .entry(f.band.as_str())
            .or_default()
            .forced
            .push(json!({
                "mjd": f.mjd, "flux": f.flux, "fluxErr": f.flux_err, "id": f.source_id.to_string(),
            }));
    }
    for n in &lc.non_detections {
        // Rubin's limit is five times its noise; ZTF's is the limiting magnitude.
        use solas_features::extinction::{mag_to_njy, njy_to_mag};
        let (mag, flux) = match (n.limiting_mag, n.noise_flux) {
            (Some(m), _) => (Some(m), mag_to_njy(m)),
            (None, Some(noise)) if noise > 0.0 => (njy_to_mag(5.0 * noise), Some(5.0 * noise)),
            _ => (None, None),
        };
        bands
            .entry(n.band.as_str())
            .or_default()
            .limits
            .push(json!({
                "mjd": n.mjd, "mag": mag, "flux": flux,
            }));
    }
    let band_list: Vec<Value> = bands
        .iter()
        .map(|(b, v)| json!({ "band": b, "points": v.points, "forced": v.forced, "limits": v.limits }))
        .collect();
    // The same source seen by the other survey: its detections drawn beside these.
    let curves = crate::api::object::counterpart_curves(shared, &mut conn, survey, &key)?;
    let other_curves: Vec<Value> = curves
        .iter()
        .map(|(other, other_key, arcsec, lc)| counterpart_curve(*other, other_key, *arcsec, lc))
        .collect();
    let counterparts: Vec<_> = curves
        .into_iter()
        .map(|(other, other_key, arcsec, _)| (other, other_key, arcsec))
        .collect();
    let lightcurve = json!({
        "bands": band_list,
        "counterparts": other_curves,
        "fluxUnit": match survey { Survey::Lsst => "nJy", Survey::Ztf => "nJy (from magpsf)" },
        "hasFlux": lc.detections.iter().any(|d| d.flux.is_some()),
        // Rubin's times are TAI, ZTF's UTC: the page converts to UTC for calendar dates.
        "timescale": match survey { Survey::Lsst => "TAI", Survey::Ztf => "UTC" },
        // ZTF opens in magnitudes, as Lasair-ZTF does; Rubin in flux.
        "start": match survey { Survey::Lsst => "flux", Survey::Ztf => "mag" },
        "rbLabel": match survey { Survey::Lsst => "reliability", Survey::Ztf => "drb" },
        "hasDc": has_dc,
        "user": super::user_photometry::lightcurve_points(&user_photometry, viewer_id),
    });

    let num = |k: &str| row.as_ref().and_then(|r| r.get(k)).and_then(Value::as_f64);
    let t = object_view::tables(survey);
    let (ra, dec) = match (num(t.ra), num(t.dec), lc.detections.last()) {
        (Some(ra), Some(dec), _) => (Some(ra), Some(dec)),
        (_, _, Some(d)) => (Some(d.ra), Some(d.dec)),
        _ => (None, None),
    };

    // The newest detection with a stored science cutout. After a failed lookup the
    // older ones are not tried: a store out of reach would fail (slowly) for each. The page
    // offers every detection's stamps (a missing one says so).
    let mut cutouts = Cutouts::None;
    let detections: Vec<(i64, f64, &'static str)> = lc
        .detections
        .iter()
        .rev()
        .map(|d| (d.source_id, d.mjd, d.band.as_str()))
        .collect();
    for d in lc.detections.iter().rev() {
        match shared
            .cutouts
            .stored_size(survey, d.source_id, CutoutKind::Science)
        {
            Ok(Some(_)) => {
                cutouts = Cutouts::Of {
                    source: d.source_id,
                    detections,
                };
                break;
            }
            Ok(None) => {}
            Err(e) => {
                log::error!(
                    "cutout lookup for {} source {}: {e}",
                    survey_name(survey),
                    d.source_id
                );
                cutouts = Cutouts::Unavailable;
                break;
            }
        }
    }

    let watchlist_hits = all(object_view::watchlist_hits(
        &mut conn, survey, &key, viewer,
    )?);
    let area_hits = all(object_view::area_hits(&mut conn, survey, &key, viewer)?);
    let mma_hits = all(object_view::event_hits(&mut conn, survey, &key)?);
    let summary =
        super::object_summary::summarise(&lc, ra, dec, row.as_ref(), shared.dust.as_ref());
    let records: Vec<&Map<String, Value>> = lc
        .detections
        .iter()
        .filter_map(|d| whole.detections.get(&d.source_id)?.as_object())
        .collect();
    let detection_table = super::detection_table::detection_table(survey, &records);
    let tags = if viewer > 0 {
        solas_store::main_db::tags::of_object(&mut conn, survey, &key, viewer)?
    } else {
        Vec::new()
    };
    let crossmatches = match (&shared.sherlock, ra, dec) {
        (Some(cat), Some(ra), Some(dec)) => cat.crossmatches(&id.to_string(), ra, dec),
        _ => Vec::new(),
    };
    Ok(ObjectView {
        crossmatches,
        user_photometry,
        tags,
        detection_table,
        summary,
        bands: bands.len(),
        row,
        lightcurve,
        ra,
        dec,
        cutouts,
        sherlock: sherlock_row(&mut conn, survey, &key)?,
        tns: tns_row(&mut conn, survey, &key)?,
        annotations: annotations(&mut conn, survey, &key)?,
        consensus: solas_store::main_db::annotations::consensus::consensus_of(
            &mut conn,
            survey,
            &id.to_string(),
        )?,
        history: solas_store::main_db::annotations::scores::history_of(
            &mut conn,
            survey,
            &id.to_string(),
            HISTORY_SHOWN,
        )?,
        watchlist_hits,
        area_hits,
        mma_hits,
        counterparts,
    })
}

/// A counterpart's detections for the plot, per band, with its survey's time scale.
fn counterpart_curve(
    survey: Survey,
    key: &solas_core::ObjectKey,
    arcsec: f64,
    lc: &solas_store::Lightcurve,
) -> Value {
    let mut bands: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for d in &lc.detections {
        bands.entry(d.band.as_str()).or_default().push(json!({
            "mjd": d.mjd, "flux": d.flux, "fluxErr": d.flux_err,
            "mag": d.mag, "magErr": d.mag_err, "id": d.source_id.to_string(),
            "positive": d.positive,
        }));
    }
    json!({
        "survey": match survey { Survey::Lsst => "Rubin", Survey::Ztf => "ZTF" },
        "name": key.name,
        "url": format!("/objects/{}?survey={}", key.name, survey_name(survey)),
        "arcsec": arcsec,
        "timescale": match survey { Survey::Lsst => "TAI", Survey::Ztf => "UTC" },
        "bands": bands.iter().map(|(b, p)| json!({ "band": b, "points": p })).collect::<Vec<_>>(),
    })
}

/// The other survey's objects at this position, linked.
fn counterparts_section(counterparts: &[(Survey, solas_core::ObjectKey, f64)]) -> Markup {
    html! {
        h2 #counterparts { "In the other survey" }
        @if counterparts.is_empty() {
            p.note { "No object of the other survey within the counterpart radius." }
        } @else {
            ul {
                @for (survey, key, arcsec) in counterparts {
                    li {
                        (match survey { Survey::Lsst => "Rubin ", Survey::Ztf => "ZTF " })
                        a href={ "/objects/" (key.name) "?survey=" (survey_name(*survey)) } { (key.name) }
                        (format!(" at {arcsec:.2}″; its detections are drawn in the lightcurve above as open circles"))
                    }
                }
            }
        }
    }
}

/// A two-column table of a row's fields.
fn fields(m: &Map<String, Value>) -> Markup {
    html! {
        table.fields {
            @for (k, v) in m { tr { th { (k) } td { (value_text(v)) } } }
        }
    }
}

/// The newest classifier scores shown on the page.
const HISTORY_SHOWN: usize = 200;

/// The classifiers' consensus and every score in the history: class, probability (from a
/// model's `classdict`), the alert scored and when.
fn classifiers(
    consensus: &Option<solas_store::main_db::annotations::consensus::Consensus>,
    history: &[solas_store::main_db::annotations::scores::HistoryEntry],
) -> Markup {
    let probability = |classdict: &str| {
        serde_json::from_str::<Value>(classdict)
            .ok()
            .and_then(|v| v.get("probability").and_then(Value::as_f64))
            .map(|p| format!("{p:.3}"))
            .unwrap_or_default()
    };
    html! {
        h2 #classifiers { "Classifiers" }
        @match consensus {
            None => p.note { "No classifier or annotator has spoken about this object yet." },
            Some(c) => p.consensus {
                (c.sources) " annotators now say: " strong { (c.classes) } ". "
                @if c.disagree {
                    span.disagree { "They disagree on what it is." }
                } @else {
                    "They do not contradict each other."
                }
                " Newest at " (c.latest) " UTC."
            }
        }
        @if !history.is_empty() {
            details {
                summary { "Every score and annotation, oldest first (" (history.len()) ")" }
                table.rows {
                    tr { th { "annotator" } th { "class" } th { "probability" } th { "version" } th { "alert" } th { "alert MJD" } th { "written (UTC)" } }
                    @for h in history {
                        tr {
                            td { (h.topic) }
                            td { (h.classification) }
                            td { (probability(&h.classdict)) }
                            td { (h.version) }
                            td { (h.alert_id.map(|a| a.to_string()).unwrap_or_default()) }
                            td { (h.mjd.map(|m| format!("{m:.5}")).unwrap_or_default()) }
                            td { (h.at) }
                        }
                    }
                }
            }
        }
    }
}

/// Annotations with their links as links and their scores (`classdict`) as values.
fn annotation_table(rows: &[Map<String, Value>]) -> Markup {
    if rows.is_empty() {
        return html! { p.note { "No annotations." } };
    }
    let text = |r: &Map<String, Value>, k: &str| r.get(k).map(value_text).unwrap_or_default();
    html! {
        table.rows {
            tr { th { "topic" } th { "classification" } th { "explanation" } th { "scores" } th { "version" } th { "time" } th { "link" } }
            @for r in rows {
                tr {
                    td { (text(r, "topic")) }
                    td { (text(r, "classification")) }
                    td { (text(r, "explanation")) }
                    td { (scores(&text(r, "classdict"))) }
                    td { (text(r, "version")) }
                    td { (text(r, "timestamp")) }
                    td {
                        @let link = text(r, "url");
                        @if link.starts_with("https://") || link.starts_with("http://") {
                            a href=(link) rel="noopener nofollow" target="_blank" { (link) }
                        } @else { (link) }
                    }
                }
            }
        }
    }
}

/// An annotation's `classdict` for people: a model's probability first and its features
/// folded away; a user's scores as `class: value` pairs (the first six shown, the rest
/// folded); text that is not a JSON object as it is.
fn scores(classdict: &str) -> Markup {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(classdict) else {
        return html! { (classdict) };
    };
    let pair = |k: &str, v: &Value| format!("{k}: {}", value_text(v));
    let probability = map.get("probability").and_then(Value::as_f64);
    let rest: Vec<String> = match (probability, map.get("features")) {
        (Some(_), Some(Value::Object(features))) => {
            features.iter().map(|(k, v)| pair(k, v)).collect()
        }
        _ => map
            .iter()
            .filter(|(k, _)| probability.is_none() || k.as_str() != "probability")
            .map(|(k, v)| pair(k, v))
            .collect(),
    };
    let (shown, folded) = match probability {
        Some(_) => (&rest[..0], &rest[..]),
        None => rest.split_at(rest.len().min(6)),
    };
    html! {
        @if let Some(p) = probability { strong { "p = " (format!("{p:.3}")) } }
        @if !shown.is_empty() { (shown.join(", ")) }
        @if !folded.is_empty() {
            details.scores {
                summary { (if probability.is_some() { "features" } else { "more" }) " (" (folded.len()) ")" }
                (folded.join(", "))
            }
        }
    }
}

fn rows_table(rows: &[Map<String, Value>], columns: &[&str], empty: &str) -> Markup {
    if rows.is_empty() {
        return html! { p.note { (empty) } };
    }
    let cols: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    super::layout::json_table(&cols, rows, None)
}

/// The lightcurve: the SVG is drawn by lightcurve.js from the JSON embedded here.
fn lightcurve(id: &ObjectId, survey: &str, data: &Value) -> Markup {
    html! {
        h2 { "Lightcurve" }
        div.lc {
            div.lc-controls {
                "Show "
                button type="button" #lc-flux data-mode="flux" { "flux" }
                button type="button" #lc-mag data-mode="mag" { "magnitude" }
                @if data["hasDc"].as_bool() == Some(true) {
                    button type="button" #lc-dc data-mode="dc"
                        title="ZTF's apparent magnitude: the reference source's flux plus the difference flux (Lasair-ZTF's DC magnitude)" { "apparent mag" }
                }
                label { input type="checkbox" #lc-forced checked; " forced photometry" }
                label { input type="checkbox" #lc-limits checked; " upper limits" }
                @if data["user"].as_array().is_some_and(|u| !u.is_empty()) {
                    label { input type="checkbox" #lc-user checked; " users' photometry" }
                }
                span.note { " Wheel or buttons to zoom, drag to pan, double-click to reset; click a band to hide it." }
                button type="button" #lc-zoom-in { "+" }
                button type="button" #lc-zoom-out { "−" }
                button type="button" #lc-reset { "reset" }
            }
            svg #lc-plot viewBox="0 0 800 360" role="img" aria-label="lightcurve" {}
            div #lc-tip .tip hidden {}
            noscript {
                "The lightcurve plot needs JavaScript; the data are at "
                a href={ "/api/object/?objectId=" (id) "&survey=" (survey) } { "/api/object/" }
                "."
            }
        }
        script type="application/json" id="lc-data" { (script_json(data)) }
        script src="/static/lightcurve.js" {}
        p.downloads {
            "The whole object as the API answers it: "
            a #object-json href={ "/api/object/?objectId=" (id) "&survey=" (survey) } { "JSON" }
            " (read with your login here, or a token from " a href="/profile" { "your profile" } "). "
            "Download every field of every source: "
            @for (kind, label) in [("sources", "detections"), ("forced", "forced photometry"), ("nondetections", "non-detections")] {
                span.download {
                    (label) " "
                    @for format in ["csv", "votable", "parquet", "jsonl"] {
                        a href={ "/objects/" (id) "/export?survey=" (survey) "&kind=" (kind) "&format=" (format) }
                            download { (format) }
                        " "
                    }
                }
            }
        }
    }
}

/// `/objects/{id}/export?kind=&format=`: the download links' files, through the export
/// the API serves (as the viewer: their private watchlists stay theirs; the row cap of a
/// logged-in user, else the public one).
pub(crate) async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<axum::response::Response, PageError> {
    let survey = survey_of(&text, q.get("survey").map(String::as_str))?;
    // Checked here so a bad id is the page's 400, not a file's.
    ObjectId::parse(survey, &text).map_err(PageError::bad)?;
    let kind = q.get("kind").map_or("sources", String::as_str);
    let kind = solas_export::SourceKind::parse(kind).ok_or_else(|| {
        PageError::bad(format!(
            "unknown kind {kind:?} (sources, forced, nondetections)"
        ))
    })?;
    let format = q.get("format").map_or("csv", String::as_str);
    let format = solas_export::Format::parse(format).ok_or_else(|| {
        PageError::bad(format!(
            "unknown format {format:?} (csv, jsonl, votable, parquet)"
        ))
    })?;
    let class = viewer
        .0
        .as_ref()
        .map_or(crate::users::UserClass::Dummy, |l| l.user.class);
    let request = crate::api::export::Request {
        survey,
        objects: crate::api::export::Objects::Named(vec![text.clone()]),
        mjd: None,
        kind,
        format,
    };
    let running = crate::api::query::Running::start(&state.shared)?;
    Ok(crate::api::export::stream(
        state.shared.clone(),
        request,
        viewer.user_id(),
        crate::api::export::row_limit(class),
        running,
    )
    .await?)
}

fn cutouts(cutouts: &Cutouts, survey: &str) -> Markup {
    let how = if survey == "ztf" {
        "ZTF stamps carry no WCS; they are flipped top to bottom, as ZTF's rows run south."
    } else {
        "Each stamp is turned through its own WCS."
    };
    html! {
        h2 { "Cutouts" }
        @match cutouts {
            Cutouts::Of { source, detections } => {
                div #stamps data-survey=(survey) {
                    p.note {
                        "North up, east left. " (how) " The yellow bar gives the scale. Detection "
                        span #stamp-source { (source) } "."
                    }
                    div.stamp-controls {
                        label { "Detection "
                            select #stamp-detection {
                                @for (id, mjd, band) in detections {
                                    option value=(id) selected[*id == *source] {
                                        "MJD " (format!("{mjd:.4}")) " · " (band) " · " (id)
                                    }
                                }
                            }
                        }
                        label { " Stretch "
                            select #stamp-stretch {
                                option value="linear" { "linear (0.5–99.5 %)" }
                                option value="zscale" { "zscale" }
                                option value="asinh" { "asinh" }
                            }
                        }
                        label { " Size "
                            select #stamp-size {
                                option value="150" { "small" }
                                option value="240" selected { "medium" }
                                option value="360" { "large" }
                            }
                        }
                    }
                    div.cutouts {
                        @for kind in ["Science", "Template", "Difference"] {
                            figure {
                                img.cutout data-kind=(kind)
                                    src={ "/cutouts/" (survey) "/" (source) "/" (kind) ".svg?stretch=linear" }
                                    alt={ (kind) " cutout (none stored for this detection)" }
                                    width="240" height="240";
                                figcaption {
                                    (kind) " · "
                                    a.png data-kind=(kind) href={ "/cutouts/" (survey) "/" (source) "/" (kind) ".png?stretch=linear" } { "PNG" }
                                    " · "
                                    a.fits data-kind=(kind) href={ "/fits/" (source) "_cutout" (kind) "?survey=" (survey) } { "FITS" }
                                }
                            }
                        }
                    }
                }
                script src="/static/stamps.js" {}
            }
            Cutouts::None => p.note { "No cutouts stored for this object." },
            Cutouts::Unavailable => p.note #cutouts-unavailable {
                "Cutout unavailable: the cutout store did not answer. The rest of the page is "
                "complete; try again later."
            },
        }
    }
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    // The home page's lookup box sends `/objects/lookup?id=...`.
    if text == "lookup" {
        let id = q.get("id").map(|s| s.trim()).unwrap_or("");
        let enc: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        return Ok(see_other(&format!("/objects/{enc}")));
    }
    let survey = survey_of(&text, q.get("survey").map(String::as_str))?;
    let id = ObjectId::parse(survey, &text).map_err(PageError::bad)?;
    let shared = state.shared.clone();
    let viewer_id = viewer.user_id().unwrap_or(-1);
    let view = {
        let id = id.clone();
        blocking(move || gather(&shared, survey, &id, viewer_id)).await??
    };
    if view.row.is_none() && view.bands == 0 {
        return Err(PageError::not_found(format!(
            "No {} object {id} is stored.",
            survey_name(survey)
        )));
    }
    let s = survey_name(survey);

    // Position and names.
    let mut facts = Map::new();
    if let (Some(ra), Some(dec)) = (view.ra, view.dec) {
        facts.insert("RA, Dec (deg)".into(), json!(format!("{ra:.6}, {dec:.6}")));
        facts.insert(
            "RA, Dec (sexagesimal)".into(),
            json!(format!("{} {}", ra_sexagesimal(ra), dec_sexagesimal(dec))),
        );
    }
    if let Some(name) = view.tns.get("tns_name") {
        let prefix = view
            .tns
            .get("tns_prefix")
            .map(value_text)
            .unwrap_or_default();
        facts.insert(
            "TNS".into(),
            json!(format!("{prefix} {}", value_text(name)).trim()),
        );
        if let Some(kind) = view.tns.get("type") {
            facts.insert("TNS type".into(), kind.clone());
        }
    }
    if let Some(c) = view.sherlock.get("classification") {
        facts.insert("Context".into(), c.clone());
    }
    // Only the filled-in fields: most of a row is empty for an orphan.
    let sherlock: Map<String, Value> = view
        .sherlock
        .iter()
        .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ann: Vec<Map<String, Value>> = view
        .annotations
        .iter()
        .filter_map(|v| v.as_object().cloned())
        .collect();
    let features = view.row.as_ref().map(|row| {
        let mut row = row.clone();
        if let Some(last) = row.get("lastDiaSourceMjdTai").and_then(Value::as_f64) {
            // The MJD is TAI: 37 s ahead of UTC.
            row.insert(
                "lastDiaSourceUtc".into(),
                json!(super::object_summary::utc(Survey::Lsst, last)),
            );
        }
        row
    });
    let body = html! {
        section {
            (fields(&facts))
            (super::object_summary::card(&view.summary, survey, &view.tns))
            @if let (Some(ra), Some(dec)) = (view.ra, view.dec) {
                (super::sky_view::sky_view(ra, dec, &view.crossmatches))
            }
            (super::object_summary::links(&id, view.ra, view.dec))
        }
        (lightcurve(&id, s, &view.lightcurve))
        (counterparts_section(&view.counterparts))
        (view.detection_table)
        (cutouts(&view.cutouts, s))
        (super::object_summary::context(&sherlock))
        (super::object_summary::crossmatches(&view.crossmatches))
        h2 { "Watchlist hits" }
        (rows_table(&view.watchlist_hits, &["wl_id", "watchlist", "cone", "arcsec"],
            "In none of your or the public watchlists."))
        h2 { "Watchmap hits" }
        (rows_table(&view.area_hits, &["ar_id", "watchmap", "area_deg2"],
            "In none of your or the public watchmaps."))
        h2 { "Multi-messenger events" }
        (rows_table(&view.mma_hits, &["event", "contour", "probdens2", "probdens3"],
            "In no event's region (GW skymap, GCN notice)."))
        (super::tags::section(&id, &view.tags, viewer.0.as_ref()))
        (super::user_photometry::section(&id, &view.user_photometry, viewer.0.as_ref()))
        (classifiers(&view.consensus, &view.history))
        h2 { "Annotations" }
        (annotation_table(&ann))
        @if !view.tns.is_empty() {
            h2 { "TNS" }
            (fields(&view.tns))
        }
        @if let Some(row) = &features {
            details {
                summary { "All features (" (row.len()) " columns)" }
                (fields(row))
            }
        }
    };
    let title = format!(
        "{} {id}",
        if survey == Survey::Lsst {
            "Rubin object"
        } else {
            "ZTF object"
        }
    );
    Ok(page(&title, viewer.0.as_ref(), body).into_response())
}

/// `/cutouts/{survey}/{sourceId}/{Kind}.png` (or `.svg`): a stored cutout drawn north up,
/// east left (`cutout_png`), `?stretch=linear|zscale|asinh`; the SVG adds a compass and a
/// scale bar.
pub(crate) async fn cutout_png(
    State(state): State<AppState>,
    Path((survey, source, kind)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let survey = survey_of("", Some(&survey))?;
    let source: i64 = source
        .parse()
        .map_err(|_| PageError::not_found("not a source id"))?;
    let (name, svg) = match (kind.strip_suffix(".png"), kind.strip_suffix(".svg")) {
        (Some(n), _) => (n, false),
        (_, Some(n)) => (n, true),
        _ => (kind.as_str(), false),
    };
    let kind = match name {
        "Science" => CutoutKind::Science,
        "Template" => CutoutKind::Template,
        "Difference" => CutoutKind::Difference,
        _ => return Err(PageError::not_found("Science, Template or Difference")),
    };
    let stretch = match q.get("stretch") {
        None => Stretch::Linear,
        Some(s) => Stretch::parse(s).ok_or_else(|| {
            PageError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "stretch is linear, zscale or asinh",
            )
        })?,
    };
    let shared = state.shared.clone();
    let stamp = blocking(
        move || -> Result<Option<Result<crate::cutout_png::Stamp, String>>, PageError> {
            let fits = shared
                .cutouts
                .get_cutout(survey, source, kind)
                .map_err(|e| match e {
                    solas_store::StoreError::Invalid(_) => PageError::from(e),
                    other => {
                        log::error!("cutout {source}: {other}");
                        PageError::new(
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "Cutout unavailable: the cutout store did not answer.",
                        )
                    }
                })?;
            Ok(fits.map(|f| crate::cutout_png::fits_to_stamp(&f, survey, stretch)))
        },
    )
    .await??;
    let stamp = match stamp {
        None => return Err(PageError::not_found("No such cutout.")),
        Some(Err(e)) => return Err(PageError::internal(format!("cutout {source}: {e}"))),
        Some(Ok(stamp)) => stamp,
    };
    // How the stamp was turned, for whoever saves it.
    let oriented = format!("north up, east left (from the {})", stamp.from);
    let (content_type, body) = if svg {
        (
            "image/svg+xml",
            crate::cutout_png::stamp_svg(&stamp).into_bytes(),
        )
    } else {
        ("image/png", stamp.png)
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            // A stored cutout never changes.
            (header::CACHE_CONTROL, "public, max-age=86400".to_string()),
            (
                header::HeaderName::from_static("x-solas-orientation"),
                oriented,
            ),
        ],
        body,
    )
        .into_response())
}
