//! The archive as of a date: an object's features row as the broker would have computed it
//! at a past MJD, from the sources observed up to then (each in the version stored now),
//! so that a filter can be re-run as the broker knew it on a past night.

use solas_core::{ObjectKey, Survey, SurveyObject, ZtfContext};
use solas_features::{Context, DustMap, FeatureInput, HostContext, ObjectRow};

use crate::{LightcurveStore, StoreError};

/// The objects row as the broker would have computed it at `as_of` (MJD, TAI for Rubin):
/// from the sources observed up to then, each in the version stored now, with E(B−V) at
/// the newest of them, ZTF's neighbour columns from the newest trigger by then (its stored
/// candidate record), and Rubin's `diaObject` columns from the `diaObject` the newest
/// alert by then carried (today's for alerts stored before those were kept per alert).
/// None without a detection by then (or for a Rubin object with no DIA object).
pub fn object_row(
    lightcurves: &mut dyn LightcurveStore,
    dust: Option<&DustMap>,
    survey: Survey,
    object: &ObjectKey,
    as_of: f64,
    host: Option<HostContext>,
) -> Result<Option<ObjectRow>, StoreError> {
    let mut lc = lightcurves.lightcurve(survey, object)?;
    lc.detections.retain(|d| d.mjd <= as_of);
    lc.forced.retain(|f| f.mjd <= as_of);
    lc.non_detections.retain(|n| n.mjd <= as_of);
    let (Some(newest), Some(stored)) = (lc.detections.last(), lc.survey_object.as_ref()) else {
        return Ok(None);
    };
    if matches!(stored, SurveyObject::Lsst(None)) {
        return Ok(None);
    }
    let then = match stored {
        SurveyObject::Ztf(_) => {
            ztf_context_as_of(lightcurves, survey, object, &lc.detections)?.map(SurveyObject::Ztf)
        }
        SurveyObject::Lsst(_) => dia_object_as_of(lightcurves, survey, object, &lc.detections)?
            .map(|o| SurveyObject::Lsst(Some(Box::new(o)))),
    };
    let survey_object = then.as_ref().unwrap_or(stored);
    let context = Context {
        ebv: dust.map(|d| d.ebv(newest.ra, newest.dec)),
        host,
    };
    Ok(Some(solas_features::compute(&FeatureInput {
        object,
        detections: &lc.detections,
        forced: &lc.forced,
        non_detections: &lc.non_detections,
        survey_object,
        context: &context,
    })))
}

/// ZTF's object-level columns (PS1 neighbour, known asteroid) as the newest trigger among
/// `detections` gave them: from its stored `candidate` record. None when none is stored.
fn ztf_context_as_of(
    lightcurves: &mut dyn LightcurveStore,
    survey: Survey,
    object: &ObjectKey,
    detections: &[solas_core::Detection],
) -> Result<Option<ZtfContext>, StoreError> {
    let records = lightcurves.records(survey, object)?;
    let by_source: std::collections::HashMap<i64, &solas_core::RawRecord> =
        records.detections.iter().map(|(id, r)| (*id, r)).collect();
    let Some(record) = detections
        .iter()
        .rev()
        .filter_map(|d| by_source.get(&d.source_id))
        .find(|r| r.schema.name == "candidate")
    else {
        return Ok(None);
    };
    solas_decode::ztf::context_of_record(record)
        .map(Some)
        .map_err(|e| StoreError::Invalid(format!("a stored candidate record: {e}")))
}

