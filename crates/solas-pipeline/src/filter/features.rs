//! Features for one object: its stored lightcurve and newest survey summary, plus the
//! context known so far (E(B−V) when a dust map is configured, the host from the context
//! stage), through `solas-features`.

use solas_core::{Alert, SurveyObject};
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
