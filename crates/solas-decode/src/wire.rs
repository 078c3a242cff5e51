//! The Confluent wire format Rubin uses on Kafka: byte 0 = `0x00`, bytes 1–4 = the schema
//! id (big-endian; major×100 + minor, e.g. 900 for 9.0), then one schemaless Avro datum.

use solas_core::Alert;

use crate::container::read_record;
use crate::registry::SchemaRegistry;
use crate::schema_cache::SchemaCache;
use crate::DecodeError;

pub const MAGIC: u8 = 0x00;
const HEADER_LEN: usize = 5;

/// Split a wire-format message into its schema id and Avro body.
pub fn split(bytes: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::Truncated(format!(
            "wire-format header needs {HEADER_LEN} bytes, got {}",
            bytes.len()
        )));
    }
    if bytes[0] != MAGIC {
        return Err(DecodeError::UnknownFraming {
            first_bytes: bytes[..4].to_vec(),
        });
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

/// Frame an Avro body with its schema id (used by replay and tests).
pub fn frame(schema_id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub(crate) fn decode(
    bytes: &[u8],
    registry: &dyn SchemaRegistry,
    schemas: &SchemaCache,
) -> Result<Alert, DecodeError> {
    let (id, body) = split(bytes)?;
    let parsed = schemas.by_id(id, || registry.schema_json(id))?;
    let kind = parsed.kind.clone().map_err(DecodeError::BadSchema)?;
    let (alert, used) = read_record(body, &parsed, kind);
    let alert = alert?;
    if used != body.len() {
        return Err(DecodeError::TrailingBytes(body.len() - used));
    }
    Ok(alert)
}
