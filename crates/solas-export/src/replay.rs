//! Alerts out of the archive as the surveys framed them, for a replay (`solas replay
//! --archive`): each stored alert of a time window rebuilt (`solas_decode::rebuild`) from
//! its envelope, its object's records and its cutouts, oldest first.

use std::collections::HashMap;

use solas_core::{CutoutKind, ObjectKey, Survey};
use solas_decode::rebuild::{rebuild, Parts};
use solas_store::records::StoredAlert;
use solas_store::{BlobStore, LightcurveStore};

use crate::ExportError;

/// Alerts read from the store at a time.
const PAGE: usize = 1000;

/// What an object's alerts are rebuilt from (all but the envelope, alert id and time).
struct ObjectParts {
    object_id: i64,
    parts: Parts,
    /// The trigger records of each of the object's alerts, by alert id.
    trigger: Vec<(i64, solas_core::RawRecord)>,
}

/// Every stored alert of `survey` triggered in `[from, to)` (MJD), in time order, framed as
/// the survey frames it, handed to `each` with its alert id. Returns how many.
pub fn each_alert<E: From<ExportError>>(
    store: &mut dyn LightcurveStore,
    cutouts: &dyn BlobStore,
    survey: Survey,
    window: (f64, f64),
    mut each: impl FnMut(i64, Vec<u8>) -> Result<(), E>,
) -> Result<u64, E> {
    let mut after = None;
    let mut sent = 0;
    let mut last: Option<ObjectParts> = None;
    loop {
        let page = store
            .alerts(survey, window, after, PAGE)
            .map_err(ExportError::from)?;
        let Some(newest) = page.last() else {
            return Ok(sent);
        };
        after = Some((newest.mjd, newest.alert_id));
        for alert in &page {
            // An object's alerts often come one after another (a night's revisits).
            let mut object = match last.take() {
                Some(o) if o.object_id == alert.object_id => o,
                _ => object_parts(store, survey, alert)?,
            };
            // The object's records are shared by its alerts; only what is the alert's own
            // is set for each.
            let parts = &mut object.parts;
            parts.alert_id = alert.alert_id;
            parts.mjd = alert.mjd;
            parts.envelope = alert.envelope.clone();
            parts.trigger = object
                .trigger
                .iter()
                .filter(|(id, _)| *id == alert.alert_id)
                .map(|(_, r)| r.clone())
                .collect();
            parts.cutouts = stamps(cutouts, survey, alert.alert_id)?;
            let framed = rebuild(parts).map_err(|source| ExportError::Record {
                schema: alert.envelope.alert_schema.name.clone(),
                source,
            })?;
            each(alert.alert_id, framed)?;
            sent += 1;
            last = Some(object);
        }
    }
}

/// The records of an alert's object, with each source's time.
fn object_parts(
    store: &mut dyn LightcurveStore,
    survey: Survey,
    alert: &StoredAlert,
) -> Result<ObjectParts, ExportError> {
    // The stores look objects up by their 64-bit key alone.
    let key = ObjectKey {
        id: alert.object_id,
        name: String::new(),
    };
    let lightcurve = store.lightcurve(survey, &key)?;
    let records = store.records(survey, &key)?;
    let detection_mjd: HashMap<i64, f64> = lightcurve
        .detections
        .iter()
        .map(|d| (d.source_id, d.mjd))
        .collect();
    let forced_mjd: HashMap<i64, f64> = lightcurve
        .forced
        .iter()
        .map(|f| (f.source_id, f.mjd))
        .collect();
    let timed = |list: Vec<(i64, solas_core::RawRecord)>, mjds: &HashMap<i64, f64>| {
        list.into_iter()
            .filter_map(|(id, r)| mjds.get(&id).map(|m| (id, *m, r)))
            .collect::<Vec<_>>()
    };
    Ok(ObjectParts {
        object_id: alert.object_id,
        parts: Parts {
            survey,
            alert_id: alert.alert_id,
            mjd: alert.mjd,
            envelope: alert.envelope.clone(),
            detections: timed(records.detections, &detection_mjd),
            forced: timed(records.forced, &forced_mjd)
                .into_iter()
                .map(|(_, m, r)| (m, r))
                .collect(),
            non_detections: records
                .non_detections
                .into_iter()
                .map(|(m, _, r)| (m, r))
                .collect(),
            object: records.object.into_iter().map(|(_, r)| r).collect(),
            trigger: Vec::new(),
            cutouts: Vec::new(),
        },
        trigger: records.trigger,
    })
}

/// The stored cutouts of one alert's trigger.
fn stamps(
    cutouts: &dyn BlobStore,
    survey: Survey,
    alert_id: i64,
) -> Result<Vec<(CutoutKind, Vec<u8>)>, ExportError> {
    let mut out = Vec::new();
    for kind in [
        CutoutKind::Science,
        CutoutKind::Template,
        CutoutKind::Difference,
    ] {
        if let Some(fits) = cutouts.get_cutout(survey, alert_id, kind)? {
            out.push((kind, fits));
        }
    }
    Ok(out)
}
