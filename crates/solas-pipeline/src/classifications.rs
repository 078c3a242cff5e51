//! Other brokers' classifications (e.g. a Fink or ALeRCE stream) followed on a Kafka topic
//! and stored as one annotator's annotations, so Solas filters can name them
//! (`annotator:fink`) and are re-run when they arrive. Messages may be JSON or Avro
//! (container file, or Confluent wire format with a registry); a [`Mapping`] says which
//! fields hold the object, the class and the rest. Offsets are committed after the
//! annotations are stored; a record that cannot be mapped is counted and skipped.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use serde_json::Value;
use solas_core::Survey;
use solas_decode::Decoder;
use solas_store::main_db::annotations::{Annotation, AnnotationStore};

/// Which fields of a record make the annotation. Paths are dotted (`candidate.objectId`).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub annotator: String,
    pub survey: Survey,
    pub object_field: String,
    pub class_field: String,
    pub version_field: Option<String>,
    pub explanation_field: Option<String>,
    /// Where the class probabilities are; None keeps every number and string at the top
    /// level of the record as the classdict.
    pub classdict_field: Option<String>,
    /// A link per object, `{id}` replaced by the object id.
    pub url_template: Option<String>,
}

/// A field by dotted path.
fn field<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, key| v.get(key))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why a classification record, message or stream could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ClassificationError {
    /// A record without the field the mapping takes the object or class from (bad input:
    /// skipped).
    #[error("no {what} in field {field:?}")]
    Missing { what: &'static str, field: String },
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Avro: {0}")]
    Avro(#[from] solas_decode::DecodeError),
    #[error("no annotator {0:?}: add it first")]
    NoAnnotator(String),
    #[error("main database: {0}")]
    Store(#[from] solas_store::StoreError),
    #[error("stopped while waiting for the main database: {0}")]
    Stopped(String),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

impl ClassificationError {
    /// Bad input (a record that does not fit the mapping) is skipped; a missing annotator
    /// is the operator's to add; the database or Kafka being away is transient.
    pub fn kind(&self) -> solas_store::ErrorKind {
        use solas_store::ErrorKind;
        match self {
            ClassificationError::Missing { .. }
            | ClassificationError::Json(_)
            | ClassificationError::Avro(_) => ErrorKind::BadInput,
            ClassificationError::NoAnnotator(_) => ErrorKind::Permanent,
            ClassificationError::Store(e) => e.kind(),
            ClassificationError::Stopped(_) | ClassificationError::Kafka(_) => ErrorKind::Transient,
        }
    }
}

/// The annotation a record stands for.
pub fn to_annotation(record: &Value, m: &Mapping) -> Result<Annotation, ClassificationError> {
    let missing = |what, field: &String| ClassificationError::Missing {
        what,
        field: field.clone(),
    };
    let object = field(record, &m.object_field)
        .and_then(text)
        .ok_or_else(|| missing("object id", &m.object_field))?;
    let classification = field(record, &m.class_field)
        .and_then(text)
        .ok_or_else(|| missing("class", &m.class_field))?;
    let optional = |f: &Option<String>| {
        f.as_deref()
            .and_then(|f| field(record, f))
            .and_then(text)
            .unwrap_or_default()
    };
    let classdict = match &m.classdict_field {
        Some(f) => match field(record, f) {
            Some(Value::Object(o)) => Value::Object(o.clone()),
            Some(other) => {
                let mut o = serde_json::Map::new();
                o.insert(f.clone(), other.clone());
                Value::Object(o)
            }
            None => Value::Object(Default::default()),
        },
        None => Value::Object(
            record
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(_, v)| v.is_number() || v.is_string() || v.is_boolean())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    };
    Ok(Annotation {
        survey: m.survey,
        url: m
            .url_template
            .as_deref()
            .map(|t| t.replace("{id}", &object))
            .unwrap_or_default(),
        object,
        topic: m.annotator.clone(),
        version: optional(&m.version_field),
        classification,
        explanation: optional(&m.explanation_field),
        classdict: classdict.to_string(),
    })
}

/// Records in one Kafka payload: a JSON object or array, or Avro.
pub fn records(
    payload: &[u8],
    decoder: &Decoder,
) -> Result<Vec<Result<Value, ClassificationError>>, ClassificationError> {
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => match serde_json::from_slice::<Value>(payload)? {
            Value::Array(items) => Ok(items.into_iter().map(Ok).collect()),
            one => Ok(vec![Ok(one)]),
        },
        _ => Ok(decoder
            .decode_json(payload)?
            .into_iter()
            .map(|r| r.map_err(ClassificationError::from))
            .collect()),
    }
}

#[derive(Debug, Clone)]
pub struct FollowConfig {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub idle_exit: Option<Duration>,
    pub max_messages: Option<u64>,
    /// Extra librdkafka settings.
    pub extra: Vec<(String, String)>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FollowSummary {
    pub messages: u64,
    pub annotations: u64,
    pub skipped: u64,
}

/// Follow the topic until stopped, idle or at the message limit.
pub fn follow(
    config: &FollowConfig,
    mapping: &Mapping,
    main_db: &solas_store::db::Target,
    decoder: &Decoder,
    stop: &std::sync::Arc<AtomicBool>,
) -> Result<FollowSummary, ClassificationError> {
    // A database that is unavailable is waited for: the message's offset is committed only
    // once its annotations are stored (or the record is bad and skipped).
    let retry = crate::retry::Retrier::new(stop.clone(), Default::default());
    let mut store = AnnotationStore::connect(main_db)?;
    let owner = store
        .annotator(&mapping.annotator)?
        .ok_or_else(|| ClassificationError::NoAnnotator(mapping.annotator.clone()))?
        .owner;
    let client =
        crate::source::kafka::group_config(&config.brokers, &config.group, &[], &config.extra);
    let consumer: BaseConsumer = client.create()?;
    consumer.subscribe(&[config.topic.as_str()])?;
    let mut summary = FollowSummary::default();
    let mut idle = config.idle_exit.map(crate::source::kafka::IdleClock::new);
    let topics = [config.topic.as_str()];
    while config.max_messages.is_none_or(|n| summary.messages < n) {
        let Some(result) = crate::source::kafka::next_followed(&consumer, &topics, &mut idle, stop)
        else {
            break;
        };
        let msg = result?;
        summary.messages += 1;
        let mut unfinished = false;
        match records(msg.payload().unwrap_or_default(), decoder) {
            Ok(items) => {
                for item in items {
                    let stored = item.and_then(|r| to_annotation(&r, mapping)).and_then(|a| {
                        retry
                            .run("main database", || store.annotate(owner, &a))
                            .map_err(|e| match e {
                                crate::retry::GaveUp::Failed(e) => ClassificationError::Store(e),
                                stopped @ crate::retry::GaveUp::Stopped { .. } => {
                                    ClassificationError::Stopped(stopped.to_string())
                                }
                            })
                    });
                    match stored {
                        Ok(_) => summary.annotations += 1,
                        // The database is away (and the run stopping): not stored, so the
                        // offset stays where it is.
                        Err(e) if e.kind() == solas_store::ErrorKind::Transient => {
                            unfinished = true;
                            break;
                        }
                        Err(e) => {
                            summary.skipped += 1;
                            log::warn!(
                                "{}[{}]@{}: {e}",
                                msg.topic(),
                                msg.partition(),
                                msg.offset()
                            );
                        }
                    }
                }
            }
            Err(e) => {
                summary.skipped += 1;
                log::warn!("{}[{}]@{}: {e}", msg.topic(), msg.partition(), msg.offset());
            }
        }
        if unfinished {
            log::warn!(
                "{}[{}]@{}: stopped while the database was unavailable; not committed",
                msg.topic(),
                msg.partition(),
                msg.offset()
            );
            break;
        }
        // Stored (or set aside for good): the offset can move on. A commit refused during a
        // rebalance only means the message is read again (annotations are upserts).
        if let Err(e) = consumer.commit_message(&msg, CommitMode::Sync) {
            log::warn!("offset commit failed: {e}");
        }
    }
    crate::source::kafka::leave_group(&consumer, &config.group);
    Ok(summary)
}
