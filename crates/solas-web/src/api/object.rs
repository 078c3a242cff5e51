//! `/api/object/`: everything about one object, in the shape of Lasair's answer.
//!
//! Parameters as Lasair's `ObjectSerializer`: `objectId` (text), `lite` (default false),
//! `lasair_added` (default true), `reliabilityThreshold` (default 0: sources with a lower
//! `reliability` are left out); and Solas's `asOf` (MJD), which adds `featuresAsOf`, the
//! features row as the broker would have computed it then.
//!
//! Rubin, `lasair_added` (the default): `{"diaObjectId", "diaObject": {ra, decl,
//! firstDiaSourceMjdTai, lastDiaSourceMjdTai}, "diaSourcesList" (newest first),
//! "diaForcedSourcesList", "lasairData": {<the objects row but ra/decl>, rasex, decsex,
//! ec_lon, ec_lat, g_lon, g_lat, now_mjd, mjdmin_ago, mjdmax_ago, disc*/latest*/peak*,
//! sherlock: {row}, sherlock_crossmatches: [every match, best first], TNS: {row},
//! annotations: [...], imageUrls: [...]}}`; `lite` keeps only a
//! few `objects` columns. Without `lasair_added`: `{"diaObjectId", "diaObject" (Rubin's own
//! summary, unless `lite`), "diaSourcesList", "diaForcedSourcesList"}` in time order.
//!
//! A full (not lite) answer gives every field the survey sent for each source, from the
//! archive's whole records (`solas_store::records`): Rubin's ~100 `diaSource` columns,
//! `diaForcedSource`, `diaNondetectionLimit` and the newest `diaObject`. Sources stored
//! before records were kept have the typed subset (`diaSourceId, diaObjectId,
//! midpointMjdTai, band, ra, dec, psfFlux, psfFluxErr, reliability`). Lasair's latest band
//! and peak (it takes the disc band and the lowest flux) are fixed here.
//!
//! ZTF (`survey=ztf`): Lasair-ZTF's shape, `{"objectId", "objectData", "candidates",
//! "count_isdiffpos", "count_all_candidates", "count_noncandidate", "message", "sherlock",
//! "TNS", "annotations"}`, and Solas's "sherlock_crossmatches" unless `lite`.
//!
//! Both surveys, unless `lite`: Solas's `counterparts` (in `lasairData` for Rubin, at the
//! top for ZTF), the same source in the other survey, each with its key (a Rubin
//! `diaObjectId` as an integer, a ZTF `objectId`), separation and detections, for the
//! combined lightcurve.
//! `candidates` are newest first, detections and non-detections
//! together; each has `mjd` and `since_now` and every field of its ZTF record; a detection
//! has its `candid` and `utc`; a non-detection has no `candid` and its limiting magnitude
//! as `magpsf`, as Lasair-ZTF marks them.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use solas_core::{CutoutKind, Detection, ObjectKey, Survey, SurveyObject};
use solas_store::Lightcurve;

use super::ObjectId;
use crate::auth::AuthUser;
use crate::db::{all, blocking, first};
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::server::LocalAddr;
use crate::{AppState, Shared};
use solas_store::db::Db;
use solas_store::main_db::object_view;

/// The `objects` columns of a lite answer.
const LITE_COLUMNS: [&str; 5] = [
    "nDiaSources",
    "ra",
    "decl",
    "firstDiaSourceMjdTai",
    "lastDiaSourceMjdTai",
];

