//! The records of an alert as the survey wrote them, for the archive: where each
//! sub-record (a `diaSource`, a `prv_candidate`, ...) lies in the alert's Avro bytes, and
//! the writer schema of each record type, standalone. Keeping those bytes beside the typed
//! columns is lossless by construction (NaN, null and 64-bit ids as written), and a field
//! that a new schema adds is kept with no code change.
//!
//! Avro crates decode values but do not say where a value's bytes lie, hence this walker
//! over the writer schema's graph (as `serde_avro_fast` parses it); it only skips bytes
//! and notes positions, and every read is bounds-checked.

use std::sync::Arc;

use serde_avro_fast::schema::{RegularType, SchemaKey, SchemaMut};
use solas_core::{Envelope, RawRecord, RecordSchema};

use crate::DecodeError;

/// Deepest nesting the walker follows (a recursive schema must not overflow the stack).
const MAX_DEPTH: usize = 64;

/// The record types of one writer schema that the archive keeps: each top-level field
/// that holds records (directly, in a union or in an array), cutouts aside.
pub(crate) struct RecordTypes {
    schema: SchemaMut,
    /// Per top-level field: its name, and what the archive does with it.
    fields: Vec<(String, Field)>,
    /// The whole alert schema, and the schema of its envelope fields alone.
    alert: Arc<RecordSchema>,
    envelope: Arc<RecordSchema>,
}

/// What becomes of a top-level field of an alert.
enum Field {
    /// It holds records of a type the archive keeps whole.
    Records(Kept),
    /// A cutout: kept in the blob store.
    Cutout,
    /// One of the alert's own fields, kept in its envelope.
    Envelope,
}

/// A kept record type: where it is in the alert schema, and its schema standalone.
type Kept = (SchemaKey, Arc<RecordSchema>);

impl RecordTypes {
    /// The kept record types of a writer schema whose root is a record.
    pub(crate) fn of(json: &str) -> Result<RecordTypes, DecodeError> {
        let schema: SchemaMut = json
            .parse()
            .map_err(|e| DecodeError::BadSchema(format!("{e}")))?;
        let RegularType::Record(root) = &schema.root().type_ else {
            return Err(DecodeError::BadSchema(
                "the alert schema is not a record".into(),
            ));
        };
        let mut fields = Vec::with_capacity(root.fields.len());
        for field in &root.fields {
            let what = if field.name.starts_with("cutout") {
                Field::Cutout
            } else {
                match record_in(&schema, field.type_, 0) {
                    Some(key) => Field::Records((key, Arc::new(standalone(&schema, key)?))),
                    None => Field::Envelope,
                }
            };
            fields.push((field.name.clone(), what));
        }
        let (alert, envelope) = alert_and_envelope(&schema, &fields)?;
        Ok(RecordTypes {
            schema,
            fields,
            alert: Arc::new(alert),
            envelope: Arc::new(envelope),
        })
    }

    /// Every kept record of one alert datum, by top-level field, in the order written.
    pub(crate) fn split(&self, datum: &[u8]) -> Result<Records, DecodeError> {
        let RegularType::Record(root) = &self.schema.root().type_ else {
            return Err(DecodeError::BadSchema(
                "the alert schema is not a record".into(),
            ));
        };
        let mut walker = Walker {
            schema: &self.schema,
            bytes: datum,
            pos: 0,
        };
        let mut out = Records::default();
        let mut envelope = Vec::new();
        for (field, (name, what)) in root.fields.iter().zip(&self.fields) {
            match what {
                Field::Records((target, schema)) => {
                    let mut spans = Vec::new();
                    walker.capture(field.type_, *target, &mut spans, 0)?;
                    let records = spans
                        .into_iter()
                        .map(|(start, end)| RawRecord {
                            schema: schema.clone(),
                            body: datum[start..end].to_vec(),
                        })
                        .collect();
                    out.fields.push((name.clone(), records));
                }
                Field::Cutout => walker.skip(field.type_, 0)?,
                // A record's encoding is its fields' one after another, so the envelope
                // fields' bytes together are a datum of the envelope schema.
                Field::Envelope => {
                    let start = walker.pos;
                    walker.skip(field.type_, 0)?;
                    envelope.extend_from_slice(&datum[start..walker.pos]);
                }
            }
        }
        out.envelope = Some(Envelope {
            alert_schema: self.alert.clone(),
            fields: RawRecord {
                schema: self.envelope.clone(),
                body: envelope,
            },
        });
        Ok(out)
    }
}

