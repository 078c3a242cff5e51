//! Alerts rebuilt from the archive in the surveys' own framings, for the archive's replay:
//! the whole alert schema kept with the alert, its own fields (the envelope), each record
//! field filled from the stored records the survey adapter names (`ztf::field_source`,
//! `lsst::field_source`), and the cutouts; written as a ZTF container file or a Rubin
//! Confluent wire-format message.
//!
//! The history an alert carried is taken again by the survey's own window (30 days for
//! ZTF, 12 months for Rubin) from what the archive holds now, each source in the version
//! the archive kept (the trigger's, where one came); the object-level records are those the
//! alert carried (the newest kept, for alerts stored before they were kept per alert). A
//! ZTF cutout's file name is not kept: it is made from the candid.

use std::collections::HashMap;

use serde_json::Value as Json;
use solas_core::{CutoutKind, Envelope, RawRecord, Survey};

use crate::value::{RecordReader, Value};
use crate::DecodeError;

/// What the archive holds for one alert.
#[derive(Debug, Clone)]
pub struct Parts {
    pub survey: Survey,
    pub alert_id: i64,
    /// The trigger's time (MJD).
    pub mjd: f64,
    pub envelope: Envelope,
    /// The object's detections: (source id, MJD, record), the trigger's among them.
    pub detections: Vec<(i64, f64, RawRecord)>,
    /// Forced measurements: (MJD, record).
    pub forced: Vec<(f64, RawRecord)>,
    /// Non-detections: (MJD, record).
    pub non_detections: Vec<(f64, RawRecord)>,
    /// The newest object-level records (`diaObject`, `ssObject`, `MPCORB`).
    pub object: Vec<RawRecord>,
    /// The alert's own records beyond its detection: its `ssSource`, and the object-level
    /// records it carried where the archive kept them (preferred to the newest).
    pub trigger: Vec<RawRecord>,
    /// The stored cutouts (FITS).
    pub cutouts: Vec<(CutoutKind, Vec<u8>)>,
}

/// Where the survey adapter says a record field's values come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldSource {
    /// The trigger's detection.
    Trigger,
    /// Earlier detections within `days` (and non-detections too, where `limits`).
    History { days: f64, limits: bool },
    /// Forced measurements up to the trigger, within `days`.
    Forced { days: f64 },
    /// Non-detections before the trigger, within `days`.
    Limits { days: f64 },
    /// The object-level record of the field's type.
    Object,
    /// The trigger's record of the field's type.
    TriggerRecord,
}

/// The alert as the survey frames it: a ZTF Avro container file holding it, or a Rubin
/// wire-format message (magic byte, the schema id of its version, the datum).
pub fn rebuild(parts: &Parts) -> Result<Vec<u8>, DecodeError> {
    let schema_json = &parts.envelope.alert_schema.json;
    let json: Json = serde_json::from_str(schema_json)
        .map_err(|e| DecodeError::BadSchema(format!("a stored alert schema: {e}")))?;
    let types = Types::of(&json);
    let fields = json
        .get("fields")
        .and_then(Json::as_array)
        .ok_or_else(|| DecodeError::BadSchema("a stored alert schema has no fields".into()))?;
    let mut reader = RecordReader::default();
    let envelope = reader.read(&parts.envelope.fields)?;
    let mut alert = Vec::with_capacity(fields.len());
    for field in fields {
        let name = field.get("name").and_then(Json::as_str).unwrap_or_default();
        let t = field.get("type").unwrap_or(&Json::Null);
        let value = if let Some(v) = envelope.get(name) {
            v.clone()
        } else if let Some(kind) = cutout_kind(name) {
            cutout(parts, kind, t, &types)
        } else {
            // Any other record field went to the object-level records when decoded
            // (`Records::rest`), and comes back from them.
            let source = match parts.survey {
                Survey::Ztf => crate::ztf::field_source(name),
                Survey::Lsst => crate::lsst::field_source(name),
            }
            .unwrap_or(FieldSource::Object);
            let items = records_for(parts, source, record_name(t, &types))?
                .into_iter()
                .map(|r| reader.read(r))
                .collect::<Result<Vec<_>, _>>()?;
            shape(t, items, &types)
                .map_err(|e| DecodeError::Content(format!("the alert field {name:?}: {e}")))?
        };
        alert.push((name.to_string(), value));
    }
    let value = Value::Record(alert);
    // Rubin's release schemas have a registry id; an alert written with another schema
    // (a broker's re-export) goes as a container file, as `solas replay` sends such files.
    let release = match parts.survey {
        Survey::Lsst => schema_id(&parts.envelope.alert_schema.name),
        Survey::Ztf => None,
    };
    match release {
        Some(id) => Ok(crate::wire::frame(
            id,
            &crate::value::write(&value, schema_json)?,
        )),
        None => {
            let schema: serde_avro_fast::Schema = schema_json
                .parse()
                .map_err(|e| DecodeError::BadSchema(format!("{e}")))?;
            serde_avro_fast::object_container_file_encoding::write_all(
                &schema,
                serde_avro_fast::object_container_file_encoding::Compression::Null,
                Vec::new(),
                std::iter::once(&value),
            )
            .map_err(|e| DecodeError::Avro(e.to_string()))
        }
    }
}

