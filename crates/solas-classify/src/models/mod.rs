//! One module per model family: what it reads from an alert, its cuts and its features.

pub mod early_snia;
pub mod kilonova;
pub mod rainbow;
pub mod snn;

use solas_core::{Alert, Detection, Survey, SurveyObject, ZtfContext};

use crate::forest::Forest;
use crate::{Outcome, Score};

/// An alert's detections in the order Fink hands them to its science modules: the history
/// as the packet lists it, then the triggering detection (which Solas keeps first).
fn in_fink_order(alert: &Alert) -> impl Iterator<Item = &Detection> {
    let (trigger, history) = match alert.detections.split_first() {
        Some((t, h)) => (Some(t), h),
        None => (None, &[][..]),
    };
    history.iter().chain(trigger)
}

/// fink-science's cuts common to its ZTF models: a ZTF alert with at least
/// `min_detections` detections and at most 20 in the survey's history (`ndethist`).
/// Returns the candidate's context for the model's own cuts.
fn fink_ztf_cuts(alert: &Alert, min_detections: usize) -> Result<&ZtfContext, Outcome> {
    if alert.survey != Survey::Ztf {
        return Err(Outcome::NotScored("not a ZTF alert".into()));
    }
    let SurveyObject::Ztf(ztf) = &alert.survey_object else {
        return Err(Outcome::NotScored("no ZTF candidate".into()));
    };
    let detected = alert.detections.iter().filter(|d| d.mag.is_some()).count();
    if detected < min_detections {
        return Err(Outcome::NotScored(format!(
            "fewer than {min_detections} detections"
        )));
    }
    let Some(ndethist) = ztf.ndethist else {
        return Err(Outcome::Missing("candidate lacks ndethist".into()));
    };
    if ndethist > 20 {
        return Err(Outcome::NotScored(
            "more than 20 detections in its history".into(),
        ));
    }
    Ok(ztf)
}

/// A forest's probability for an alert's features, with the features kept beside it.
fn forest_score(forest: &Forest, names: &[&'static str], x: &[f64]) -> Outcome {
    match forest.score(x) {
        Ok(p) => Outcome::Scored(Score {
            probability: p,
            features: names.iter().copied().zip(x.iter().copied()).collect(),
        }),
        Err(e) => Outcome::Missing(e.to_string()),
    }
}