struct Request {
    id: ObjectId,
    lite: bool,
    lasair_added: bool,
    reliability_threshold: f64,
    /// `asOf` (MJD): also the features row as computed from the sources up to then.
    as_of: Option<f64>,
    /// Start of the cutout links (`https://host`), or empty for links relative to this host.
    base_url: String,
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    local: Option<Extension<LocalAddr>>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let survey = super::survey(&mut c, state.shared.config.survey);
    let text = c.text("objectId", 256, false, None);
    let lite = c.boolean("lite", false);
    let lasair_added = c.boolean("lasair_added", true);
    let reliability_threshold = c.float("reliabilityThreshold", Some(0.0));
    let as_of = Some(c.float("asOf", Some(f64::NAN))).filter(|m| m.is_finite());
    c.finish()?;
    let id = ObjectId::parse(survey, &text).map_err(ApiError::Bad)?;
    // Never from the `Host` header: the client chooses it, and the answer would then
    // point whoever reads it at any host.
    let base_url = match (&state.shared.config.public_url, local) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(Extension(LocalAddr(addr)))) => format!("http://{addr}"),
        (None, None) => String::new(),
    };
    let request = Request {
        id,
        lite,
        lasair_added,
        reliability_threshold,
        as_of,
        base_url,
    };
    let shared = state.shared.clone();
    let viewer = user.id;
    let answer = blocking(move || -> Result<Value, ApiError> {
        let mut answer = answer(&shared, survey, &request)?;
        // Solas's addition: users' own measurements this user may see (their own and
        // public ones); the `lasair` client passes unknown keys through.
        let key = request.id.key().map_err(ApiError::Bad)?;
        let mine = solas_store::main_db::user_photometry::visible(
            &mut *shared.main.take()?,
            survey,
            &key,
            Some(viewer),
        )?;
        if !mine.is_empty() {
            answer["userPhotometry"] = Value::Array(
                crate::pages::user_photometry::lightcurve_points(&mine, Some(viewer)),
            );
        }
        Ok(answer)
    })
    .await??;
    Ok(Json(answer))
}

/// The answer for one object (on a blocking thread).
fn answer(shared: &Shared, survey: Survey, request: &Request) -> Result<Value, ApiError> {
    let mut answer = match survey {
        Survey::Lsst => lsst_object(shared, request),
        Survey::Ztf => ztf_object(shared, request),
    }?;
    if let Some(mjd) = request.as_of {
        answer["featuresAsOf"] = features_as_of(shared, survey, &request.id, mjd)?;
    }
    Ok(answer)
}

/// The full answer (Lasair's additions, every field, cutout links relative to the site)
/// for `text`, or why there is none: what `solas object` prints.
pub(crate) fn answer_for(
    shared: &Shared,
    survey: Survey,
    text: &str,
    as_of: Option<f64>,
) -> Result<Value, String> {
    let id = ObjectId::parse(survey, text)?;
    let request = Request {
        id,
        lite: false,
        lasair_added: true,
        reliability_threshold: 0.0,
        as_of,
        base_url: String::new(),
    };
    answer(shared, survey, &request).map_err(|e| match e {
        ApiError::NotFound(_) => format!("object {text} not found"),
        ApiError::Bad(m) => m,
        other => format!("{other:?}"),
    })
}

/// The features row as the broker would have computed it at `mjd`, from the sources
/// observed up to then (`solas_store::as_of`); null without a detection by then.
fn features_as_of(
    shared: &Shared,
    survey: Survey,
    id: &ObjectId,
    mjd: f64,
) -> Result<Value, ApiError> {
    let key = id.key().map_err(ApiError::Bad)?;
    let host = solas_store::as_of::host(&mut *shared.main.take()?, survey, &key)?;
    let row = shared.lightcurves.with(|store| {
        solas_store::as_of::object_row(store.as_mut(), None, survey, &key, mjd, host)
    })??;
    Ok(row.map_or(Value::Null, |r| {
        Value::Object(solas_store::as_of::to_json(&r))
    }))
}

fn not_found() -> ApiError {
    ApiError::NotFound(json!({ "detail": "Not found." }))
}

fn lightcurve(shared: &Shared, survey: Survey, id: &ObjectId) -> Result<Lightcurve, ApiError> {
    let key = id.key().map_err(ApiError::Bad)?;
    Ok(shared
        .lightcurves
        .with(|store| store.lightcurve(survey, &key))??)
}

/// Every record the archive keeps for an object, as JSON with every field the survey
/// sent, by row: what a full (not lite) answer gives.
#[derive(Default)]
pub(crate) struct Whole {
    pub detections: HashMap<i64, Value>,
    pub forced: HashMap<i64, Value>,
    pub non_detections: Vec<(f64, solas_core::Band, Value)>,
    /// Object-level records by name (`diaObject`, ...).
    pub object: HashMap<String, Value>,
}