/// A Rubin release schema's registry id from its name: `lsst.v9_0.alert` → 900.
fn schema_id(name: &str) -> Option<u32> {
    let version = name.split('.').find_map(|p| p.strip_prefix('v'))?;
    let (major, minor) = version.split_once('_')?;
    Some(major.parse::<u32>().ok()? * 100 + minor.parse::<u32>().ok()?)
}

fn cutout_kind(field: &str) -> Option<CutoutKind> {
    match field {
        "cutoutScience" => Some(CutoutKind::Science),
        "cutoutTemplate" => Some(CutoutKind::Template),
        "cutoutDifference" => Some(CutoutKind::Difference),
        _ => None,
    }
}

/// A cutout field: bytes (Rubin) or ZTF's `{fileName, stampData}`; null when not stored.
fn cutout(parts: &Parts, kind: CutoutKind, t: &Json, types: &Types) -> Value {
    let Some((_, fits)) = parts.cutouts.iter().find(|(k, _)| *k == kind) else {
        return Value::Null;
    };
    if record_name(t, types).is_some() {
        let name = format!("candid{}_{}.fits", parts.alert_id, kind.as_str());
        Value::Record(vec![
            ("fileName".into(), Value::String(name)),
            ("stampData".into(), Value::Bytes(fits.clone())),
        ])
    } else {
        Value::Bytes(fits.clone())
    }
}

/// The stored records a field takes, in time order.
fn records_for<'p>(
    parts: &'p Parts,
    source: FieldSource,
    type_name: Option<&str>,
) -> Result<Vec<&'p RawRecord>, DecodeError> {
    let t = parts.mjd;
    let within = |mjd: f64, days: f64| mjd < t && mjd >= t - days;
    // The trigger is the detection with the alert's id; where an alert's id is not its
    // source's (Rubin's sample alerts), the detection at the alert's time.
    let trigger = parts
        .detections
        .iter()
        .position(|(id, _, _)| *id == parts.alert_id)
        .or_else(|| parts.detections.iter().position(|(_, mjd, _)| *mjd == t));
    Ok(match source {
        FieldSource::Trigger => trigger
            .map(|i| &parts.detections[i].2)
            .into_iter()
            .collect(),
        FieldSource::History { days, limits } => {
            let mut items: Vec<(f64, &RawRecord)> = parts
                .detections
                .iter()
                .enumerate()
                .filter(|(i, (_, mjd, _))| Some(*i) != trigger && within(*mjd, days))
                .map(|(_, d)| d)
                .map(|(_, mjd, r)| (*mjd, r))
                .collect();
            if limits {
                items.extend(
                    parts
                        .non_detections
                        .iter()
                        .filter(|(mjd, _)| within(*mjd, days))
                        .map(|(mjd, r)| (*mjd, r)),
                );
            }
            items.sort_by(|a, b| a.0.total_cmp(&b.0));
            items.into_iter().map(|(_, r)| r).collect()
        }
        FieldSource::Forced { days } => parts
            .forced
            .iter()
            .filter(|(mjd, _)| *mjd <= t && *mjd >= t - days)
            .map(|(_, r)| r)
            .collect(),
        FieldSource::Limits { days } => parts
            .non_detections
            .iter()
            .filter(|(mjd, _)| within(*mjd, days))
            .map(|(_, r)| r)
            .collect(),
        // The alert's own record of the type (kept per alert since the archive kept
        // envelopes); an object-level one falls back to the newest kept.
        FieldSource::Object | FieldSource::TriggerRecord => {
            let of_type = |list: &'p [RawRecord]| -> Vec<&'p RawRecord> {
                list.iter()
                    .filter(|r| Some(r.schema.name.as_str()) == type_name)
                    .collect()
            };
            match of_type(&parts.trigger) {
                own if !own.is_empty() || source == FieldSource::TriggerRecord => own,
                _ => of_type(&parts.object),
            }
        }
    })
}

