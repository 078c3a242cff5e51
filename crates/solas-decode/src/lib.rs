//! Alert decoding: bytes in, survey-neutral [`solas_core::Alert`]s out.
//!
//! Three framings arrive from the surveys:
//! - Avro object container files ([`container`]): ZTF's alert files, and Rubin alerts
//!   re-packaged in files; the writer schema is in the file.
//! - The Confluent wire format ([`wire`]): Rubin's Kafka stream; `0x00`, a big-endian
//!   schema id, then a schemaless Avro body whose schema comes from a [`registry`].
//!
//! Records are read straight into the typed structs of `solas_core::survey`, then the thin
//! survey adapters ([`ztf`], [`lsst`]) map them onto the neutral model. Every failure is a
//! [`DecodeError`] with a short machine-readable [`DecodeError::reason`] for counting.

pub mod container;
pub mod error;
pub mod lsst;
pub mod rebuild;
pub mod records;
pub mod registry;
mod schema_cache;
pub mod value;
pub mod wire;
pub mod ztf;

pub use error::DecodeError;
pub use registry::{DirRegistry, HttpRegistry, SchemaRegistry};

use solas_core::Alert;

/// The result of decoding one payload (a file or a Kafka message): the alerts in it, each
/// decoded or rejected on its own, with the byte offset of the record it came from.
#[derive(Debug)]
pub struct Decoded {
    pub records: Vec<(u64, Result<Alert, DecodeError>)>,
}

/// Decodes payloads of any supported framing. Cheap to share between threads.
pub struct Decoder {
    registry: Option<Box<dyn SchemaRegistry>>,
    schemas: schema_cache::SchemaCache,
}

impl Decoder {
    /// A decoder for container files only (no registry for wire-format alerts).
    pub fn new() -> Decoder {
        Decoder {
            registry: None,
            schemas: schema_cache::SchemaCache::default(),
        }
    }

    /// A decoder that also reads Confluent wire-format alerts, looking schemas up in `registry`.
    pub fn with_registry(registry: Box<dyn SchemaRegistry>) -> Decoder {
        Decoder {
            registry: Some(registry),
            schemas: schema_cache::SchemaCache::default(),
        }
    }

    /// A decoder whose wire-format schemas come from a directory if given, else from a
    /// registry URL if given; container files only when neither is.
    pub fn configured(
        schema_dir: Option<&std::path::Path>,
        registry_url: Option<&str>,
    ) -> Result<Decoder, DecodeError> {
        Ok(match (schema_dir, registry_url) {
            (Some(dir), _) => Decoder::with_registry(Box::new(DirRegistry::open(dir)?)),
            (None, Some(url)) => Decoder::with_registry(Box::new(HttpRegistry::new(url))),
            (None, None) => Decoder::new(),
        })
    }

    /// Decode one payload, recognising its framing from its first bytes.
    ///
    /// `Err` means the payload as a whole could not be read (unknown framing, corrupt
    /// container header, unknown schema id); per-record failures inside a container
    /// are returned in [`Decoded::records`] so the good records still get through.
    pub fn decode(&self, bytes: &[u8]) -> Result<Decoded, DecodeError> {
        if bytes.starts_with(container::MAGIC) {
            container::decode(bytes, &self.schemas)
        } else if bytes.first() == Some(&wire::MAGIC) {
            let registry = self.registry.as_deref().ok_or(DecodeError::NoRegistry)?;
            let alert = wire::decode(bytes, registry, &self.schemas)?;
            Ok(Decoded {
                records: vec![(0, Ok(alert))],
            })
        } else {
            Err(DecodeError::UnknownFraming {
                first_bytes: bytes.iter().take(4).copied().collect(),
            })
        }
    }
}

impl Decoder {
    /// Decode a payload of any Avro schema (container file or Confluent wire format) into
    /// JSON records, e.g. another broker's classification stream. Per-record failures come
    /// back per record, as for alerts.
    pub fn decode_json(
        &self,
        bytes: &[u8],
    ) -> Result<Vec<Result<serde_json::Value, DecodeError>>, DecodeError> {
        Ok(self
            .decode_values(bytes)?
            .into_iter()
            .map(|record| record.map(|v| v.to_json()))
            .collect())
    }
}

impl Decoder {
    /// Every datum of a payload read whole with nothing lost ([`value::Value`]): what the
    /// archive's records are checked against.
    pub fn decode_values(
        &self,
        bytes: &[u8],
    ) -> Result<Vec<Result<value::Value, DecodeError>>, DecodeError> {
        if bytes.starts_with(container::MAGIC) {
            let records = container::decode_with(bytes, &self.schemas, |rest, parsed| {
                Ok(value::read_front(rest, &parsed.schema))
            })?;
            Ok(records.into_iter().map(|(_, r)| r).collect())
        } else if bytes.first() == Some(&wire::MAGIC) {
            let registry = self.registry.as_deref().ok_or(DecodeError::NoRegistry)?;
            let (id, body) = wire::split(bytes)?;
            let parsed = self.schemas.by_id(id, || registry.schema_json(id))?;
            Ok(vec![value::read(body, &parsed.schema)])
        } else {
            Err(DecodeError::UnknownFraming {
                first_bytes: bytes.iter().take(4).copied().collect(),
            })
        }
    }
}

impl Decoder {
    /// The records of a container file as bare Avro datums (what a Confluent wire message
    /// carries after its 5-byte header), with the writer schema's Rubin version (`"9.0"`,
    /// empty for other schemas). `solas replay` uses it to publish Rubin alerts framed as
    /// the real stream frames them.
    pub fn container_datums(&self, bytes: &[u8]) -> Result<(String, Vec<Vec<u8>>), DecodeError> {
        if !bytes.starts_with(container::MAGIC) {
            return Err(DecodeError::UnknownFraming {
                first_bytes: bytes.iter().take(4).copied().collect(),
            });
        }
        let version = std::cell::RefCell::new(String::new());
        let records = container::decode_with(bytes, &self.schemas, |rest, parsed| {
            version.replace(parsed.version.clone());
            let (value, used) = value::read_front(rest, &parsed.schema);
            Ok((value.map(|_| rest[..used].to_vec()), used))
        })?;
        let datums = records
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((version.into_inner(), datums))
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

/// Which survey's packet a writer schema describes, from its top-level field names.
pub(crate) fn packet_kind(schema_json: &str) -> Result<PacketKind, DecodeError> {
    #[derive(serde::Deserialize)]
    struct Top {
        #[serde(default)]
        fields: Vec<Field>,
    }
    #[derive(serde::Deserialize)]
    struct Field {
        name: String,
    }
    let top: Top = serde_json::from_str(schema_json)
        .map_err(|e| DecodeError::BadSchema(format!("schema is not a JSON record: {e}")))?;
    let has = |n: &str| top.fields.iter().any(|f| f.name == n);
    if has("candidate") && has("objectId") {
        Ok(PacketKind::Ztf)
    } else if has("diaSource") {
        Ok(PacketKind::Lsst)
    } else {
        Err(DecodeError::BadSchema(
            "top-level record is neither a ZTF alert (objectId, candidate) nor a Rubin alert (diaSource)".into(),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketKind {
    Ztf,
    Lsst,
}
