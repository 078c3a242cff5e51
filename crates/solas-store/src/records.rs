//! Whole records in the lightcurve store: each detection, forced measurement and
//! non-detection row keeps its source's record as the survey wrote it (Avro bytes, with
//! the writer schema of its record type stored once in `record_schemas`, by fingerprint),
//! and `object_records` keeps the newest object-level records (Rubin's `diaObject`,
//! `ssObject`, `MPCORB`) and the trigger's own (`ssSource`, once per source). Nothing of
//! an alert is lost, and a field that a new schema adds needs no migration.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use solas_core::{RawRecord, RecordSchema};

/// Every record kept for one object, read back for serving or export.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ObjectRecords {
    /// The detections' records by source id, in time order (rows stored before records
    /// were kept have none).
    pub detections: Vec<(i64, RawRecord)>,
    /// Forced measurements' records by source id.
    pub forced: Vec<(i64, RawRecord)>,
    /// Non-detections' records by time (MJD) and band.
    pub non_detections: Vec<(f64, solas_core::Band, RawRecord)>,
    /// Object-level records, newest kept, each with the alert it came from.
    pub object: Vec<(i64, RawRecord)>,
    /// Records of a triggering source beyond its detection (`ssSource`), by source id.
    pub trigger: Vec<(i64, RawRecord)>,
}

/// The record schemas a store has written, so each is stored once.
#[derive(Debug, Default)]
pub(crate) struct KnownSchemas {
    stored: HashSet<i64>,
    /// Read back by fingerprint, shared by the records that use them.
    read: HashMap<i64, Arc<RecordSchema>>,
}

impl KnownSchemas {
    /// The schemas among `alerts`' records not yet stored (each once).
    pub(crate) fn new_in<'a>(
        &self,
        alerts: &[&'a solas_core::Alert],
    ) -> Vec<&'a Arc<RecordSchema>> {
        let mut seen = HashSet::new();
        alerts
            .iter()
            .flat_map(|a| records_of(a))
            .map(|r| &r.schema)
            .filter(|s| !self.stored.contains(&s.fingerprint) && seen.insert(s.fingerprint))
            .collect()
    }

    /// After the transaction that wrote them committed.
    pub(crate) fn stored(&mut self, fingerprints: impl IntoIterator<Item = i64>) {
        self.stored.extend(fingerprints);
    }

    /// A schema read back, from memory or by `load`.
    pub(crate) fn get<E>(
        &mut self,
        fingerprint: i64,
        load: impl FnOnce() -> Result<RecordSchema, E>,
    ) -> Result<Arc<RecordSchema>, E> {
        if let Some(s) = self.read.get(&fingerprint) {
            return Ok(s.clone());
        }
        let schema = Arc::new(load()?);
        self.read.insert(fingerprint, schema.clone());
        Ok(schema)
    }
}

/// Every record an alert carries.
fn records_of(a: &solas_core::Alert) -> impl Iterator<Item = &RawRecord> {
    a.detections
        .iter()
        .filter_map(|d| d.record.as_ref())
        .chain(a.forced.iter().filter_map(|f| f.record.as_ref()))
        .chain(a.non_detections.iter().filter_map(|n| n.record.as_ref()))
        .chain(&a.object_records)
        .chain(&a.trigger_records)
}

/// A record's columns: its schema's fingerprint and its bytes (both null without one).
pub(crate) fn columns(r: Option<&RawRecord>) -> (Option<i64>, Option<&[u8]>) {
    match r {
        Some(r) => (Some(r.schema.fingerprint), Some(r.body.as_slice())),
        None => (None, None),
    }
}
