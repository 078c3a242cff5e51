//! Why an alert could not be decoded.

/// A decoding failure. [`DecodeError::reason`] gives a short stable code for counters.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown framing: first bytes {first_bytes:02x?} are neither an Avro container (Obj\\x01) nor Confluent wire format (0x00)")]
    UnknownFraming { first_bytes: Vec<u8> },
    #[error("truncated input: {0}")]
    Truncated(String),
    #[error("corrupt container: {0}")]
    CorruptContainer(String),
    #[error("unsupported container codec {0:?}")]
    UnsupportedCodec(String),
    #[error("bad schema: {0}")]
    BadSchema(String),
    #[error("unknown schema id {0}")]
    UnknownSchema(u32),
    #[error("wire-format alert but no schema registry configured (use --schema-dir or --schema-registry)")]
    NoRegistry,
    #[error("schema registry: {0}")]
    Registry(String),
    #[error("Avro body does not match its schema: {0}")]
    Avro(String),
    #[error("{0} trailing bytes after the Avro body (wrong schema?)")]
    TrailingBytes(usize),
    #[error("invalid alert content: {0}")]
    Content(String),
}

impl DecodeError {
    /// Short stable code, used as the counter label for rejected alerts.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::UnknownFraming { .. } => "unknown_framing",
            DecodeError::Truncated(_) => "truncated",
            DecodeError::CorruptContainer(_) => "corrupt_container",
            DecodeError::UnsupportedCodec(_) => "unsupported_codec",
            DecodeError::BadSchema(_) => "bad_schema",
            DecodeError::UnknownSchema(_) => "unknown_schema",
            DecodeError::NoRegistry => "no_registry",
            DecodeError::Registry(_) => "registry_error",
            DecodeError::Avro(_) => "avro_mismatch",
            DecodeError::TrailingBytes(_) => "trailing_bytes",
            DecodeError::Content(_) => "invalid_content",
        }
    }
}
