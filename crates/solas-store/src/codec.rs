//! Record compression for the lightcurve store: each source's Avro record is compressed
//! with zstd against a dictionary trained on the first records of its schema
//! (`docs/archive.md#cost` has what it saves: limits to 0.36 of raw, detections to 0.72).
//!
//! One record alone hardly compresses (its bytes are mostly unlike each other); records of
//! one schema are much alike, which a dictionary captures. Until a schema has
//! [`SAMPLES`] records its records are stored as they came (dictionary NULL) and kept as
//! training samples; then a dictionary is trained, stored in `record_dictionaries` in the
//! same transaction as the first row that uses it, and every later record of the schema
//! is compressed with it. A dictionary's id is a 64-bit hash of its bytes, so scale-out
//! workers that train their own never clash. Frames carry neither zstd's magic number nor
//! the dictionary id (the row names it): 8 bytes a record saved.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use solas_core::RawRecord;

use crate::StoreError;

/// Records of a schema kept raw, as training samples, before its dictionary is trained.
const SAMPLES: usize = 1000;
/// Or fewer, once the samples hold this many bytes.
const SAMPLE_BYTES: usize = 1 << 20;
/// The largest dictionary trained (zstd's guide: about a hundredth of the samples).
const DICTIONARY_BYTES: usize = 16 << 10;
/// zstd's fastest level: on records of a few hundred bytes higher levels gain nothing
/// (level 6 came out 5 % larger on Rubin limits) and cost four times the time (0.9 against
/// 3.7 µs a record), which an ingest of every record of every new object pays.
const LEVEL: i32 = 1;
/// The largest record read back (a record is a few kilobytes at most; this bounds a
/// corrupt row's claim on memory).
const MAX_RECORD: usize = 16 << 20;

/// A stored record's bytes and the dictionary they were compressed with (None: raw).
pub(crate) struct Packed {
    pub dictionary: Option<i64>,
    pub bytes: Vec<u8>,
}

/// A dictionary trained here and not yet known to be stored.
#[derive(Debug, Clone)]
pub(crate) struct NewDictionary {
    pub id: i64,
    pub record_schema: i64,
    pub bytes: Arc<Vec<u8>>,
}

enum Writer {
    /// Collecting samples; after a failed training, twice as many (`tries` so far).
    Sampling {
        samples: Vec<u8>,
        sizes: Vec<usize>,
        tries: u32,
    },
    /// A dictionary the store already held, not yet loaded into a compressor.
    Stored { id: i64, bytes: Vec<u8> },
    Ready {
        id: i64,
        compressor: Box<zstd::bulk::Compressor<'static>>,
    },
    /// No dictionary could be trained after [`TRIES`] tries: stored as they come.
    Raw,
}

/// Trainings tried per schema before its records are left raw.
const TRIES: u32 = 4;

/// The writing side: per schema, samples or a dictionary; and dictionaries trained but not
/// yet committed.
pub(crate) struct Encoder {
    writers: HashMap<i64, Writer>,
    pending: Vec<NewDictionary>,
    /// Records sampled before a schema's dictionary is trained.
    samples: usize,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            writers: HashMap::new(),
            pending: Vec::new(),
            samples: SAMPLES,
        }
    }
}

fn zstd_error(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Invalid(format!("record compression: {what}: {e}"))
}

/// A dictionary's id: the Rabin fingerprint (CRC-64-AVRO, as the schemas' keys) of its
/// bytes. Hand-written because it is eight lines and the Avro crate keeps its own private.
pub(crate) fn dictionary_id(bytes: &[u8]) -> i64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    let mut fp = EMPTY;
    for &b in bytes {
        let mut x = (fp ^ u64::from(b)) & 0xff;
        for _ in 0..8 {
            x = (x >> 1) ^ (EMPTY & (!(x & 1)).wrapping_add(1));
        }
        fp = (fp >> 8) ^ x;
    }
    fp as i64
}

fn compressor(bytes: &[u8]) -> Result<zstd::bulk::Compressor<'static>, StoreError> {
    let mut c =
        zstd::bulk::Compressor::with_dictionary(LEVEL, bytes).map_err(|e| zstd_error("load", e))?;
    c.include_magicbytes(false)
        .and_then(|_| c.include_dictid(false))
        .and_then(|_| c.include_checksum(false))
        .and_then(|_| c.include_contentsize(false))
        .map_err(|e| zstd_error("parameters", e))?;
    Ok(c)
}

impl Encoder {
    /// Train each schema's dictionary after this many records (at least 10) instead of
    /// [`SAMPLES`]: for measuring the archive's cost on a small sample of alerts.
    pub(crate) fn train_after(&mut self, records: usize) {
        self.samples = records.max(10);
    }