/// The whole alert schema, and a schema of its envelope fields alone (the root record
/// with only those fields, named `<alert>_envelope`).
fn alert_and_envelope(
    schema: &SchemaMut,
    fields: &[(String, Field)],
) -> Result<(RecordSchema, RecordSchema), DecodeError> {
    let bad = |e: serde_avro_fast::schema::SchemaError| DecodeError::BadSchema(format!("{e}"));
    let keyed = |frozen: &serde_avro_fast::Schema, name: String| RecordSchema {
        name,
        fingerprint: i64::from_le_bytes(*frozen.rabin_fingerprint()),
        json: frozen.json().to_string(),
    };
    let RegularType::Record(root) = &schema.root().type_ else {
        return Err(DecodeError::BadSchema(
            "the alert schema is not a record".into(),
        ));
    };
    let name = root.name.fully_qualified_name().to_string();
    let whole = SchemaMut::from_nodes(schema.nodes().to_vec())
        .freeze()
        .map_err(bad)?;
    let mut nodes = schema.nodes().to_vec();
    if let RegularType::Record(r) = &mut nodes[0].type_ {
        let keep: Vec<bool> = fields
            .iter()
            .map(|(_, what)| matches!(what, Field::Envelope))
            .collect();
        let mut i = 0;
        r.fields.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        r.name =
            serde_avro_fast::schema::Name::from_fully_qualified_name(format!("{name}_envelope"));
    }
    let envelope = SchemaMut::from_nodes(nodes).freeze().map_err(bad)?;
    Ok((
        keyed(&whole, name.clone()),
        keyed(&envelope, format!("{name}_envelope")),
    ))
}

/// The kept records of one alert, by top-level field name.
#[derive(Default, Debug)]
pub struct Records {
    fields: Vec<(String, Vec<RawRecord>)>,
    envelope: Option<Envelope>,
}

impl Records {
    /// The records of one top-level field (empty if it has none), taken out.
    pub fn take(&mut self, field: &str) -> Vec<RawRecord> {
        self.fields
            .iter_mut()
            .find(|(name, _)| name == field)
            .map(|(_, records)| std::mem::take(records))
            .unwrap_or_default()
    }

    /// The alert's envelope, taken out.
    pub fn take_envelope(&mut self) -> Option<Envelope> {
        self.envelope.take()
    }

    /// The records of every field not taken.
    pub fn rest(self) -> Vec<RawRecord> {
        self.fields.into_iter().flat_map(|(_, r)| r).collect()
    }
}

/// A stored record read into a typed struct (the survey adapters' own types), under its
/// own writer schema.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(record: &RawRecord) -> Result<T, DecodeError> {
    let schema: serde_avro_fast::Schema = record
        .schema
        .json
        .parse()
        .map_err(|e| DecodeError::BadSchema(format!("{e}")))?;
    serde_avro_fast::from_datum_slice(&record.body, &schema)
        .map_err(|e| DecodeError::Avro(e.to_string()))
}

/// Each typed item beside its record as written (None where the schema gave none).
pub(crate) fn with_records<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    records: Vec<RawRecord>,
) -> impl Iterator<Item = (&'a T, Option<RawRecord>)> {
    let mut records = records.into_iter();
    items.map(move |item| (item, records.next()))
}

/// The record type a field holds, directly or through unions and arrays.
fn record_in(schema: &SchemaMut, key: SchemaKey, depth: usize) -> Option<SchemaKey> {
    if depth > MAX_DEPTH {
        return None;
    }
    match &schema.get(key)?.type_ {
        RegularType::Record(_) => Some(key),
        RegularType::Array(a) => record_in(schema, a.items, depth + 1),
        RegularType::Union(u) => u
            .variants
            .iter()
            .find_map(|v| record_in(schema, *v, depth + 1)),
        _ => None,
    }
}

