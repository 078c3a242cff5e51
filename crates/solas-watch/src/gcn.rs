//! GCN notices as events to tag objects with: the unified JSON schemas of
//! nasa-gcn/gcn-schema (Swift BAT, Fermi GBM and LAT, SVOM, Einstein Probe, IceCube,
//! KM3NeT, MAXI…) and LVK's alerts (igwn-gwalert JSON, the skymap embedded in base64).
//!
//! A notice becomes a [`Notice`]: the event's name (one name per event across its
//! notices, so an update replaces what an earlier notice said), when it happened (UTC),
//! and what to do: locate it (an error circle, made into a skymap by
//! [`crate::circle_fits`], or the skymap the notice carries), retract it, or nothing (a
//! notice without a position). Bad input is an error naming what is wrong; nothing panics.

use serde_json::Value;

/// What a notice asks of the broker.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The event and where it is: a skymap FITS file (LVK's, or an error circle's).
    Locate { skymap: Vec<u8> },
    /// The event was not real: its tags go.
    Retract,
    /// A notice that says nothing of where the event is (a first Fermi GBM alert).
    Unlocated,
}

/// One notice, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The event's name, the same in all its notices: LVK's superevent id, the notice's
    /// `event_name`, or mission, instrument and trigger id (`Swift BAT-GUANO 694215995`).
    pub name: String,
    /// `EM`, `GW` or `Neutrino`.
    pub messenger: String,
    /// When the event happened, MJD (UTC); None for a retraction that does not say.
    pub event_mjd: Option<f64>,
    pub action: Action,
    /// A test, mock or injected event (`alert_tense` other than current; LVK's `M…`/`T…`
    /// superevents): followers skip these unless asked.
    pub test: bool,
}

/// Why a notice could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoticeError {
    #[error("not a JSON object: {0}")]
    Json(String),
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
    #[error("the error circle cannot be drawn: {0}")]
    Circle(String),
}

fn field(field: &'static str, why: impl Into<String>) -> NoticeError {
    NoticeError::Field {
        field,
        why: why.into(),
    }
}

/// Reads a notice (JSON bytes).
pub fn parse_notice(bytes: &[u8]) -> Result<Notice, NoticeError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| NoticeError::Json(e.to_string()))?;
    if !v.is_object() {
        return Err(NoticeError::Json(
            "a JSON value that is not an object".into(),
        ));
    }
    if v.get("superevent_id").is_some() {
        lvk(&v)
    } else {
        unified(&v)
    }
}

/// LVK's alerts: `superevent_id`, `alert_type`, `event.time`, `event.skymap` (base64).
fn lvk(v: &Value) -> Result<Notice, NoticeError> {
    let name = v["superevent_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| field("superevent_id", "not a name"))?
        .to_string();
    let test = name.starts_with('M') || name.starts_with('T');
    let kind = v["alert_type"].as_str().unwrap_or_default();
    let event = &v["event"];
    let event_mjd = match event["time"].as_str() {
        Some(t) => Some(iso_to_mjd(t).ok_or_else(|| field("event.time", format!("{t:?}")))?),
        None => None,
    };
    let action = if kind.eq_ignore_ascii_case("RETRACTION") {
        Action::Retract
    } else {
        let text = event["skymap"]
            .as_str()
            .ok_or_else(|| field("event.skymap", "missing"))?;
        use base64::Engine;
        let skymap = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| field("event.skymap", format!("not base64: {e}")))?;
        Action::Locate { skymap }
    };
    if action != Action::Retract && event_mjd.is_none() {
        return Err(field("event.time", "missing"));
    }
    Ok(Notice {
        name,
        messenger: "GW".into(),
        event_mjd,
        action,
        test,
    })
}

