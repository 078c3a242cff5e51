//! `/api/annotate/` and `/api/annotatelist/`: an annotator's owner attaches a
//! classification to objects.
//!
//! Fields as Lasair-LSST's `AnnotateSerializer`: `objectId` (integer for Rubin, a name for
//! ZTF), `topic` (≤ 255), `classification` (≤ 80), `version` (≤ 80), `explanation`
//! (≤ 1024, may be blank), `classdict` (a JSON object as text, ≤ 4096), `url` (≤ 1024, may
//! be blank), all required. The topic must be an annotator the caller owns and that is
//! active; the errors read as Lasair's ("Annotator error: ...").
//!
//! Lasair queues annotations on Kafka for its filter nodes; Solas writes them straight to
//! the main database (one per object and topic, a new one replacing the old) and to
//! `annotation_events`, which a running `solas run` follows to re-run the filters naming
//! the annotator. `annotatelist` checks every annotation (each topic's ownership, not only
//! the first's as Lasair does) before writing any.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use solas_core::Survey;
use solas_store::main_db::annotations::{normalise_topic, Annotation, AnnotationStore};

use super::ObjectId;
use crate::auth::AuthUser;
use crate::db::blocking;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::users::User;
use crate::AppState;

/// Annotations in one `annotatelist` call.
pub(crate) const MAX_LIST: usize = 10_000;

/// Where the answer says an annotation went: the log the filter stage follows.
const ANNOTATION_LOG: &str = "annotation_events";

/// One annotation's fields, checked.
fn read_annotation(c: &mut Check<'_>, survey: Survey) -> (ObjectId, Annotation) {
    let object = match survey {
        Survey::Lsst => ObjectId::Lsst(c.int("objectId")),
        Survey::Ztf => {
            let text = c.text("objectId", 256, false, None);
            match ObjectId::parse(survey, &text) {
                Ok(id) => id,
                Err(message) => {
                    if c.ok() {
                        c.fail("objectId", message);
                    }
                    ObjectId::Ztf(text)
                }
            }
        }
    };
    let annotation = Annotation {
        survey,
        object: object.to_string(),
        topic: c.text("topic", 255, false, None),
        classification: c.text("classification", 80, false, None),
        version: c.text("version", 80, false, None),
        explanation: c.text("explanation", 1024, true, None),
        classdict: c.text("classdict", 4096, false, None),
        url: c.text("url", 1024, true, None),
    };
    if !annotation.classdict.is_empty()
        && !matches!(
            serde_json::from_str::<Value>(&annotation.classdict),
            Ok(Value::Object(_))
        )
    {
        c.fail("classdict", "Must be a JSON object, e.g. {\"SN Ia\": 0.8}.");
    }
    (object, annotation)
}

/// Lasair's ownership and activity checks, with its messages.
fn check_annotator(store: &mut AnnotationStore, user: &User, topic: &str) -> Result<(), ApiError> {
    let Some(annotator) = store.annotator(topic)? else {
        return Err(ApiError::Bad(format!(
            "Annotator error: topic {topic} does not exist"
        )));
    };
    if annotator.owner != user.id {
        return Err(ApiError::Bad(format!(
            "Annotator error: {} is not allowed to submit to topic {topic}",
            user.username
        )));
    }
    if !annotator.active {
        return Err(ApiError::Bad(format!(
            "Annotator error: topic {topic} is not active -- ask the Solas operators"
        )));
    }
    Ok(())
}

/// The annotation as Lasair's `message` shows it: the record sent on, ids exact.
fn message(object: &ObjectId, a: &Annotation) -> String {
    let key = match object {
        ObjectId::Lsst(_) => "diaObjectId",
        ObjectId::Ztf(_) => "objectId",
    };
    json!({
        key: object.json(),
        "topic": normalise_topic(&a.topic),
        "version": a.version,
        "classification": a.classification,
        "explanation": a.explanation,
        "classdict": a.classdict,
        "url": a.url,
    })
    .to_string()
}

fn open_store(state: &AppState) -> Result<AnnotationStore, ApiError> {
    Ok(AnnotationStore::connect(
        &state.shared.config.main_target(),
    )?)
}

pub(crate) async fn annotate(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let survey = super::survey(&mut c, state.shared.config.survey);
    let (object, annotation) = read_annotation(&mut c, survey);
    c.finish()?;
    let answer = blocking(move || -> Result<Value, ApiError> {
        let mut store = open_store(&state)?;
        check_annotator(&mut store, &user, &annotation.topic)?;
        store.annotate(user.id, &annotation)?;
        Ok(json!({
            "status": "success",
            "annotation_topic": ANNOTATION_LOG,
            "message": message(&object, &annotation),
        }))
    })
    .await??;
    Ok(Json(answer))
}

pub(crate) async fn annotate_list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut c = Check::new(&params);
    let survey = super::survey(&mut c, state.shared.config.survey);
    let list = c.raw("annotations");
    c.finish()?;
    let items = match list {
        Some(Value::Array(items)) => items.clone(),
        // A form post can carry the list only as JSON text.
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            _ => {
                return Err(ApiError::field(
                    "annotations",
                    "Expected a list of items (JSON text in a form).",
                ))
            }
        },
        Some(other) => {
            return Err(ApiError::field(
                "annotations",
                format!(
                    "Expected a list of items but got type \"{}\".",
                    json_type(other)
                ),
            ))
        }
        // A missing field has already failed `finish` above.
        None => return Err(ApiError::field("annotations", "This field is required.")),
    };
    annotate_items(state, user, survey, items).await
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

async fn annotate_items(
    state: AppState,
    user: User,
    survey: Survey,
    items: Vec<Value>,
) -> Result<Json<Value>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::field(
            "annotations",
            "This list may not be empty.",
        ));
    }
    if items.len() > MAX_LIST {
        return Err(ApiError::field(
            "annotations",
            format!("Ensure this field has no more than {MAX_LIST} elements."),
        ));
    }
    // Check every annotation before writing any.
    let mut annotations = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(ApiError::Bad(format!(
                "annotation {i} is not an object of fields"
            )));
        };
        let params = crate::params::Params::from_map(fields.clone());
        let mut c = Check::new(&params);
        let (_, annotation) = read_annotation(&mut c, survey);
        if let Err(ApiError::Fields(errors)) = c.finish() {
            let detail: Vec<String> = errors
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect();
            return Err(ApiError::Bad(format!(
                "annotation {i}: {}",
                detail.join("; ")
            )));
        }
        annotations.push(annotation);
    }
    let n = annotations.len();
    blocking(move || -> Result<(), ApiError> {
        let mut store = open_store(&state)?;
        let mut topics: Vec<String> = annotations
            .iter()
            .map(|a| normalise_topic(&a.topic))
            .collect();
        topics.sort();
        topics.dedup();
        for topic in &topics {
            check_annotator(&mut store, &user, topic)?;
        }
        for (i, a) in annotations.iter().enumerate() {
            store
                .annotate(user.id, a)
                .map_err(|e| match ApiError::from(e) {
                    ApiError::Bad(m) => ApiError::Bad(format!(
                        "annotation {i}: {m} ({i} annotations before it were stored)"
                    )),
                    other => other,
                })?;
        }
        Ok(())
    })
    .await??;
    Ok(Json(json!({ "status": "success", "n": n })))
}