/// The record type at `key` as a schema of its own (its root swapped to the front; what
/// it does not reference is dropped when frozen), with its fingerprint and JSON.
fn standalone(schema: &SchemaMut, key: SchemaKey) -> Result<RecordSchema, DecodeError> {
    let bad = |e: serde_avro_fast::schema::SchemaError| DecodeError::BadSchema(format!("{e}"));
    let mut nodes = schema.nodes().to_vec();
    let k = key.idx();
    nodes.swap(0, k);
    let swap = |s: &mut SchemaKey| {
        if s.idx() == 0 {
            *s = SchemaKey::from_idx(k);
        } else if s.idx() == k {
            *s = SchemaKey::from_idx(0);
        }
    };
    for node in &mut nodes {
        match &mut node.type_ {
            RegularType::Array(a) => swap(&mut a.items),
            RegularType::Map(m) => swap(&mut m.values),
            RegularType::Union(u) => u.variants.iter_mut().for_each(swap),
            RegularType::Record(r) => r.fields.iter_mut().for_each(|f| swap(&mut f.type_)),
            _ => {}
        }
    }
    let name = match &nodes[0].type_ {
        RegularType::Record(r) => r.name.name().to_string(),
        _ => String::new(),
    };
    let frozen = SchemaMut::from_nodes(nodes).freeze().map_err(bad)?;
    Ok(RecordSchema {
        name,
        fingerprint: i64::from_le_bytes(*frozen.rabin_fingerprint()),
        json: frozen.json().to_string(),
    })
}