pub(crate) fn whole_records(
    shared: &Shared,
    survey: Survey,
    id: &ObjectId,
) -> Result<Whole, ApiError> {
    let key = id.key().map_err(ApiError::Bad)?;
    let records = shared
        .lightcurves
        .with(|store| store.records(survey, &key))??;
    let mut reader = solas_decode::value::RecordReader::default();
    let mut json = |r: &solas_core::RawRecord| {
        reader
            .read(r)
            .map(|v| v.to_json())
            .map_err(|e| ApiError::internal(format!("a stored {} record: {e}", r.schema.name)))
    };
    let mut whole = Whole::default();
    for (source, r) in &records.detections {
        whole.detections.insert(*source, json(r)?);
    }
    for (source, r) in &records.forced {
        whole.forced.insert(*source, json(r)?);
    }
    for (mjd, band, r) in &records.non_detections {
        whole.non_detections.push((*mjd, *band, json(r)?));
    }
    for (_, r) in &records.object {
        whole.object.insert(r.schema.name.clone(), json(r)?);
    }
    Ok(whole)
}

/// The objects row (all columns, or the lite ones), if the object has one.
fn object_row(
    conn: &mut Db,
    survey: Survey,
    key: &ObjectKey,
    lite: bool,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let columns = (lite && survey == Survey::Lsst).then_some(&LITE_COLUMNS[..]);
    Ok(first(object_view::object_row(conn, survey, key, columns)?))
}

fn reliable(d: &Detection, threshold: f64) -> bool {
    threshold <= 0.0 || d.reliability.is_some_and(|r| r >= threshold)
}

fn lsst_object(shared: &Shared, r: &Request) -> Result<Value, ApiError> {
    let ObjectId::Lsst(object_id) = r.id else {
        return Err(ApiError::Bad("not a Rubin object".into()));
    };
    let mut conn = shared.main.take()?;
    let key = r.id.key().map_err(ApiError::Bad)?;
    let row = object_row(&mut conn, Survey::Lsst, &key, r.lite)?;
    let lc = lightcurve(shared, Survey::Lsst, &r.id)?;
    let whole = if r.lite {
        Whole::default()
    } else {
        whole_records(shared, Survey::Lsst, &r.id)?
    };
    let detections: Vec<&Detection> = lc
        .detections
        .iter()
        .filter(|d| reliable(d, r.reliability_threshold))
        .collect();
    let source = |d: &Detection| {
        // Every field Rubin sent, where the archive has the record.
        if let Some(full) = whole.detections.get(&d.source_id) {
            return full.clone();
        }
        let mut s = json!({
            "diaSourceId": d.source_id,
            "midpointMjdTai": d.mjd,
            "band": d.band.as_str(),
            "psfFlux": d.flux,
            "psfFluxErr": d.flux_err,
            "reliability": d.reliability,
        });
        if !r.lite {
            s["diaObjectId"] = json!(object_id);
            s["ra"] = json!(d.ra);
            s["dec"] = json!(d.dec);
        }
        s
    };
    let forced: Vec<Value> = lc
        .forced
        .iter()
        .map(|f| {
            if let Some(full) = whole.forced.get(&f.source_id) {
                return full.clone();
            }
            let mut s = json!({
                "diaForcedSourceId": f.source_id,
                "midpointMjdTai": f.mjd,
                "band": f.band.as_str(),
                "psfFlux": f.flux,
                "psfFluxErr": f.flux_err,
            });
            if !r.lite {
                s["diaObjectId"] = json!(object_id);
            }
            s
        })
        .collect();

    if !r.lasair_added {
        if row.is_none() && lc.detections.is_empty() {
            return Err(not_found());
        }
        let mut out = json!({
            "diaObjectId": object_id,
            "diaSourcesList": detections.iter().map(|d| source(d)).collect::<Vec<_>>(),
            "diaForcedSourcesList": forced,
        });
        if !r.lite {
            out["diaObject"] = match (whole.object.get("diaObject"), &lc.survey_object) {
                (Some(full), _) => full.clone(),
                (None, Some(SurveyObject::Lsst(Some(o)))) => {
                    serde_json::to_value(o).map_err(ApiError::internal)?
                }
                _ => Value::Null,
            };
            out["diaNondetectionLimitsList"] = whole
                .non_detections
                .iter()
                .map(|(_, _, v)| v.clone())
                .collect();
        }
        return Ok(out);
    }

    // Lasair answers 404 for an object without an objects row or without sources.
    let Some(mut data) = row else {
        return Err(not_found());
    };
    if lc.detections.is_empty() {
        return Err(not_found());
    }
    let num = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_f64);
    let (ra, dec) = match (num(&data, "ra"), num(&data, "decl")) {
        (Some(ra), Some(dec)) => (ra, dec),
        _ => (lc.detections[0].ra, lc.detections[0].dec),
    };
    let first = num(&data, "firstDiaSourceMjdTai");
    let last = num(&data, "lastDiaSourceMjdTai");
    let dia_object = json!({
        "ra": ra,
        "decl": dec,
        "firstDiaSourceMjdTai": first,
        "lastDiaSourceMjdTai": last,
    });
    data.remove("ra");
    data.remove("decl");
    add_position_and_times(&mut data, ra, dec, first, last);
    add_discovery(&mut data, &detections);
    data.insert(
        "sherlock".into(),
        Value::Object(sherlock_row(&mut conn, Survey::Lsst, &key)?),
    );
    if !r.lite {
        data.insert(
            "sherlock_crossmatches".into(),
            Value::Array(crossmatches(shared, &r.id, ra, dec)),
        );
    }
    data.insert(
        "TNS".into(),
        Value::Object(tns_row(&mut conn, Survey::Lsst, &key)?),
    );
    data.insert(
        "annotations".into(),
        Value::Array(annotations(&mut conn, Survey::Lsst, &key)?),
    );
    if !r.lite {
        data.insert(
            "counterparts".into(),
            Value::Array(counterparts(shared, &mut conn, Survey::Lsst, &key)?),
        );
    }
    data.insert(
        "imageUrls".into(),
        Value::Array(image_urls(shared, &r.base_url, &detections)?),
    );
    let mut newest_first = detections;
    newest_first.reverse();
    Ok(json!({
        "diaObjectId": object_id,
        "diaObject": dia_object,
        "diaSourcesList": newest_first.iter().map(|d| source(d)).collect::<Vec<_>>(),
        "diaForcedSourcesList": forced,
        "lasairData": data,
    }))
}

