//! Avro values with nothing lost: float kept apart from double, NaN as NaN, fields in the
//! order written. The archive's records are read back into these, to serve them and to
//! check them field by field against the alerts they came from.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_avro_fast::Schema;

use crate::DecodeError;

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    /// Avro int or long.
    Long(i64),
    Float(f32),
    Double(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// A record's (or a map's) fields in the order written.
    Record(Vec<(String, Value)>),
}

/// Equal values, NaN equal to NaN (bit for bit): a stored NaN must read back as NaN.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Long(a), Long(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Record(a), Record(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The field of a record, if this is one and has it.
    pub fn get(&self, field: &str) -> Option<&Value> {
        match self {
            Value::Record(fields) => fields.iter().find(|(k, _)| k == field).map(|(_, v)| v),
            _ => None,
        }
    }

    /// As JSON: integers exact (64-bit ids too), non-finite reals as null (JSON has no
    /// NaN), bytes as their length.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Long(n) => J::from(*n),
            // Through the shortest decimal that reads back as the same f32 (not the f64
            // widening, which would print 0.1f32 as 0.10000000149011612).
            Value::Float(x) => x
                .to_string()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(J::Null, J::Number),
            Value::Double(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Bytes(b) => serde_json::json!({ "bytes": b.len() }),
            Value::Array(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Record(fields) => J::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Written back as Avro under a schema (a record as a map of its fields, which the schema
/// orders): what the archive's replay and the schema-evolution tests need.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Long(n) => s.serialize_i64(*n),
            Value::Float(x) => s.serialize_f32(*x),
            Value::Double(x) => s.serialize_f64(*x),
            Value::String(t) => s.serialize_str(t),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Record(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// `value` as an Avro datum under the schema `schema_json`.
pub fn write(value: &Value, schema_json: &str) -> Result<Vec<u8>, DecodeError> {
    let schema: Schema = schema_json
        .parse()
        .map_err(|e| DecodeError::BadSchema(format!("{e}")))?;
    let mut config = serde_avro_fast::ser::SerializerConfig::new(&schema);
    serde_avro_fast::to_datum_vec(value, &mut config).map_err(|e| DecodeError::Avro(e.to_string()))
}

/// Reads stored records, each schema parsed once.
#[derive(Default)]
pub struct RecordReader {
    schemas: std::collections::HashMap<i64, Schema>,
}

impl RecordReader {
    /// A record as it was written, under its own schema.
    pub fn read(&mut self, record: &solas_core::RawRecord) -> Result<Value, DecodeError> {
        let schema = self.schema(record)?;
        read(&record.body, schema)
    }

    /// A record's schema, parsed the first time it is met.
    pub(crate) fn schema(
        &mut self,
        record: &solas_core::RawRecord,
    ) -> Result<&Schema, DecodeError> {
        // A few schema versions live at once; a store read for years meets more.
        if self.schemas.len() >= 64 && !self.schemas.contains_key(&record.schema.fingerprint) {
            self.schemas.clear();
        }
        Ok(match self.schemas.entry(record.schema.fingerprint) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                record
                    .schema
                    .json
                    .parse()
                    .map_err(|e| DecodeError::BadSchema(format!("{e}")))?,
            ),
        })
    }
}

/// Read one datum written with `schema`; it must use every byte.
pub fn read(body: &[u8], schema: &Schema) -> Result<Value, DecodeError> {
    let (value, used) = read_front(body, schema);
    if used != body.len() {
        return Err(DecodeError::TrailingBytes(body.len() - used));
    }
    value
}

/// Read the datum at the front of `bytes`, and how many bytes it took.
pub(crate) fn read_front(bytes: &[u8], schema: &Schema) -> (Result<Value, DecodeError>, usize) {
    let mut state = serde_avro_fast::de::DeserializerState::new(
        serde_avro_fast::de::read::ReaderRead::new(bytes),
        schema,
    );
    let value =
        Value::deserialize(state.deserializer()).map_err(|e| DecodeError::Avro(e.to_string()));
    (value, bytes.len() - state.into_reader().into_inner().len())
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any Avro value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Long(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Long)
            .map_err(|_| E::custom("integer beyond 64 bits"))
    }
    fn visit_f32<E>(self, v: f32) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Double(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.push((k, v));
        }
        Ok(Value::Record(out))
    }
}