/// gcn-schema's unified notices.
fn unified(v: &Value) -> Result<Notice, NoticeError> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let first = |k: &str| match v.get(k) {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_string),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    // Some missions leave `mission` out; their schema's path names them.
    let schema_mission = text("$schema").and_then(|s| {
        let rest = s.split("/gcn/notices/").nth(1)?;
        Some(rest.split('/').next()?.to_string())
    });
    let mission = text("mission")
        .map(str::to_string)
        .or(schema_mission)
        .ok_or_else(|| field("mission", "missing, and no $schema names one"))?;
    // A notice about another event (IceCube's search around an LVK superevent) names it
    // in `ref_ID`.
    let id = first("id").or_else(|| first("ref_ID"));
    let name = match (first("event_name"), id) {
        (Some(event), _) => event,
        (None, Some(id)) => match text("instrument") {
            Some(instrument) => format!("{mission} {instrument} {id}"),
            None => format!("{mission} {id}"),
        },
        (None, None) => return Err(field("id", "neither event_name nor id")),
    };
    let test = text("alert_tense").is_some_and(|t| t != "current");
    let messenger = text("messenger").unwrap_or("EM").to_string();
    let event_mjd = match text("trigger_time") {
        Some(t) => Some(iso_to_mjd(t).ok_or_else(|| field("trigger_time", format!("{t:?}")))?),
        None => None,
    };
    // The map the notice carries, if it is one; else its error circle.
    let carried = text("healpix_file").map(|encoded| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| field("healpix_file", format!("not base64: {e}")))
            .and_then(|bytes| match crate::Skymap::from_fits(&bytes) {
                Ok(_) => Ok(bytes),
                Err(e) => Err(field("healpix_file", format!("not a skymap: {e}"))),
            })
    });
    let action = if text("alert_type") == Some("retraction") {
        Action::Retract
    } else if let Some(Ok(skymap)) = carried {
        Action::Locate { skymap }
    } else {
        match (v.get("ra"), v.get("dec"), v.get("ra_dec_error")) {
            (Some(ra), Some(dec), Some(err)) => {
                let number = |x: &Value, f: &'static str| {
                    x.as_f64()
                        .ok_or_else(|| field(f, format!("not a number: {x}")))
                };
                // An error given as an ellipse or by statistical and systematic parts:
                // the largest number is the circle that holds them.
                let radius = match err {
                    Value::Array(a) => a.iter().filter_map(Value::as_f64).fold(f64::NAN, f64::max),
                    x => number(x, "ra_dec_error")?,
                };
                let containment = v
                    .get("containment_probability")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.9);
                let skymap = crate::circle_fits(
                    number(ra, "ra")?,
                    number(dec, "dec")?,
                    radius,
                    containment,
                    Some(&name),
                    event_mjd,
                )
                .map_err(|e| NoticeError::Circle(e.to_string()))?;
                Action::Locate { skymap }
            }
            // A map that could not be read and no circle to fall back on.
            _ => match carried {
                Some(Err(e)) => return Err(e),
                _ => Action::Unlocated,
            },
        }
    };
    if matches!(action, Action::Locate { .. }) && event_mjd.is_none() {
        return Err(field("trigger_time", "missing"));
    }
    Ok(Notice {
        name,
        messenger,
        event_mjd,
        action,
        test,
    })
}

/// An ISO 8601 UTC time (`2024-08-24T02:14:40.43`, `…Z`, `…+00:00`) as an MJD.
pub fn iso_to_mjd(t: &str) -> Option<f64> {
    let t = t.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix("+00:00"))
        .unwrap_or(t);
    let (date, time) = t.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let mut hms = time.splitn(3, ':');
    let (h, min): (i64, i64) = (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    let sec: f64 = hms.next().map_or(Some(0.0), |s| s.parse().ok())?;
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || h > 23
        || min > 59
        || !(0.0..61.0).contains(&sec)
    {
        return None;
    }
    // Days from 1970-01-01 (H. Hinnant's days-from-civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(40_587.0 + days as f64 + (h * 3600 + min * 60) as f64 / 86_400.0 + sec / 86_400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_are_mjds() {
        assert_eq!(iso_to_mjd("1970-01-01T00:00:00Z"), Some(40_587.0));
        let t = iso_to_mjd("2023-04-16T05:22:26.150574Z").unwrap();
        assert!(
            (t - (60_050.0 + (5.0 * 3600.0 + 22.0 * 60.0 + 26.150574) / 86_400.0)).abs() < 1e-9
        );
        assert_eq!(
            iso_to_mjd("2024-08-24T02:14:40.43"),
            iso_to_mjd("2024-08-24T02:14:40.43Z")
        );
        assert_eq!(iso_to_mjd("yesterday"), None);
        assert_eq!(iso_to_mjd("2024-13-01T00:00:00"), None);
    }

    #[test]
    fn bad_notices_are_errors_that_say_why() {
        assert!(matches!(parse_notice(b"{"), Err(NoticeError::Json(_))));
        assert!(matches!(parse_notice(b"[1]"), Err(NoticeError::Json(_))));
        let no_id = br#"{"mission": "Swift", "ra": 1, "dec": 2, "ra_dec_error": 0.1}"#;
        assert!(matches!(
            parse_notice(no_id),
            Err(NoticeError::Field { field: "id", .. })
        ));
        let bad_ra = br#"{"mission": "Swift", "id": ["1"], "trigger_time": "2024-01-01T00:00:00Z",
                          "ra": "north", "dec": 2, "ra_dec_error": 0.1}"#;
        assert!(matches!(
            parse_notice(bad_ra),
            Err(NoticeError::Field { field: "ra", .. })
        ));
        let lvk = br#"{"superevent_id": "S1", "alert_type": "INITIAL",
                       "event": {"time": "2024-01-01T00:00:00Z", "skymap": "%%%"}}"#;
        assert!(matches!(
            parse_notice(lvk),
            Err(NoticeError::Field {
                field: "event.skymap",
                ..
            })
        ));
    }
}
