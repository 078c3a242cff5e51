//! Alert payloads as a Kafka message or a file brings them: Avro container files (ZTF,
//! Rubin samples) and the Confluent wire format (Rubin), against the schemas in
//! `SOLAS_SCHEMA_DIR` when it is set. Any input gives alerts or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use solas_decode::Decoder;

fn decoder() -> &'static Decoder {
    static DECODER: OnceLock<Decoder> = OnceLock::new();
    DECODER.get_or_init(|| {
        let dir = std::env::var_os("SOLAS_SCHEMA_DIR").map(std::path::PathBuf::from);
        Decoder::configured(dir.as_deref(), None).unwrap_or_else(|_| Decoder::new())
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = decoder().decode(data) {
        for (_, alert) in decoded.records {
            let _ = alert.map(|a| a.detections.len());
        }
    }
});