/// Reads past Avro values, noting where chosen records lie.
struct Walker<'a> {
    schema: &'a SchemaMut,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Walker<'a> {
    fn truncated(&self) -> DecodeError {
        DecodeError::Content(format!("Avro datum ends early (at byte {})", self.pos))
    }

    fn advance(&mut self, n: usize) -> Result<(), DecodeError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                self.pos = end;
                Ok(())
            }
            _ => Err(self.truncated()),
        }
    }

    /// A zig-zag varint (Avro int and long).
    fn long(&mut self) -> Result<i64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or_else(|| self.truncated())?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err(DecodeError::Content(
            "Avro varint longer than 10 bytes".into(),
        ))
    }

    fn length(&mut self) -> Result<usize, DecodeError> {
        let n = self.long()?;
        usize::try_from(n).map_err(|_| DecodeError::Content(format!("negative Avro length {n}")))
    }

    fn node(&self, key: SchemaKey) -> Result<&'a RegularType, DecodeError> {
        let schema: &'a SchemaMut = self.schema;
        schema
            .get(key)
            .map(|n| &n.type_)
            .ok_or_else(|| DecodeError::BadSchema("schema node out of range".into()))
    }

    /// Walk a value of type `key`, noting the span of every `target` record met through
    /// unions and arrays.
    fn capture(
        &mut self,
        key: SchemaKey,
        target: SchemaKey,
        out: &mut Vec<(usize, usize)>,
        depth: usize,
    ) -> Result<(), DecodeError> {
        if key == target {
            let start = self.pos;
            self.skip(key, depth)?;
            out.push((start, self.pos));
            return Ok(());
        }
        match self.node(key)? {
            RegularType::Union(u) => {
                let variant = self.variant(&u.variants)?;
                self.capture(variant, target, out, depth + 1)
            }
            RegularType::Array(a) => self.blocks(|w| w.capture(a.items, target, out, depth + 1)),
            _ => self.skip(key, depth),
        }
    }

    fn variant(&mut self, variants: &[SchemaKey]) -> Result<SchemaKey, DecodeError> {
        let index = self.long()?;
        usize::try_from(index)
            .ok()
            .and_then(|i| variants.get(i).copied())
            .ok_or_else(|| DecodeError::Content(format!("Avro union index {index} out of range")))
    }

    /// An array's or map's blocks: a count (negative: followed by the block's byte size),
    /// its items, until a zero count.
    fn blocks(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        loop {
            let count = self.long()?;
            if count == 0 {
                return Ok(());
            }
            if count < 0 {
                self.long()?;
            }
            for _ in 0..count.unsigned_abs() {
                item(self)?;
            }
        }
    }

    fn skip(&mut self, key: SchemaKey, depth: usize) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::Content("Avro value nested too deep".into()));
        }
        match self.node(key)? {
            RegularType::Null => Ok(()),
            RegularType::Boolean => self.advance(1),
            RegularType::Int | RegularType::Long | RegularType::Enum(_) => self.long().map(|_| ()),
            RegularType::Float => self.advance(4),
            RegularType::Double => self.advance(8),
            RegularType::Bytes | RegularType::String => {
                let n = self.length()?;
                self.advance(n)
            }
            RegularType::Fixed(f) => self.advance(f.size),
            RegularType::Array(a) => self.blocks(|w| w.skip(a.items, depth + 1)),
            RegularType::Map(m) => {
                let values = m.values;
                self.blocks(|w| {
                    let n = w.length()?;
                    w.advance(n)?;
                    w.skip(values, depth + 1)
                })
            }
            RegularType::Union(u) => {
                let variant = self.variant(&u.variants)?;
                self.skip(variant, depth + 1)
            }
            RegularType::Record(r) => r
                .fields
                .iter()
                .try_for_each(|f| self.skip(f.type_, depth + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type": "record", "name": "alert", "fields": [
        {"name": "alertId", "type": "long"},
        {"name": "diaSource", "type": {"type": "record", "name": "diaSource", "fields": [
            {"name": "id", "type": "long"}, {"name": "flux", "type": ["null", "float"]},
            {"name": "band", "type": "string"}]}},
        {"name": "prvDiaSources", "type": ["null", {"type": "array", "items": "diaSource"}]},
        {"name": "cutoutScience", "type": ["null", "bytes"]}]}"#;

    /// alertId 7; diaSource {id 1, flux null, band "g"}; two history sources; no cutout.
    fn datum() -> Vec<u8> {
        let source = |id: u8, flux: Option<[u8; 4]>| {
            let mut b = vec![id * 2];
            match flux {
                Some(f) => {
                    b.push(2);
                    b.extend(f);
                }
                None => b.push(0),
            }
            b.extend([2, b'g']);
            b
        };
        let mut d = vec![14];
        d.extend(source(1, None));
        d.extend([2, 4]); // the union's array branch, a block of two
        d.extend(source(2, Some(1.5f32.to_le_bytes())));
        d.extend(source(3, None));
        d.extend([0, 0]); // end of the array; the null cutout
        d
    }

    #[test]
    fn each_record_is_cut_out_with_its_schema() {
        let types = RecordTypes::of(SCHEMA).unwrap();
        let mut records = types.split(&datum()).unwrap();
        let trigger = records.take("diaSource");
        let history = records.take("prvDiaSources");
        assert_eq!(trigger.len(), 1);
        assert_eq!(trigger[0].body, [2, 0, 2, b'g']);
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].body, [6, 0, 2, b'g']);
        assert_eq!(trigger[0].schema.name, "diaSource");
        assert_eq!(trigger[0].schema.fingerprint, history[0].schema.fingerprint);
        let value =
            crate::value::read(&history[0].body, &history[0].schema.json.parse().unwrap()).unwrap();
        assert_eq!(value.get("flux"), Some(&crate::value::Value::Float(1.5)));
        assert!(
            records.rest().is_empty(),
            "cutouts are not records the archive keeps"
        );
    }

    #[test]
    fn a_broken_datum_is_an_error_not_a_panic() {
        let types = RecordTypes::of(SCHEMA).unwrap();
        let good = datum();
        for end in 0..good.len() {
            assert!(types.split(&good[..end]).is_err(), "cut at {end}");
        }
        let mut bad_union = good.clone();
        bad_union[5] = 40; // the history union's branch 20
        assert!(types.split(&bad_union).is_err());
        let mut negative = good.clone();
        negative[3] = 1; // the band's length -1
        assert!(types.split(&negative).is_err());
        let mut endless = vec![14];
        endless.extend([0xff; 12]);
        assert!(types.split(&endless).is_err());
    }
}
