//! Parsed schemas, kept by their JSON text: a stream of container files all carrying the
//! same writer schema parses it once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_avro_fast::Schema;

use crate::{packet_kind, DecodeError, PacketKind};

/// A parsed schema and which survey's packet it describes.
pub(crate) struct ParsedSchema {
    pub schema: Schema,
    pub kind: PacketKind,
    /// `"3.3"`, `"9.0"`: from the schema's name or doc where it says, else empty.
    pub version: String,
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
    let kind = packet_kind(json)?;
    let schema: Schema = json
        .parse()
        .map_err(|e| DecodeError::BadSchema(format!("{e}")))?;
    let version = match id {
        Some(id) => format!("{}.{}", id / 100, id % 100),
        None => version_from_json(json),
    };
    Ok(ParsedSchema {
        schema,
        kind,
        version,
    })
}

/// Rubin names its namespaces `lsst.v9_0`; that is the version.
fn version_from_json(json: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Top {
        namespace: Option<String>,
    }
    serde_json::from_str::<Top>(json)
        .ok()
        .and_then(|t| t.namespace)
        .and_then(|ns| ns.strip_prefix("lsst.v").map(|v| v.replacen('_', ".", 1)))
        .unwrap_or_default()
}