    /// Use the dictionaries a store already holds (the last read for each schema, where
    /// scale-out workers trained several), so a restart does not train again. Each is made
    /// ready on its schema's first record: a store opened only to read builds none.
    pub(crate) fn resume(&mut self, stored: impl IntoIterator<Item = (i64, i64, Vec<u8>)>) {
        for (id, schema, bytes) in stored {
            self.writers.insert(schema, Writer::Stored { id, bytes });
        }
    }

    /// A record as it is stored: compressed once its schema has a dictionary.
    pub(crate) fn pack(&mut self, r: &RawRecord) -> Result<Packed, StoreError> {
        let schema = r.schema.fingerprint;
        let writer = self.writers.entry(schema).or_insert(Writer::Sampling {
            samples: Vec::new(),
            sizes: Vec::new(),
            tries: 0,
        });
        if let Writer::Stored { id, bytes } = writer {
            let ready = Writer::Ready {
                id: *id,
                compressor: Box::new(compressor(bytes)?),
            };
            *writer = ready;
        }
        let raw = || Packed {
            dictionary: None,
            bytes: r.body.clone(),
        };
        match writer {
            // Made ready just above.
            Writer::Stored { .. } => Ok(raw()),
            Writer::Raw => Ok(raw()),
            Writer::Ready { id, compressor } => Ok(Packed {
                dictionary: Some(*id),
                bytes: compressor
                    .compress(&r.body)
                    .map_err(|e| zstd_error("compress", e))?,
            }),
            Writer::Sampling {
                samples,
                sizes,
                tries,
            } => {
                samples.extend_from_slice(&r.body);
                sizes.push(r.body.len());
                let scale = 1usize << *tries;
                if sizes.len() >= self.samples * scale || samples.len() >= SAMPLE_BYTES * scale {
                    match train(schema, samples, sizes)? {
                        Some((new, ready)) => {
                            self.pending.push(new);
                            *writer = ready;
                        }
                        None if *tries + 1 >= TRIES => *writer = Writer::Raw,
                        None => *tries += 1,
                    }
                }
                Ok(raw())
            }
        }
    }

    /// Dictionaries trained since the last commit: each write's transaction stores them
    /// (`ON CONFLICT DO NOTHING`) before its rows.
    pub(crate) fn pending(&self) -> &[NewDictionary] {
        &self.pending
    }

    /// After the transaction that stored them committed.
    pub(crate) fn committed(&mut self) {
        self.pending.clear();
    }
}

/// A trained dictionary and the writer using it; None (sampling goes on) when zstd finds
/// the samples too few or too alike to train on.
fn train(
    schema: i64,
    samples: &[u8],
    sizes: &[usize],
) -> Result<Option<(NewDictionary, Writer)>, StoreError> {
    let capacity = DICTIONARY_BYTES.min(samples.len() / 8).max(256);
    let bytes = match zstd::dict::from_continuous(samples, sizes, capacity) {
        Ok(b) => b,
        Err(e) => {
            log::debug!(
                "schema {schema}: no dictionary from {} samples: {e}",
                sizes.len()
            );
            return Ok(None);
        }
    };
    let id = dictionary_id(&bytes);
    let compressor = Box::new(compressor(&bytes)?);
    Ok(Some((
        NewDictionary {
            id,
            record_schema: schema,
            bytes: Arc::new(bytes),
        },
        Writer::Ready { id, compressor },
    )))
}

fn decompressor(dictionary: &[u8]) -> Result<zstd::bulk::Decompressor<'static>, StoreError> {
    let mut d =
        zstd::bulk::Decompressor::with_dictionary(dictionary).map_err(|e| zstd_error("load", e))?;
    d.include_magicbytes(false)
        .map_err(|e| zstd_error("parameters", e))?;
    Ok(d)
}

/// One stored record's Avro bytes, from its bytes and its row's dictionary (None: stored
/// raw): for readers outside the store (tests comparing two stores whose dictionaries
/// differ, tools reading the tables directly).
pub fn unpack_record(dictionary: Option<&[u8]>, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let Some(dict) = dictionary else {
        return Ok(bytes.to_vec());
    };
    let mut d = Decoder::default();
    d.keep(0, dict)?;
    d.unpack(Some(0), bytes.to_vec(), |_| unreachable_dictionary())
}

fn unreachable_dictionary() -> Result<Vec<u8>, StoreError> {
    Err(StoreError::Invalid("no such dictionary".into()))
}

