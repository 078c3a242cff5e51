//! Avro object container files ("Obj\x01", the writer schema in the header, then blocks of
//! records separated by a sync marker).
//!
//! The framing is read here rather than by `serde_avro_fast`'s reader for two reasons:
//! every record's byte offset is known (so a bad record is reported where it is), and the
//! writer schema is parsed once per distinct schema instead of once per file.

use std::collections::HashMap;
use std::io::Read;

use crate::schema_cache::{ParsedSchema, SchemaCache};
use crate::{lsst, ztf, DecodeError, Decoded, PacketKind};

pub const MAGIC: &[u8; 4] = b"Obj\x01";
const SYNC_LEN: usize = 16;
// A block claiming more than this many records is corrupt, not big.
const MAX_BLOCK_RECORDS: i64 = 10_000_000;

pub(crate) fn decode(bytes: &[u8], schemas: &SchemaCache) -> Result<Decoded, DecodeError> {
    let records = decode_with(bytes, schemas, |rest, parsed| {
        let kind = parsed.kind.clone().map_err(DecodeError::BadSchema)?;
        Ok(read_record(rest, parsed, kind))
    })?;
    Ok(Decoded { records })
}

/// Each record's byte offset and what reading it gave.
pub(crate) type Records<T> = Vec<(u64, Result<T, DecodeError>)>;

/// The container framing, with `read` turning each datum into a `T` (and saying how many
/// bytes it used). `read` failing outright refuses the whole file.
pub(crate) fn decode_with<T>(
    bytes: &[u8],
    schemas: &SchemaCache,
    read: impl Fn(&[u8], &ParsedSchema) -> Result<(Result<T, DecodeError>, usize), DecodeError>,
) -> Result<Records<T>, DecodeError> {
    let mut cur = Cursor {
        bytes,
        pos: MAGIC.len(),
    };
    let meta = read_metadata(&mut cur)?;
    let schema_json = meta
        .get("avro.schema")
        .ok_or_else(|| DecodeError::CorruptContainer("header has no avro.schema".into()))?;
    let schema_json = std::str::from_utf8(schema_json)
        .map_err(|_| DecodeError::CorruptContainer("avro.schema is not UTF-8".into()))?;
    let codec = match meta.get("avro.codec").map(|c| c.as_slice()) {
        None | Some(b"null") => Codec::Null,
        Some(b"deflate") => Codec::Deflate,
        Some(other) => {
            return Err(DecodeError::UnsupportedCodec(
                String::from_utf8_lossy(other).into_owned(),
            ))
        }
    };
    let parsed = schemas.by_json(schema_json)?;
    let sync = cur.take(SYNC_LEN, "sync marker")?;

    let mut records = Vec::new();
    let mut inflated = Vec::new();
    while cur.pos < bytes.len() {
        let block_start = cur.pos as u64;
        let count = cur.long("block record count")?;
        let size = cur.long("block size")?;
        if !(0..=MAX_BLOCK_RECORDS).contains(&count) || size < 0 {
            return Err(DecodeError::CorruptContainer(format!(
                "block at byte {block_start}: impossible count {count} / size {size}"
            )));
        }
        let data_start = cur.pos as u64;
        let data = cur.take(size as usize, "block data")?;
        let marker = cur.take(SYNC_LEN, "block sync marker")?;
        if marker != sync {
            return Err(DecodeError::CorruptContainer(format!(
                "block at byte {block_start}: sync marker does not match the header's"
            )));
        }
        let data = match codec {
            Codec::Null => data,
            Codec::Deflate => {
                inflated.clear();
                flate2::read::DeflateDecoder::new(data)
                    .read_to_end(&mut inflated)
                    .map_err(|e| {
                        DecodeError::CorruptContainer(format!(
                            "block at byte {block_start}: deflate: {e}"
                        ))
                    })?;
                inflated.as_slice()
            }
        };
        // Records in a block are concatenated datums; each one's length is only known by
        // reading it, so they are read in sequence from a shrinking slice.
        let mut rest = data;
        for _ in 0..count {
            let offset = data_start + (data.len() - rest.len()) as u64;
            let (result, used) = read(rest, &parsed)?;
            let failed = result.is_err();
            records.push((offset, result));
            if failed {
                // The rest of this block cannot be located; the next block can.
                break;
            }
            rest = &rest[used..];
        }
    }
    Ok(records)
}

/// Read one datum from the front of `bytes`; returns the alert and how many bytes it used.
/// The alert carries each of its records' bytes as well, for the archive.
pub(crate) fn read_record(
    bytes: &[u8],
    parsed: &ParsedSchema,
    kind: PacketKind,
) -> (Result<solas_core::Alert, DecodeError>, usize) {
    // `&[u8]` as a BufRead: what remains of it afterwards tells how long the datum was.
    let mut state = serde_avro_fast::de::DeserializerState::new(
        serde_avro_fast::de::read::ReaderRead::new(bytes),
        &parsed.schema,
    );
    let packet =
        match kind {
            PacketKind::Ztf => serde::Deserialize::deserialize(state.deserializer())
                .map(|p| Packet::Ztf(Box::new(p))),
            PacketKind::Lsst => serde::Deserialize::deserialize(state.deserializer())
                .map(|p| Packet::Lsst(Box::new(p))),
        }
        .map_err(|e| DecodeError::Avro(e.to_string()));
    let used = bytes.len() - state.into_reader().into_inner().len();
    let result = packet.and_then(|packet| {
        let records = match &parsed.records {
            Some(types) => types.split(&bytes[..used])?,
            None => crate::records::Records::default(),
        };
        match packet {
            Packet::Ztf(p) => p.into_alert(records),
            Packet::Lsst(p) => p.into_alert(&parsed.version, records),
        }
    });
    (result, used)
}

enum Packet {
    Ztf(Box<ztf::ZtfPacket>),
    Lsst(Box<lsst::LsstPacket>),
}

enum Codec {
    Null,
    Deflate,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(DecodeError::Truncated(format!(
                "{what} at byte {} needs {n} bytes, {} left",
                self.pos,
                self.bytes.len() - self.pos
            ))),
        }
    }

    /// Avro `long`: zig-zag varint.
    fn long(&mut self, what: &str) -> Result<i64, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or_else(|| {
                DecodeError::Truncated(format!("{what} at byte {start} runs past the end"))
            })?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err(DecodeError::CorruptContainer(format!(
            "{what} at byte {start} is not a valid varint"
        )))
    }
}

/// The header's metadata map (string keys, bytes values).
fn read_metadata(cur: &mut Cursor) -> Result<HashMap<String, Vec<u8>>, DecodeError> {
    let mut meta = HashMap::new();
    loop {
        let mut count = cur.long("metadata block count")?;
        if count == 0 {
            return Ok(meta);
        }
        if count < 0 {
            count = count.checked_neg().ok_or_else(|| {
                DecodeError::CorruptContainer("metadata block count overflows".into())
            })?;
            cur.long("metadata block size")?;
        }
        if count > 1_000 {
            return Err(DecodeError::CorruptContainer(format!(
                "metadata claims {count} entries"
            )));
        }
        for _ in 0..count {
            let klen = cur.long("metadata key length")?;
            let key = cur.take(usize::try_from(klen).unwrap_or(usize::MAX), "metadata key")?;
            let vlen = cur.long("metadata value length")?;
            let value = cur.take(
                usize::try_from(vlen).unwrap_or(usize::MAX),
                "metadata value",
            )?;
            meta.insert(String::from_utf8_lossy(key).into_owned(), value.to_vec());
        }
    }
}