fn ztf_object(shared: &Shared, r: &Request) -> Result<Value, ApiError> {
    let mut conn = shared.main.take()?;
    let key = r.id.key().map_err(ApiError::Bad)?;
    let row = object_row(&mut conn, Survey::Ztf, &key, false)?;
    let lc = lightcurve(shared, Survey::Ztf, &r.id)?;
    if lc.detections.is_empty() && row.is_none() {
        return Err(not_found());
    }
    let whole = if r.lite {
        Whole::default()
    } else {
        whole_records(shared, Survey::Ztf, &r.id)?
    };
    let detections: Vec<&Detection> = lc
        .detections
        .iter()
        .filter(|d| reliable(d, r.reliability_threshold))
        .collect();
    let mut data = row.unwrap_or_default();
    let num = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_f64);
    let (ra, dec) = match (
        num(&data, "ramean"),
        num(&data, "decmean"),
        detections.first(),
    ) {
        (Some(ra), Some(dec), _) => (ra, dec),
        (_, _, Some(d)) => (d.ra, d.dec),
        _ => (f64::NAN, f64::NAN),
    };
    let jd_to_mjd = |jd: Option<f64>| jd.map(|j| j - 2_400_000.5);
    let first = jd_to_mjd(num(&data, "jdmin")).or(detections.first().map(|d| d.mjd));
    let last = jd_to_mjd(num(&data, "jdmax")).or(detections.last().map(|d| d.mjd));
    add_position_and_times(&mut data, ra, dec, first, last);
    let now = now_mjd();
    let mut candidates: Vec<Value> = detections
        .iter()
        .map(|d| {
            let mut c = json!({
                "candid": d.source_id,
                "mjd": d.mjd,
                "since_now": d.mjd - now,
                "utc": mjd_to_utc(d.mjd),
                "fid": d.band.ztf_fid(),
                "magpsf": d.mag,
                "sigmapsf": d.mag_err,
                "isdiffpos": if d.positive { "t" } else { "f" },
                "ra": d.ra,
                "decl": d.dec,
                "rb": d.rb,
                "drb": d.reliability,
                "nid": d.nid,
            });
            // Every field ZTF sent (the trigger's candidate where one came).
            add_fields(&mut c, whole.detections.get(&d.source_id));
            c
        })
        .collect();
    let limits: HashMap<(u64, solas_core::Band), &Value> = whole
        .non_detections
        .iter()
        .map(|(mjd, band, v)| ((mjd.to_bits(), *band), v))
        .collect();
    // A non-detection as Lasair-ZTF marks it: no `candid`, and `magpsf` is its limit.
    candidates.extend(lc.non_detections.iter().map(|n| {
        let mut c = json!({
            "mjd": n.mjd,
            "since_now": n.mjd - now,
            "fid": n.band.ztf_fid(),
            "diffmaglim": n.limiting_mag,
            "magpsf": n.limiting_mag,
        });
        add_fields(&mut c, limits.get(&(n.mjd.to_bits(), n.band)).copied());
        c
    }));
    // Newest first, detections and limits together, as Lasair-ZTF sorts them.
    let mjd = |c: &Value| c["mjd"].as_f64().unwrap_or(f64::NAN);
    candidates.sort_by(|a, b| mjd(b).total_cmp(&mjd(a)));
    let negative = detections.iter().filter(|d| !d.positive).count();
    let limits = lc.non_detections.len();
    let mut matches = json!({});
    if !r.lite {
        matches = json!({
            "sherlock_crossmatches": crossmatches(shared, &r.id, ra, dec),
            "counterparts": counterparts(shared, &mut conn, Survey::Ztf, &key)?,
        });
    }
    let mut answer = json!({
        "objectId": r.id.json(),
        "objectData": data,
        "candidates": candidates,
        "count_isdiffpos": negative,
        "count_all_candidates": detections.len(),
        "count_noncandidate": limits,
        "message": format!("Got {} candidates and {limits} noncandidates", detections.len()),
        "sherlock": sherlock_row(&mut conn, Survey::Ztf, &key)?,
        "TNS": tns_row(&mut conn, Survey::Ztf, &key)?,
        "annotations": annotations(&mut conn, Survey::Ztf, &key)?,
    });
    if let (Value::Object(a), Value::Object(m)) = (&mut answer, matches) {
        a.extend(m);
    }
    Ok(answer)
}

