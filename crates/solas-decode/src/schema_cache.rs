//! Parsed schemas, kept by their JSON text: a stream of container files all carrying the
//! same writer schema parses it once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_avro_fast::Schema;

use crate::{packet_kind, DecodeError, PacketKind};

/// A parsed schema and which survey's packet it describes.
pub(crate) struct ParsedSchema {
    pub schema: Schema,
    /// Which alert packet it is, or why it is none (other Avro, e.g. a broker's
    /// classification stream, is still readable as JSON).
    pub kind: Result<PacketKind, String>,
    /// `"3.3"`, `"9.0"`: from the schema's name or doc where it says, else empty.
    pub version: String,
    /// For an alert packet: the record types the archive keeps whole.
    pub records: Option<crate::records::RecordTypes>,
}

#[derive(Default)]
pub(crate) struct SchemaCache {
    by_json: RwLock<HashMap<String, Arc<ParsedSchema>>>,
    by_id: RwLock<HashMap<u32, Arc<ParsedSchema>>>,
}

// Bounded so that a stream of ever-different schemas cannot grow memory without limit.
const MAX_ENTRIES: usize = 256;

impl SchemaCache {
    pub fn by_json(&self, json: &str) -> Result<Arc<ParsedSchema>, DecodeError> {
        if let Some(hit) = self.by_json.read().ok().and_then(|m| m.get(json).cloned()) {
            return Ok(hit);
        }
        let parsed = Arc::new(parse(json, None)?);
        if let Ok(mut map) = self.by_json.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(json.to_string(), parsed.clone());
        }
        Ok(parsed)
    }

    pub fn by_id(
        &self,
        id: u32,
        fetch: impl FnOnce() -> Result<String, DecodeError>,
    ) -> Result<Arc<ParsedSchema>, DecodeError> {
        if let Some(hit) = self.by_id.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(hit);
        }
        let parsed = Arc::new(parse(&fetch()?, Some(id))?);
        if let Ok(mut map) = self.by_id.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(id, parsed.clone());
        }
        Ok(parsed)
    }
}

fn parse(json: &str, id: Option<u32>) -> Result<ParsedSchema, DecodeError> {
    let kind = packet_kind(json).map_err(|e| match e {
        DecodeError::BadSchema(m) => m,
        other => other.to_string(),
    });
    let schema: Schema = json
        .parse()
        .map_err(|e| DecodeError::BadSchema(format!("{e}")))?;
    let version = match id {
        Some(id) => format!("{}.{}", id / 100, id % 100),
        None => version_from_json(json),
    };
    let records = match kind {
        Ok(_) => Some(crate::records::RecordTypes::of(json)?),
        Err(_) => None,
    };
    Ok(ParsedSchema {
        schema,
        kind,
        version,
        records,
    })
}

/// Rubin puts the version in the namespace, `lsst.v9_0`, either as `namespace` or as the
/// prefix of a full name (`lsst.v9_0.alert`); that is the version.
fn version_from_json(json: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Top {
        namespace: Option<String>,
        name: Option<String>,
    }
    let Ok(top) = serde_json::from_str::<Top>(json) else {
        return String::new();
    };
    let from = |s: &str| {
        let v = s.strip_prefix("lsst.v")?;
        let v = v.split('.').next()?;
        let (major, minor) = v.split_once('_')?;
        (major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok())
            .then(|| format!("{major}.{minor}"))
    };
    top.namespace
        .as_deref()
        .and_then(from)
        .or_else(|| top.name.as_deref().and_then(from))
        .unwrap_or_default()
}
