//! Filter results as GCN notices (output mode `kafka-gcn`): one notice per object in the
//! published schema for optical alerts that crossmatch GCN events
//! (`gcn/notices/boom/alert.schema.json` of nasa-gcn/gcn-schema, the shape BOOM sends for
//! its gravitational-wave coincidences), so GCN's consumers read Solas's hits as they read
//! BOOM's. The notice carries the object (name, position, the classifiers' latest
//! probabilities, the events whose skymaps hold it) and its photometry from the alert.
//!
//! The pipeline fills a [`Target`]; this module owns the notice's JSON. `alert_datetime` is
//! added by the Kafka sink when the notice is sent ([`with_alert_datetime`]), so a notice
//! sent again after a crash keeps its record id.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::Record;

/// The schema every notice names (gcn-schema release 7.2.3).
pub const SCHEMA: &str = "https://gcn.nasa.gov/schema/v7.2.3/gcn/notices/boom/alert.schema.json";
/// Who reports: the notice's `mission`.
pub const MISSION: &str = "Solas";

/// One object as a notice tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The object's name (ZTF objectId, or Rubin's diaObjectId in decimal).
    pub name: String,
    pub ra: f64,
    pub dec: f64,
    /// Class label → probability (the classifiers' latest).
    pub scores: Vec<(String, f64)>,
    /// The events (gravitational-wave and others) whose skymaps hold the object.
    pub events: Vec<String>,
    pub photometry: Vec<Point>,
}

/// One observation of the object: a detection (magnitude and error) or a limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// When the exposure started, UTC, as seconds since 1970 (fractional).
    pub unix_utc: f64,
    pub telescope: &'static str,
    pub instrument: &'static str,
    /// The filter as sncosmo names it (`ztfg`, `lsstr`).
    pub filter: String,
    pub mag: Option<f64>,
    pub mag_error: Option<f64>,
    pub limiting_mag: Option<f64>,
}

/// The notice for one object (without `alert_datetime`).
pub fn notice(target: &Target) -> Record {
    let mut crossmatch = Vec::new();
    for name in &target.events {
        let (kind, instrument) = event_kind(name);
        let mut m = Map::new();
        m.insert("ref_type".into(), kind.into());
        if let Some(i) = instrument {
            m.insert("ref_instrument".into(), i.into());
        }
        m.insert("ref_ID".into(), name.clone().into());
        crossmatch.push(Value::Object(m));
    }
    let mut object = Map::new();
    object.insert("event_name".into(), target.name.clone().into());
    object.insert("ra".into(), json!(target.ra));
    object.insert("dec".into(), json!(target.dec));
    if !target.scores.is_empty() {
        let scores: Map<String, Value> = target
            .scores
            .iter()
            .filter(|(_, p)| p.is_finite())
            .map(|(k, p)| (k.clone(), json!(p)))
            .collect();
        object.insert("classification_scores".into(), Value::Object(scores));
    }
    if !crossmatch.is_empty() {
        object.insert("gcn_crossmatch".into(), Value::Array(crossmatch));
    }
    let photometry: Vec<Value> = target
        .photometry
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("event_name".into(), target.name.clone().into());
            m.insert("observation_start".into(), iso_utc(p.unix_utc).into());
            m.insert("telescope".into(), p.telescope.into());
            m.insert("instrument".into(), p.instrument.into());
            m.insert("filter".into(), p.filter.clone().into());
            m.insert("mag_system".into(), "AB".into());
            for (key, v) in [
                ("mag", p.mag),
                ("mag_error", p.mag_error),
                ("limiting_mag", p.limiting_mag),
            ] {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    m.insert(key.into(), json!(v));
                }
            }
            Value::Object(m)
        })
        .collect();
    let mut notice = Map::new();
    notice.insert("$schema".into(), SCHEMA.into());
    notice.insert("mission".into(), MISSION.into());
    notice.insert("alert_tense".into(), "current".into());
    notice.insert(
        "data".into(),
        json!({ "targets": [Value::Object(object)], "photometry": photometry }),
    );
    Record(notice)
}

/// A notice as sent: with `alert_datetime`, the send time.
pub fn with_alert_datetime(record: &Record, now: SystemTime) -> Vec<u8> {
    let mut map = record.0.clone();
    let unix = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    map.insert("alert_datetime".into(), iso_utc(unix).into());
    serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
}

/// The notice's object, the Kafka key.
pub fn event_name(record: &Record) -> Option<String> {
    record.0.get("data")?.get("targets")?.get(0)?["event_name"]
        .as_str()
        .map(str::to_string)
}

/// What kind of event a name is: LVK's superevents (`S230518h`) and confirmed events
/// (`GW170817`) are gravitational waves; other names are reported as events.
fn event_kind(name: &str) -> (&'static str, Option<&'static str>) {
    let digits = |s: &str| s.len() >= 6 && s[..6].bytes().all(|b| b.is_ascii_digit());
    let lvk = name.strip_prefix("GW").is_some_and(digits)
        || name.strip_prefix('S').is_some_and(digits)
        || name.strip_prefix("MS").is_some_and(digits);
    match lvk {
        true => ("GW", Some("LVK")),
        false => ("event", None),
    }
}

/// ISO 8601 in UTC with milliseconds and `Z` (the notices' time format).
pub fn iso_utc(unix: f64) -> String {
    let millis = (unix * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (y, m, d) = crate::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_has_the_object_its_events_and_its_photometry() {
        let target = Target {
            name: "ZTF21abiuvdk".into(),
            ra: 150.1,
            dec: 15.2,
            scores: vec![("KN".into(), 0.12), ("SN".into(), f64::NAN)],
            events: vec!["S251117bs".into(), "IceCube-230101A".into()],
            photometry: vec![Point {
                unix_utc: 1_709_210_096.5,
                telescope: "Palomar 1.2m Oschin",
                instrument: "ZTF",
                filter: "ztfg".into(),
                mag: Some(18.1),
                mag_error: Some(0.02),
                limiting_mag: None,
            }],
        };
        let n = notice(&target);
        assert_eq!(event_name(&n).as_deref(), Some("ZTF21abiuvdk"));
        let t = &n.0["data"]["targets"][0];
        assert_eq!(t["classification_scores"], json!({"KN": 0.12}));
        assert_eq!(
            t["gcn_crossmatch"][0],
            json!({"ref_type": "GW", "ref_instrument": "LVK", "ref_ID": "S251117bs"})
        );
        assert_eq!(t["gcn_crossmatch"][1]["ref_type"], "event");
        let p = &n.0["data"]["photometry"][0];
        assert_eq!(p["observation_start"], "2024-02-29T12:34:56.500Z");
        assert!(p.get("limiting_mag").is_none());
        let sent: Value = serde_json::from_slice(&with_alert_datetime(&n, UNIX_EPOCH)).unwrap();
        assert_eq!(sent["alert_datetime"], "1970-01-01T00:00:00.000Z");
        assert!(
            n.0.get("alert_datetime").is_none(),
            "the record id ignores the send time"
        );
    }
}
