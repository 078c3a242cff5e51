//! The top of the object page: a summary card (latest and peak magnitude per band, first
//! and last detection in UTC, counts, Galactic latitude, E(B−V), TNS name), the context
//! in a sentence with its best match, and links out to the archives and the other brokers.

use maud::{html, Markup};
use serde_json::{Map, Value};
use solas_core::{Band, Survey};
use solas_store::Lightcurve;

use super::layout::value_text;
use crate::api::object::mjd_to_utc;
use crate::api::ObjectId;

/// An MJD of `survey` as a UTC date and time.
pub(crate) fn utc(survey: Survey, mjd: f64) -> String {
    format!("{} UTC", mjd_to_utc(survey.mjd_utc(mjd)))
}

/// One band's latest and brightest positive detection: (MJD, magnitude).
pub(crate) struct BandFacts {
    band: Band,
    latest: (f64, f64),
    peak: (f64, f64),
    detections: usize,
}

/// What the card shows.
pub(crate) struct Summary {
    bands: Vec<BandFacts>,
    first: Option<f64>,
    last: Option<f64>,
    detections: usize,
    limits: usize,
    forced: usize,
    glat: Option<f64>,
    ebv: Option<f64>,
}

/// The card's facts, from the stored lightcurve, the position and the objects row.
/// With `dust` (the server's SFD maps), E(B−V) where the objects row has none.
pub(crate) fn summarise(
    lc: &Lightcurve,
    ra: Option<f64>,
    dec: Option<f64>,
    row: Option<&Map<String, Value>>,
    dust: Option<&solas_features::dust::DustMap>,
) -> Summary {
    let mut bands: Vec<BandFacts> = Vec::new();
    for d in &lc.detections {
        let Some(mag) = d.mag.filter(|m| m.is_finite() && d.positive) else {
            continue;
        };
        match bands.iter_mut().find(|b| b.band == d.band) {
            Some(b) => {
                b.detections += 1;
                if d.mjd >= b.latest.0 {
                    b.latest = (d.mjd, mag);
                }
                if mag < b.peak.1 {
                    b.peak = (d.mjd, mag);
                }
            }
            None => bands.push(BandFacts {
                band: d.band,
                latest: (d.mjd, mag),
                peak: (d.mjd, mag),
                detections: 1,
            }),
        }
    }
    bands.sort_by_key(|b| b.band);
    let times = lc
        .detections
        .iter()
        .map(|d| d.mjd)
        .filter(|t| t.is_finite());
    Summary {
        bands,
        first: times.clone().reduce(f64::min),
        last: times.reduce(f64::max),
        detections: lc.detections.len(),
        limits: lc.non_detections.len(),
        forced: lc.forced.len(),
        glat: ra.zip(dec).map(|(r, d)| solas_features::galactic_lat(r, d)),
        ebv: row
            .and_then(|r| r.get("ebv"))
            .and_then(Value::as_f64)
            .or_else(|| {
                let (ra, dec) = ra.zip(dec)?;
                Some(dust?.ebv(ra, dec)).filter(|e| e.is_finite())
            }),
    }
}

/// The summary card.
pub(crate) fn card(s: &Summary, survey: Survey, tns: &Map<String, Value>) -> Markup {
    let tns_name = tns.get("tns_name").map(value_text);
    html! {
        div.summary-card {
            table.fields {
                @if let Some(name) = &tns_name {
                    tr { th { "TNS" } td {
                        a href=(format!("https://www.wis-tns.org/object/{name}")) rel="noopener" target="_blank" {
                            (tns.get("tns_prefix").map(value_text).unwrap_or_default()) " " (name)
                        }
                        @if let Some(t) = tns.get("type").map(value_text).filter(|t| !t.is_empty()) { " (" (t) ")" }
                    } }
                }
                @if let (Some(first), Some(last)) = (s.first, s.last) {
                    tr { th { "First detection" } td { (utc(survey, first)) } }
                    tr { th { "Last detection" } td { (utc(survey, last)) } }
                }
                tr { th { "Measurements" } td {
                    (s.detections) " detections, " (s.limits) " upper limits, "
                    (s.forced) " forced"
                } }
                @if let Some(b) = s.glat { tr { th { "Galactic latitude" } td { (format!("{b:+.2}°")) } } }
                @if let Some(e) = s.ebv { tr { th { "E(B−V)" } td { (format!("{e:.3} mag")) } } }
            }
            @if !s.bands.is_empty() {
                table.bands {
                    tr { th { "band" } th { "latest mag" } th { "peak mag" } th { "detections" } }
                    @for b in &s.bands {
                        tr {
                            td { (b.band.as_str()) }
                            td title=(utc(survey, b.latest.0)) { (format!("{:.2}", b.latest.1)) }
                            td title=(utc(survey, b.peak.0)) { (format!("{:.2}", b.peak.1)) }
                            td { (b.detections) }
                        }
                    }
                }
            }
        }
    }
}

