//! Features for one object: its stored lightcurve and newest survey summary, plus the
//! context known so far (E(B−V) when a dust map is configured, the host from the context
//! stage), through `solas-features`.

use solas_core::{Alert, ObjectKey, Survey, SurveyObject, ZtfContext};
use solas_features::{Context, DustMap, FeatureInput, HostContext, ObjectRow};
use solas_store::{LightcurveStore, StoreError};

/// The objects row for `alert`'s object, or None for Rubin solar-system sources (no DIA
/// object, so nothing for the objects table).
pub fn object_row(
    lightcurves: &mut dyn LightcurveStore,
    dust: Option<&DustMap>,
    alert: &Alert,
    host: Option<HostContext>,
) -> Result<Option<ObjectRow>, StoreError> {
    let lc = lightcurves.lightcurve(alert.survey, &alert.object)?;
    let survey_object = lc.survey_object.as_ref().unwrap_or(&alert.survey_object);
    if matches!(survey_object, SurveyObject::Lsst(None)) {
        return Ok(None);
    }
    let context = Context {
        ebv: dust.map(|d| d.ebv(alert.ra, alert.dec)),
        host,
    };
    let input = FeatureInput {
        object: &alert.object,
        detections: &lc.detections,
        forced: &lc.forced,
        non_detections: &lc.non_detections,
        survey_object,
        context: &context,
    };
    Ok(Some(solas_features::compute(&input)))
}

/// The objects row as the broker would have computed it at `as_of` (MJD, TAI for Rubin):
/// from the sources observed up to then, each in the version stored now, with E(B−V) at
/// the newest of them, and ZTF's neighbour columns from the newest trigger by then (its
/// stored candidate record). None without a detection by then (or for a Rubin object with
/// no DIA object). The store keeps only the newest `diaObject`, so for Rubin the columns
/// copied from it are today's.
pub fn object_row_as_of(
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
        SurveyObject::Lsst(_) => None,
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
    use solas_decode::value::{RecordReader, Value};
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
    let value = RecordReader::default()
        .read(record)
        .map_err(|e| StoreError::Invalid(format!("a stored candidate record: {e}")))?;
    let number = |name: &str| match value.get(name) {
        Some(Value::Float(x)) => Some(f64::from(*x)),
        Some(Value::Double(x)) => Some(*x),
        _ => None,
    };
    Ok(Some(ZtfContext {
        sgscore1: number("sgscore1"),
        distpsnr1: number("distpsnr1"),
        sgmag1: number("sgmag1"),
        srmag1: number("srmag1"),
        ssnamenr: match value.get("ssnamenr") {
            Some(Value::String(s)) if !s.is_empty() && s != "null" => Some(s.clone()),
            _ => None,
        },
    }))
}