/// The object's counterparts in the other survey, nearest first: (its survey, its key,
/// separation in arcsec, its stored lightcurve). The API answers them, the object page
/// draws them.
pub(crate) fn counterpart_curves(
    shared: &Shared,
    conn: &mut solas_store::db::Db,
    survey: Survey,
    key: &solas_core::ObjectKey,
) -> Result<Vec<(Survey, solas_core::ObjectKey, f64, Lightcurve)>, ApiError> {
    let mut out = Vec::new();
    for (other, other_key, arcsec) in solas_store::main_db::counterparts::of(conn, survey, key)? {
        let lc = shared
            .lightcurves
            .with(|store| store.lightcurve(other, &other_key))??;
        out.push((other, other_key, arcsec, lc));
    }
    Ok(out)
}

/// The object's counterparts in the other survey, nearest first, each with its detections
/// in time order (times in its own survey's scale: Rubin TAI, ZTF UTC).
fn counterparts(
    shared: &Shared,
    conn: &mut solas_store::db::Db,
    survey: Survey,
    key: &solas_core::ObjectKey,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for (other, other_key, arcsec, lc) in counterpart_curves(shared, conn, survey, key)? {
        let detections: Vec<Value> = lc
            .detections
            .iter()
            .map(|d| {
                json!({
                    "sourceId": d.source_id, "mjd": d.mjd, "band": d.band.as_str(),
                    "flux": d.flux, "fluxErr": d.flux_err, "mag": d.mag, "magErr": d.mag_err,
                    "positive": d.positive,
                })
            })
            .collect();
        let (name, id) = match other {
            Survey::Lsst => ("Rubin", json!(other_key.id)),
            Survey::Ztf => ("ZTF", json!(other_key.name)),
        };
        out.push(json!({
            "survey": name,
            "objectId": id,
            "arcsec": arcsec,
            "timescale": match other { Survey::Lsst => "TAI", Survey::Ztf => "UTC" },
            "detections": detections,
        }));
    }
    Ok(out)
}

