//! Where wire-format alerts' schemas come from: a directory of `.avsc` files (the layout
//! of Rubin's alert_packet schemas, `<major>/<minor>/lsst.vX_Y.*.avsc`) or a
//! Confluent-compatible schema registry over HTTP.
//!
//! Schemas are never compiled into Solas (Rubin's schema files are GPL): the operator
//! points at a directory or a registry.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::DecodeError;

/// Looks up a writer schema's JSON text by its registry id.
pub trait SchemaRegistry: Send + Sync {
    fn schema_json(&self, id: u32) -> Result<String, DecodeError>;
}

/// Schemas from a directory tree of `.avsc` files.
///
/// Every file holding a record named `alert` is a top-level schema; its id is its
/// `confluent:version` attribute when present, else major×100+minor from its namespace
/// (`lsst.v9_0` → 900). Named types it refers to (`lsst.v9_0.diaSource`) are inlined from
/// the other `.avsc` files in the same directory, so the result is self-contained.
pub struct DirRegistry {
    schemas: HashMap<u32, String>,
}

impl DirRegistry {
    pub fn open(dir: &Path) -> Result<DirRegistry, DecodeError> {
        let mut files = Vec::new();
        collect_avsc(dir, &mut files)?;
        let mut by_dir: HashMap<PathBuf, Vec<Value>> = HashMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| DecodeError::Registry(format!("{}: {e}", file.display())))?;
            let json: Value = serde_json::from_str(&text)
                .map_err(|e| DecodeError::Registry(format!("{}: {e}", file.display())))?;
            let parent = file.parent().unwrap_or(dir).to_path_buf();
            by_dir.entry(parent).or_default().push(json);
        }
        let mut schemas = HashMap::new();
        for docs in by_dir.values() {
            let named: HashMap<String, &Value> = docs
                .iter()
                .filter_map(|d| full_name(d).map(|n| (n, d)))
                .collect();
            for doc in docs {
                if doc.get("name").and_then(Value::as_str) != Some("alert") {
                    continue;
                }
                let Some(id) = schema_id(doc) else { continue };
                let mut seen = HashSet::new();
                let ns = doc.get("namespace").and_then(Value::as_str).unwrap_or("");
                let composed = inline(doc, ns, &named, &mut seen);
                schemas.insert(id, composed.to_string());
            }
        }
        if schemas.is_empty() {
            return Err(DecodeError::Registry(format!(
                "no alert schemas (records named \"alert\") under {}",
                dir.display()
            )));
        }
        Ok(DirRegistry { schemas })
    }

    /// The ids this directory provides, sorted.
    pub fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.schemas.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

impl SchemaRegistry for DirRegistry {
    fn schema_json(&self, id: u32) -> Result<String, DecodeError> {
        self.schemas
            .get(&id)
            .cloned()
            .ok_or(DecodeError::UnknownSchema(id))
    }
}

fn collect_avsc(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DecodeError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| DecodeError::Registry(format!("{}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_avsc(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "avsc") {
            out.push(path);
        }
    }
    Ok(())
}

fn full_name(doc: &Value) -> Option<String> {
    let name = doc.get("name")?.as_str()?;
    Some(match doc.get("namespace").and_then(Value::as_str) {
        Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
        _ => name.to_string(),
    })
}

fn schema_id(doc: &Value) -> Option<u32> {
    if let Some(v) = doc.get("confluent:version").and_then(Value::as_u64) {
        return u32::try_from(v).ok();
    }
    let ns = doc.get("namespace")?.as_str()?;
    let (major, minor) = ns.rsplit('.').next()?.strip_prefix('v')?.split_once('_')?;
    Some(major.parse::<u32>().ok()? * 100 + minor.parse::<u32>().ok()?)
}

/// Replace the first reference to each named type by its definition (Avro allows later
/// references by name once a type is defined).
fn inline(
    node: &Value,
    ns: &str,
    named: &HashMap<String, &Value>,
    seen: &mut HashSet<String>,
) -> Value {
    match node {
        Value::String(s) => {
            let full = if s.contains('.') {
                s.clone()
            } else {
                format!("{ns}.{s}")
            };
            match named.get(&full) {
                Some(def) if !seen.contains(&full) => {
                    seen.insert(full);
                    let inner_ns = def.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                    inline(def, inner_ns, named, seen)
                }
                _ => node.clone(),
            }
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| inline(v, ns, named, seen)).collect())
        }
        Value::Object(map) => {
            if let Some(n) = full_name(node) {
                seen.insert(n);
            }
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let v = match k.as_str() {
                    "type" | "items" | "values" | "fields" => inline(v, ns, named, seen),
                    _ => v.clone(),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        _ => node.clone(),
    }
}

/// A Confluent-compatible schema registry (`GET {url}/schemas/ids/{id}`), with answers cached.
pub struct HttpRegistry {
    base: String,
    agent: ureq::Agent,
    cache: Mutex<HashMap<u32, String>>,
}

impl HttpRegistry {
    pub fn new(url: &str) -> HttpRegistry {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build();
        HttpRegistry {
            base: url.trim_end_matches('/').to_string(),
            agent: config.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl SchemaRegistry for HttpRegistry {
    fn schema_json(&self, id: u32) -> Result<String, DecodeError> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
            return Ok(hit);
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            schema: String,
        }
        let url = format!("{}/schemas/ids/{id}", self.base);
        let mut response = match self.agent.get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::StatusCode(404)) => return Err(DecodeError::UnknownSchema(id)),
            Err(e) => return Err(DecodeError::Registry(format!("GET {url}: {e}"))),
        };
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| DecodeError::Registry(format!("GET {url}: {e}")))?;
        let answer: Answer = serde_json::from_str(&text)
            .map_err(|e| DecodeError::Registry(format!("GET {url}: {e}")))?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(id, answer.schema.clone());
        }
        Ok(answer.schema)
    }
}