/// The `diaObject` the newest alert among `detections` carried (alerts are keyed by their
/// trigger's source id), from the alert's own stored record. None when none is stored.
fn dia_object_as_of(
    lightcurves: &mut dyn LightcurveStore,
    survey: Survey,
    object: &ObjectKey,
    detections: &[solas_core::Detection],
) -> Result<Option<solas_core::survey::lsst::DiaObject>, StoreError> {
    let records = lightcurves.records(survey, object)?;
    let by_alert: std::collections::HashMap<i64, &solas_core::RawRecord> = records
        .trigger
        .iter()
        .filter(|(_, r)| r.schema.name == "diaObject")
        .map(|(alert, r)| (*alert, r))
        .collect();
    let Some(record) = detections
        .iter()
        .rev()
        .find_map(|d| by_alert.get(&d.source_id))
    else {
        return Ok(None);
    };
    solas_decode::lsst::dia_object_of_record(record)
        .map(Some)
        .map_err(|e| StoreError::Invalid(format!("a stored diaObject record: {e}")))
}

/// The host the context stage found for an object (its stored Sherlock row), for
/// [`object_row`]: the absolute-magnitude columns need its distance or redshift.
pub fn host(
    main: &mut crate::db::Db,
    survey: Survey,
    object: &ObjectKey,
) -> Result<Option<HostContext>, StoreError> {
    use crate::db::Value;
    let (names, rows) = crate::main_db::object_view::sherlock_row(main, survey, object)?;
    Ok(rows.first().map(|row| {
        let get = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .and_then(|i| row.0.get(i))
        };
        let number = |name: &str| match get(name) {
            Some(Value::Float(x)) if x.is_finite() => Some(*x),
            Some(Value::Int(n)) => Some(*n as f64),
            _ => None,
        };
        HostContext {
            classification: match get("classification") {
                Some(Value::Text(t)) => t.clone(),
                _ => String::new(),
            },
            best_distance_mpc: number("best_distance"),
            z: number("z"),
            photoz: number("photoZ"),
        }
    }))
}

/// A features row as JSON, column by column.
pub fn to_json(row: &ObjectRow) -> serde_json::Map<String, serde_json::Value> {
    use solas_features::Value;
    row.columns
        .iter()
        .zip(&row.values)
        .map(|(c, v)| {
            let v = match v {
                Value::Null => serde_json::Value::Null,
                Value::Int(n) => serde_json::json!(n),
                Value::Float(x) => serde_json::json!(x),
                Value::Text(t) => serde_json::json!(t),
            };
            (c.name.to_string(), v)
        })
        .collect()
}

/// The objects rows of every object detected in `[since, as_of]` (MJD) as the broker would
/// have computed them at `as_of`: what a filter re-run on a past night reads
/// ([`crate::main_db::filter_runs::FilterRunner::shadow_objects`]), each with the host its
/// stored context row gives.
pub fn rows_of_night(
    lightcurves: &mut dyn LightcurveStore,
    main: &mut crate::db::Db,
    survey: Survey,
    since: f64,
    as_of: f64,
) -> Result<Vec<ObjectRow>, StoreError> {
    let mut objects = std::collections::BTreeSet::new();
    let selection = crate::records::Selection {
        objects: None,
        // The window is [from, to): the detections at `as_of` itself count.
        mjd: Some((since, next_up(as_of))),
    };
    lightcurves.each_source(
        survey,
        crate::records::SourceKind::Detections,
        &selection,
        &mut |object, _| {
            objects.insert(object);
            std::ops::ControlFlow::Continue(())
        },
    )?;
    let mut rows = Vec::with_capacity(objects.len());
    for id in objects {
        let key = match survey {
            Survey::Lsst => ObjectKey::lsst(id),
            Survey::Ztf => ObjectKey {
                id,
                name: solas_core::ids::unpack_ztf_id(id).unwrap_or_else(|_| id.to_string()),
            },
        };
        let host = host(main, survey, &key)?;
        if let Some(row) = object_row(lightcurves, None, survey, &key, as_of, host)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The next real above `x`: an inclusive end as an exclusive one.
fn next_up(x: f64) -> f64 {
    if x.is_finite() {
        f64::from_bits(if x >= 0.0 {
            x.to_bits() + 1
        } else {
            x.to_bits() - 1
        })
    } else {
        x
    }
}