/// Every catalogue source near the object, best first, as the classifier ranks them now
/// against the loaded catalogues (Sherlock's crossmatches).
pub(crate) fn crossmatches(matches: &[Value]) -> Markup {
    let num = |m: &Value, k: &str, digits: usize| {
        m.get(k)
            .and_then(Value::as_f64)
            .map_or(String::new(), |v| format!("{v:.digits$}"))
    };
    html! {
        @if !matches.is_empty() {
            h3 { "Every crossmatch (" (matches.len()) ")" }
            div.table-scroll {
                table.rows #crossmatches {
                    thead {
                        tr {
                            th { "rank" } th { "catalogue" } th { "source" } th { "type" } th { "class" }
                            th { "separation (″)" } th { "N, E (″)" } th { "z" } th { "distance (Mpc)" } th { "kpc" }
                        }
                    }
                    tbody {
                        @for m in matches {
                            tr {
                                td.num { (m.get("rank").map(value_text).unwrap_or_default()) }
                                td { (m.get("catalogue_table_name").map(value_text).unwrap_or_default()) }
                                td { (m.get("catalogue_object_id").map(value_text).unwrap_or_default()) }
                                td { (m.get("catalogue_object_type").map(value_text).unwrap_or_default()) }
                                td { (m.get("association_type").map(value_text).unwrap_or_default()) }
                                td.num { (num(m, "separationArcsec", 2)) }
                                td.num { (num(m, "northSeparationArcsec", 1)) ", " (num(m, "eastSeparationArcsec", 1)) }
                                td.num { (num(m, "z", 4)) }
                                td.num { (num(m, "distance", 1)) }
                                td.num { (num(m, "physical_separation_kpc", 2)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The context in a sentence, with the best match, then every field behind a fold.
pub(crate) fn context(sherlock: &Map<String, Value>) -> Markup {
    let text = |k: &str| {
        sherlock
            .get(k)
            .map(value_text)
            .filter(|v| !v.is_empty() && v != "null")
    };
    let num = |k: &str| sherlock.get(k).and_then(Value::as_f64);
    html! {
        h2 { "Context" }
        @if sherlock.is_empty() {
            p.note { "Not classified." }
        } @else {
            p.context-sentence {
                strong { (text("classification").unwrap_or_default()) }
                @if let Some(s) = text("description").or_else(|| text("summary")) { ": " (s) }
            }
            @if let Some(id) = text("catalogue_object_id") {
                table.fields {
                    tr { th { "Best match" } td {
                        a href=(format!("https://simbad.cds.unistra.fr/simbad/sim-id?Ident={}", url(&id)))
                            rel="noopener" target="_blank" { (id) }
                        @if let Some(c) = text("catalogue_table_name") { " in " (c) }
                        @if let Some(t) = text("catalogue_object_type") { " (" (t) ")" }
                    } }
                    @if let Some(sep) = num("separationArcsec") {
                        tr { th { "Separation" } td {
                            (format!("{sep:.2}″"))
                            @if let (Some(n), Some(e)) = (num("northSeparationArcsec"), num("eastSeparationArcsec")) {
                                (format!(" ({:.1}″ {}, {:.1}″ {} of the match)",
                                    n.abs(), if n >= 0.0 { "N" } else { "S" },
                                    e.abs(), if e >= 0.0 { "E" } else { "W" }))
                            }
                        } }
                    }
                    @if let Some(z) = num("z") { tr { th { "Redshift" } td { (format!("{z:.4}")) } } }
                    @if let Some(d) = num("distance").or_else(|| num("best_distance")) {
                        tr { th { "Distance" } td { (format!("{d:.1} Mpc")) } }
                    }
                }
            }
            details {
                summary { "Every context field" }
                table.fields {
                    @for (k, v) in sherlock { tr { th { (k) } td { (value_text(v)) } } }
                }
            }
        }
    }
}

fn url(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Links to the archives (by position) and to this object at the other brokers.
pub(crate) fn links(id: &ObjectId, ra: Option<f64>, dec: Option<f64>) -> Markup {
    let mut out: Vec<(&str, String)> = Vec::new();
    if let (Some(ra), Some(dec)) = (ra, dec) {
        out.push(("TNS", format!("https://www.wis-tns.org/search?ra={ra:.6}&decl={dec:.6}&radius=5&coords_unit=arcsec")));
        out.push(("NED", format!("https://ned.ipac.caltech.edu/conesearch?search_type=Near%20Position%20Search&coordinates={ra:.6}d%20{dec:+.6}d&radius=0.5")));
        out.push(("SIMBAD", format!("https://simbad.cds.unistra.fr/simbad/sim-coo?Coord={ra:.6}%20{dec:+.6}&Radius=10&Radius.unit=arcsec")));
        out.push(("Legacy Survey", format!("https://www.legacysurvey.org/viewer?ra={ra:.6}&dec={dec:.6}&layer=ls-dr10&zoom=16&mark={ra:.6},{dec:.6}")));
    }
    match id {
        ObjectId::Ztf(name) => {
            let n = url(name);
            out.push((
                "Lasair",
                format!("https://lasair-ztf.lsst.ac.uk/objects/{n}/"),
            ));
            out.push(("Fink", format!("https://ztf.fink-portal.org/{n}")));
            out.push(("ALeRCE", format!("https://alerce.online/object/{n}")));
            out.push((
                "ANTARES",
                format!("https://antares.noirlab.edu/loci/lookup/{n}"),
            ));
        }
        ObjectId::Lsst(n) => {
            out.push(("Lasair", format!("https://lasair.lsst.ac.uk/objects/{n}/")));
            out.push(("Fink", format!("https://lsst.fink-portal.org/{n}")));
            out.push((
                "ALeRCE",
                format!("https://lsst.alerce.online/object/{n}?survey=lsst"),
            ));
            out.push((
                "ANTARES",
                format!("https://antares.noirlab.edu/loci?search={n}"),
            ));
        }
    }
    html! {
        p.links-out {
            "Elsewhere: "
            @for (i, (name, href)) in out.iter().enumerate() {
                @if i > 0 { " · " }
                a href=(href) rel="noopener" target="_blank" { (name) }
            }
        }
    }
}
