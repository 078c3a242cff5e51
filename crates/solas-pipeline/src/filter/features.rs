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
    Ok(row_from(&lc, dust, alert, host))
}

/// The objects rows of a batch's objects (one alert each), their lightcurves read together
/// (one query per table where the store is a server), in the order given.
pub fn object_rows(
    lightcurves: &mut dyn LightcurveStore,
    dust: Option<&DustMap>,
    batch: &[(&Alert, Option<HostContext>)],
) -> Result<Vec<Option<ObjectRow>>, StoreError> {
    let mut rows: Vec<Option<ObjectRow>> = vec![None; batch.len()];
    for survey in [solas_core::Survey::Lsst, solas_core::Survey::Ztf] {
        let at: Vec<usize> = (0..batch.len())
            .filter(|&i| batch[i].0.survey == survey)
            .collect();
        if at.is_empty() {
            continue;
        }
        let keys: Vec<&solas_core::ObjectKey> = at.iter().map(|&i| &batch[i].0.object).collect();
        let lcs = lightcurves.lightcurves(survey, &keys)?;
        for (i, lc) in at.into_iter().zip(lcs) {
            let (alert, host) = &batch[i];
            rows[i] = row_from(&lc, dust, alert, host.clone());
        }
    }
    Ok(rows)
}

fn row_from(
    lc: &solas_store::Lightcurve,
    dust: Option<&DustMap>,
    alert: &Alert,
    host: Option<HostContext>,
) -> Option<ObjectRow> {
    let survey_object = lc.survey_object.as_ref().unwrap_or(&alert.survey_object);
    if matches!(survey_object, SurveyObject::Lsst(None)) {
        return None;
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
    Some(solas_features::compute(&input))
}
