//! The classification step of the filter stage: every loaded model (solas-classify)
//! scores each alert of the batch from the alert's own packet (its history and the new
//! detection, as the models' authors feed them), with the object's context class for the
//! models' cuts. Scores go into the batch's transaction as annotations of the models'
//! system annotators, so the batch's filters see them; a model that lacks an input for an
//! alert is reported and skips it.

use solas_classify::{ModelContext, ModelSet, Outcome};
use solas_core::Survey;
use solas_store::main_db::annotations::scores::ModelScore;

use crate::message::InFlight;
use crate::stats::Stats;

/// Every model's scores of the batch's alerts (each model takes the batch's alerts of its
/// survey together).
pub fn score_batch(models: &ModelSet, batch: &[InFlight], stats: &Stats) -> Vec<ModelScore> {
    let started = std::time::Instant::now();
    let mut scores = Vec::new();
    for model in &models.models {
        let mine: Vec<(&solas_core::Alert, ModelContext)> = batch
            .iter()
            .filter(|m| m.alert.survey == model.survey)
            .map(|m| {
                let context = ModelContext {
                    context_class: m.context.as_ref().map(|c| c.row().classification.as_str()),
                };
                (&m.alert, context)
            })
            .collect();
        for ((alert, _), outcome) in mine.iter().zip(model.score_many(&mine)) {
            match outcome {
                Outcome::Scored(score) => {
                    let features: serde_json::Map<String, serde_json::Value> = score
                        .features
                        .iter()
                        .map(|(name, v)| (name.to_string(), json_number(*v)))
                        .collect();
                    let classdict = serde_json::json!({
                        "probability": json_number(score.probability),
                        "features": features,
                    });
                    scores.push(ModelScore {
                        survey: alert.survey,
                        object: match alert.survey {
                            Survey::Lsst => alert.object.id.to_string(),
                            Survey::Ztf => alert.object.name.clone(),
                        },
                        topic: model.name().to_string(),
                        version: model.description.version.clone(),
                        classification: model.class_for(score.probability),
                        classdict: classdict.to_string(),
                        alert_id: alert.alert_id,
                        mjd: alert.mjd,
                    });
                    Stats::add(&stats.model_scores, 1);
                }
                Outcome::NotScored(_) => {}
                Outcome::Missing(why) => {
                    log::warn!(
                        "model {} skipped alert {} of {}: {why}",
                        model.name(),
                        alert.alert_id,
                        alert.object.name
                    );
                    Stats::add(&stats.model_skipped, 1);
                }
            }
        }
    }
    Stats::busy(&stats.busy_models_ns, started);
    scores
}

/// A finite number as JSON; NaN and infinities (which JSON lacks) as null.
fn json_number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The models' system annotators, made (or described anew) before the first batch, so
/// filters may name them from the start.
pub fn register(
    models: &ModelSet,
    main: &solas_store::db::Target,
) -> Result<(), solas_store::StoreError> {
    let mut notes = solas_store::main_db::annotations::AnnotationStore::connect(main)?;
    for model in &models.models {
        let d = &model.description;
        notes.ensure_system_annotator(
            model.name(),
            &format!(
                "Solas classifier ({}): {} [{}]",
                d.version, d.description, d.licence
            ),
            &d.url,
        )?;
    }
    Ok(())
}