/// The reading side: dictionaries by id, each loaded once.
#[derive(Default)]
pub(crate) struct Decoder {
    by_id: HashMap<i64, Box<zstd::bulk::Decompressor<'static>>>,
}

impl Decoder {
    /// A dictionary read beforehand (a streaming read cannot stop to fetch one).
    pub(crate) fn keep(&mut self, id: i64, dictionary: &[u8]) -> Result<(), StoreError> {
        if let Entry::Vacant(e) = self.by_id.entry(id) {
            e.insert(Box::new(decompressor(dictionary)?));
        }
        Ok(())
    }

    /// A stored record's Avro bytes: as stored when raw, else decompressed with its
    /// dictionary (read by `load` the first time).
    pub(crate) fn unpack(
        &mut self,
        dictionary: Option<i64>,
        bytes: Vec<u8>,
        load: impl FnOnce(i64) -> Result<Vec<u8>, StoreError>,
    ) -> Result<Vec<u8>, StoreError> {
        let Some(id) = dictionary else {
            return Ok(bytes);
        };
        if let Entry::Vacant(e) = self.by_id.entry(id) {
            e.insert(Box::new(decompressor(&load(id)?)?));
        }
        let d = self
            .by_id
            .get_mut(&id)
            .ok_or_else(|| StoreError::Invalid(format!("dictionary {id}")))?;
        // The frames carry no content size: grow the buffer until the record fits.
        let mut capacity = (bytes.len() * 8).max(4096);
        loop {
            match d.decompress(&bytes, capacity) {
                Ok(out) => return Ok(out),
                Err(_) if capacity < MAX_RECORD => capacity *= 4,
                Err(e) => return Err(zstd_error("decompress", e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_id_is_avros_rabin_fingerprint() {
        // A schema's fingerprint is the Rabin fingerprint of its canonical form's bytes.
        for canonical in [r#""null""#, r#"{"type":"array","items":"long"}"#] {
            let schema: serde_avro_fast::Schema = canonical.parse().unwrap();
            let want = i64::from_le_bytes(*schema.rabin_fingerprint());
            assert_eq!(dictionary_id(canonical.as_bytes()), want, "{canonical}");
        }
    }

    fn record(schema: i64, body: Vec<u8>) -> RawRecord {
        RawRecord {
            schema: Arc::new(solas_core::RecordSchema {
                name: "r".into(),
                fingerprint: schema,
                json: String::new(),
            }),
            body,
        }
    }

    /// Records are kept raw until their schema's dictionary is trained, then compressed,
    /// and every one reads back byte for byte.
    #[test]
    fn records_read_back_exactly_before_and_after_the_dictionary() {
        let mut enc = Encoder::default();
        let bodies: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| {
                let mut b = b"diaSourceId band r psfFlux ".to_vec();
                b.extend_from_slice(&(i.wrapping_mul(2654435761)).to_le_bytes());
                b.extend_from_slice(&[(i % 7) as u8; 40]);
                b
            })
            .collect();
        let packed: Vec<Packed> = bodies
            .iter()
            .map(|b| enc.pack(&record(7, b.clone())).unwrap())
            .collect();
        assert!(packed[0].dictionary.is_none(), "sampled first");
        let trained = enc.pending().to_vec();
        assert_eq!(trained.len(), 1, "one dictionary for the schema");
        assert_eq!(trained[0].record_schema, 7);
        let last = packed.last().unwrap();
        assert_eq!(last.dictionary, Some(trained[0].id));
        assert!(
            last.bytes.len() < bodies[0].len() / 2,
            "{}",
            last.bytes.len()
        );
        // A writer resuming with the stored dictionary compresses at once, the same way.
        let mut resumed = Encoder::default();
        resumed.resume([(trained[0].id, 7, trained[0].bytes.to_vec())]);
        let again = resumed.pack(&record(7, bodies[0].clone())).unwrap();
        assert_eq!(again.dictionary, Some(trained[0].id));
        assert!(resumed.pending().is_empty(), "nothing to store again");
        let mut dec = Decoder::default();
        let first = dec
            .unpack(again.dictionary, again.bytes, |_| {
                Ok(trained[0].bytes.to_vec())
            })
            .unwrap();
        assert_eq!(first, bodies[0]);
        for (p, body) in packed.into_iter().zip(&bodies) {
            let dict = trained[0].bytes.clone();
            let got = dec
                .unpack(p.dictionary, p.bytes, |id| {
                    assert_eq!(id, trained[0].id);
                    Ok(dict.to_vec())
                })
                .unwrap();
            assert_eq!(&got, body);
        }
    }
}