/// Every crossmatch of the object's position against the loaded catalogues, best first
/// (Sherlock's, computed now as `/api/sherlock/object/` computes it); none without
/// catalogues or a position.
fn crossmatches(shared: &Shared, id: &ObjectId, ra: f64, dec: f64) -> Vec<Value> {
    match &shared.sherlock {
        Some(cat) if ra.is_finite() && dec.is_finite() => {
            cat.crossmatches(&id.to_string(), ra, dec)
        }
        _ => Vec::new(),
    }
}

/// Every field of the stored record that a candidate does not have under Solas's names.
/// A non-detection's null `candid` is left out: Lasair-ZTF tells them apart by its absence.
fn add_fields(candidate: &mut Value, full: Option<&Value>) {
    if let (Some(Value::Object(full)), Value::Object(c)) = (full, candidate) {
        for (k, v) in full
            .iter()
            .filter(|(k, v)| !(*k == "candid" && v.is_null()))
        {
            c.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

fn now_mjd() -> f64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    secs / 86400.0 + 40587.0
}

/// Lasair's derived position and time fields.
fn add_position_and_times(
    data: &mut Map<String, Value>,
    ra: f64,
    dec: f64,
    first: Option<f64>,
    last: Option<f64>,
) {
    let now = now_mjd();
    if ra.is_finite() && dec.is_finite() {
        data.insert("rasex".into(), json!(ra_sexagesimal(ra)));
        data.insert("decsex".into(), json!(dec_sexagesimal(dec)));
        let (ec_lon, ec_lat) = ecliptic(ra, dec);
        data.insert("ec_lon".into(), json!(ec_lon));
        data.insert("ec_lat".into(), json!(ec_lat));
        let (g_lon, g_lat) = solas_features::sky::equatorial_to_galactic(ra, dec);
        data.insert("g_lon".into(), json!(g_lon));
        data.insert("g_lat".into(), json!(g_lat));
    }
    data.insert("now_mjd".into(), json!(format!("{now:.2}")));
    data.insert("mjdmin_ago".into(), json!(first.map(|m| now - m)));
    data.insert("mjdmax_ago".into(), json!(last.map(|m| now - m)));
}

/// Discovery, latest and peak detections (by flux), as Lasair's object page shows them.
fn add_discovery(data: &mut Map<String, Value>, detections: &[&Detection]) {
    let flux_text = |d: &Detection| match (d.flux, d.flux_err) {
        (Some(f), Some(e)) => json!(format!("{f:.2}±{e:.2}")),
        (Some(f), None) => json!(format!("{f:.2}")),
        _ => Value::Null,
    };
    let mut put = |prefix: &str, d: &Detection| {
        data.insert(format!("{prefix}Mjd"), json!(d.mjd));
        data.insert(format!("{prefix}Utc"), json!(mjd_to_utc(d.mjd)));
        data.insert(format!("{prefix}Mag"), flux_text(d));
        data.insert(format!("{prefix}Filter"), json!(d.band.as_str()));
    };
    // Detections arrive sorted by time.
    if let Some(first) = detections.first() {
        put("disc", first);
    }
    if let Some(latest) = detections.last() {
        put("latest", latest);
    }
    if let Some(peak) = detections
        .iter()
        .filter(|d| d.flux.is_some_and(f64::is_finite))
        .max_by(|a, b| a.flux.unwrap_or(0.0).total_cmp(&b.flux.unwrap_or(0.0)))
    {
        put("peak", peak);
    }
}

pub(crate) fn sherlock_row(
    conn: &mut Db,
    survey: Survey,
    key: &ObjectKey,
) -> Result<Map<String, Value>, ApiError> {
    Ok(first(object_view::sherlock_row(conn, survey, key)?).unwrap_or_default())
}

/// The TNS entry matched to the object. Empty values are left out, as Lasair does.
pub(crate) fn tns_row(
    conn: &mut Db,
    survey: Survey,
    key: &ObjectKey,
) -> Result<Map<String, Value>, ApiError> {
    Ok(first(object_view::tns_row(conn, survey, key)?)
        .map(|m| {
            m.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                .collect()
        })
        .unwrap_or_default())
}

pub(crate) fn annotations(
    conn: &mut Db,
    survey: Survey,
    key: &ObjectKey,
) -> Result<Vec<Value>, ApiError> {
    Ok(all(object_view::annotations(conn, survey, key)?)
        .into_iter()
        .map(Value::Object)
        .collect())
}

/// Links to the three cutouts of every source that has them, newest first. A cutout store
/// that cannot be asked (S3 down) leaves the links out rather than failing the answer: the
/// object's data is all there without them.
fn image_urls(
    shared: &Shared,
    base: &str,
    detections: &[&Detection],
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for d in detections.iter().rev() {
        match shared
            .cutouts
            .stored_size(Survey::Lsst, d.source_id, CutoutKind::Science)
        {
            Ok(Some(_)) => {}
            Ok(None) => continue,
            Err(e) => {
                log::warn!("cutout store unavailable, imageUrls left out: {e}");
                break;
            }
        }
        let url = |kind: &str| {
            format!(
                "{base}/fits/{}/{}_cutout{kind}",
                d.mjd.floor() as i64,
                d.source_id
            )
        };
        out.push(json!({
            "Science": url("Science"),
            "Template": url("Template"),
            "Difference": url("Difference"),
            "diaSourceId": d.source_id,
        }));
    }
    Ok(out)
}

/// `hh:mm:ss.sss`.
pub(crate) fn ra_sexagesimal(ra: f64) -> String {
    let total_ms = (ra.rem_euclid(360.0) / 15.0 * 3_600_000.0).round() as i64 % 86_400_000;
    let (h, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, ms) = (rest / 60_000, rest % 60_000);
    format!("{h:02}:{m:02}:{:02}.{:03}", ms / 1000, ms % 1000)
}

/// `±dd:mm:ss.sss` (Lasair writes no sign for the north).
pub(crate) fn dec_sexagesimal(dec: f64) -> String {
    let total_ms = (dec.abs() * 3_600_000.0).round() as i64;
    let (d, rest) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, ms) = (rest / 60_000, rest % 60_000);
    let sign = if dec < 0.0 { "-" } else { "" };
    format!("{sign}{d:02}:{m:02}:{:02}.{:03}", ms / 1000, ms % 1000)
}

/// Equatorial (J2000) to ecliptic (J2000 mean obliquity) longitude and latitude, degrees.
fn ecliptic(ra: f64, dec: f64) -> (f64, f64) {
    let eps = 23.439_291_1_f64.to_radians();
    let (a, d) = (ra.to_radians(), dec.to_radians());
    let lon = (a.sin() * eps.cos() + d.tan() * eps.sin()).atan2(a.cos());
    let lat = (d.sin() * eps.cos() - d.cos() * eps.sin() * a.sin()).asin();
    (lon.to_degrees().rem_euclid(360.0), lat.to_degrees())
}

/// `YYYY-MM-DD hh:mm:ss` for an MJD.
pub(crate) fn mjd_to_utc(mjd: f64) -> String {
    let secs = ((mjd - 40587.0) * 86400.0).round() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (year, month, day) = solas_core::night::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sexagesimal_and_dates() {
        assert_eq!(ra_sexagesimal(0.814293), "00:03:15.430");
        assert_eq!(ra_sexagesimal(359.99999999), "00:00:00.000");
        assert_eq!(dec_sexagesimal(16.1456989), "16:08:44.516");
        assert_eq!(dec_sexagesimal(-45.24411476554913), "-45:14:38.813");
        assert_eq!(mjd_to_utc(40587.0), "1970-01-01 00:00:00");
        assert_eq!(mjd_to_utc(60924.5), "2025-09-06 12:00:00");
        assert_eq!(mjd_to_utc(51544.5), "2000-01-01 12:00:00");
    }

    #[test]
    fn ecliptic_of_known_points() {
        // The vernal equinox and the north ecliptic pole.
        let (lon, lat) = ecliptic(0.0, 0.0);
        assert!(lon.abs() < 1e-9 && lat.abs() < 1e-9);
        let (_, lat) = ecliptic(270.0, 66.560_708_9);
        assert!((lat - 90.0).abs() < 1e-6, "{lat}");
    }
}