/// The named types of a schema, by full and by short name.
struct Types<'a> {
    named: HashMap<String, &'a Json>,
}

impl<'a> Types<'a> {
    fn of(root: &'a Json) -> Types<'a> {
        let mut named = HashMap::new();
        collect(root, None, &mut named, 0);
        Types { named }
    }

    /// A type with a reference by name replaced by its definition.
    fn resolve(&self, t: &'a Json) -> &'a Json {
        match t.as_str().and_then(|n| self.named.get(n)) {
            Some(def) => def,
            None => t,
        }
    }
}

fn collect<'a>(
    t: &'a Json,
    namespace: Option<&str>,
    named: &mut HashMap<String, &'a Json>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match t {
        Json::Array(variants) => {
            for v in variants {
                collect(v, namespace, named, depth + 1);
            }
        }
        Json::Object(o) => {
            let ns = o.get("namespace").and_then(Json::as_str).or(namespace);
            if let Some(name) = o.get("name").and_then(Json::as_str) {
                let (short, full) = match name.rsplit_once('.') {
                    Some((_, short)) => (short.to_string(), name.to_string()),
                    None => (
                        name.to_string(),
                        ns.map_or(name.to_string(), |ns| format!("{ns}.{name}")),
                    ),
                };
                named.insert(short, t);
                named.insert(full, t);
            }
            for key in ["items", "values"] {
                if let Some(inner) = o.get(key) {
                    collect(inner, ns, named, depth + 1);
                }
            }
            for f in o
                .get("fields")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(ft) = f.get("type") {
                    collect(ft, ns, named, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The (short) name of the record type a field holds, through unions and arrays.
fn record_name<'a>(t: &'a Json, types: &Types<'a>) -> Option<&'a str> {
    let t = types.resolve(t);
    match t {
        Json::Array(variants) => variants.iter().find_map(|v| record_name(v, types)),
        Json::Object(o) => match o.get("type").and_then(Json::as_str) {
            Some("record") => o
                .get("name")
                .and_then(Json::as_str)
                .map(|n| n.rsplit('.').next().unwrap_or(n)),
            Some("array") => o.get("items").and_then(|i| record_name(i, types)),
            _ => None,
        },
        _ => None,
    }
}

/// `items` in the shape of a field of type `t`: one record, an array of them, or null
/// where the type allows and there is none.
fn shape(t: &Json, mut items: Vec<Value>, types: &Types<'_>) -> Result<Value, String> {
    match types.resolve(t) {
        Json::Array(variants) => {
            let nullable = variants.iter().any(|v| v.as_str() == Some("null"));
            if items.is_empty() && nullable {
                return Ok(Value::Null);
            }
            let inner = variants
                .iter()
                .find(|v| v.as_str() != Some("null"))
                .ok_or("a union of null alone")?;
            shape(inner, items, types)
        }
        Json::Object(o) => match o.get("type").and_then(Json::as_str) {
            Some("array") => {
                let item = o.get("items").ok_or("an array without items")?;
                let def = types.resolve(item);
                Ok(Value::Array(
                    items.into_iter().map(|v| project(def, v)).collect(),
                ))
            }
            Some("record") => match items.len() {
                1 => Ok(project(types.resolve(t), items.remove(0))),
                n => Err(format!("{n} stored records for one record field")),
            },
            other => Err(format!("a field of type {other:?} holding records")),
        },
        other => Err(format!("a field of type {other} holding records")),
    }
}

/// A stored record as a record of type `def`: its fields by name, null where it has none
/// (a history row written from the trigger's richer version keeps only what it holds).
fn project(def: &Json, value: Value) -> Value {
    let Some(fields) = def.get("fields").and_then(Json::as_array) else {
        return value;
    };
    Value::Record(
        fields
            .iter()
            .filter_map(|f| f.get("name").and_then(Json::as_str))
            .map(|name| {
                (
                    name.to_string(),
                    value.get(name).cloned().unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}
