//! Whole records in the lightcurve store: each detection, forced measurement and
//! non-detection row keeps its source's record as the survey wrote it (Avro bytes, with
//! the writer schema of its record type stored once in `record_schemas`, by fingerprint),
//! and `object_records` keeps the newest object-level records (Rubin's `diaObject`,
//! `ssObject`, `MPCORB`) and the trigger's own (`ssSource`, once per source). Nothing of
//! an alert is lost, and a field that a new schema adds needs no migration.
//!
//! Where a source's record sits differs by backend: in its own row on PostgreSQL (a heap
//! appends rows anyway); beside it on SQLite, in a table of its own appended in arrival
//! order, since records inside the object-ordered typed table left a fifth of its pages
//! empty (`sqlite::lightcurves`). Readers name [`SourceKind::records_from`], which is the
//! table itself or SQLite's view joining each typed row to its record.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use solas_core::{Band, RawRecord, RecordSchema};

use crate::tables::Dialect;
use crate::StoreError;

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
    /// Each alert's own records beyond its detection, by alert id, oldest first: its
    /// trigger's `ssSource` and the object-level records it carried (`diaObject`, ...).
    pub trigger: Vec<(i64, RawRecord)>,
}

/// The statement that reads an object's records of one kind back, in SQLite's placeholders
/// (run through [`Dialect::sql`] on PostgreSQL). It takes (survey, object id) and gives
/// (key, schema fingerprint, dictionary, bytes), the key being the source id, or for
/// non-detections (mjd, band).
pub(crate) fn read_records(kind: SourceKind, dialect: Dialect) -> String {
    let (key, then) = match kind {
        SourceKind::Detections | SourceKind::Forced => ("source_id", "source_id"),
        SourceKind::NonDetections => ("mjd, band", "band"),
    };
    format!(
        "SELECT {key}, record_schema, record_dictionary, record FROM {}
         WHERE survey = ?1 AND object_id = ?2 AND record IS NOT NULL ORDER BY mjd, {then}",
        kind.records_from(dialect)
    )
}

/// The statements reading object-level records; they are not compressed.
pub(crate) const READ_OBJECT: &str = "SELECT alert_id, record_schema, CAST(NULL AS BIGINT), record
    FROM object_records WHERE survey = ?1 AND object_id = ?2 AND source_id = 0 ORDER BY name";
pub(crate) const READ_TRIGGER: &str =
    "SELECT source_id, record_schema, CAST(NULL AS BIGINT), record
    FROM object_records WHERE survey = ?1 AND object_id = ?2 AND source_id <> 0
    ORDER BY mjd, source_id";
/// Takes a fingerprint; gives the schema's name and JSON.
pub(crate) const READ_SCHEMA: &str = "SELECT name, json FROM record_schemas WHERE fingerprint = ?1";
/// Takes a dictionary id; gives its bytes ([`crate::codec`]).
pub(crate) const READ_DICTIONARY: &str = "SELECT dictionary FROM record_dictionaries WHERE id = ?1";
/// Every dictionary: (id, schema fingerprint, bytes), for a writer resuming.
pub(crate) const READ_ALL_DICTIONARIES: &str =
    "SELECT id, record_schema, dictionary FROM record_dictionaries";
/// Binds (id, schema fingerprint, bytes).
pub(crate) const WRITE_DICTIONARY: &str = "INSERT INTO record_dictionaries (id, record_schema,
    dictionary) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

/// One stored record row: its key, its schema's fingerprint, its dictionary (None: raw),
/// its bytes.
pub(crate) type Row = (i64, i64, Option<i64>, Vec<u8>);

/// One stored non-detection's record row: its time, band, schema, dictionary and bytes.
pub(crate) type LimitRow = (f64, String, i64, Option<i64>, Vec<u8>);

/// What the read statements gave, before the schemas are attached.
pub(crate) struct Rows {
    pub detections: Vec<Row>,
    pub forced: Vec<Row>,
    pub non_detections: Vec<LimitRow>,
    pub object: Vec<Row>,
    pub trigger: Vec<Row>,
}

impl Rows {
    /// The records with their schemas, each schema read once (by `load`, from the store,
    /// the first time this store meets its fingerprint), each decompressed (its
    /// dictionary read by `dictionary` the first time).
    pub(crate) fn assemble(
        self,
        schemas: &mut KnownSchemas,
        decoder: &mut crate::codec::Decoder,
        mut load: impl FnMut(i64) -> Result<RecordSchema, StoreError>,
        mut dictionary: impl FnMut(i64) -> Result<Vec<u8>, StoreError>,
    ) -> Result<ObjectRecords, StoreError> {
        let mut raw = |fingerprint: i64, dict: Option<i64>, bytes: Vec<u8>| {
            let schema = schemas.get(fingerprint, || load(fingerprint))?;
            let body = decoder.unpack(dict, bytes, &mut dictionary)?;
            Ok::<_, StoreError>(RawRecord { schema, body })
        };
        let mut list = |rows: Vec<Row>| {
            rows.into_iter()
                .map(|(key, fingerprint, dict, bytes)| Ok((key, raw(fingerprint, dict, bytes)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        };
        let (detections, forced) = (list(self.detections)?, list(self.forced)?);
        let (object, trigger) = (list(self.object)?, list(self.trigger)?);
        let mut non_detections = Vec::with_capacity(self.non_detections.len());
        for (mjd, band, fingerprint, dict, bytes) in self.non_detections {
            let band = Band::from_letter(&band)
                .ok_or_else(|| StoreError::Invalid(format!("stored band {band:?}")))?;
            non_detections.push((mjd, band, raw(fingerprint, dict, bytes)?));
        }
        Ok(ObjectRecords {
            detections,
            forced,
            non_detections,
            object,
            trigger,
        })
    }
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
            .flat_map(|a| {
                let envelope = a
                    .envelope
                    .iter()
                    .flat_map(|e| [&e.alert_schema, &e.fields.schema]);
                records_of(a).map(|r| &r.schema).chain(envelope)
            })
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

/// A record's columns as stored: its schema's fingerprint, its dictionary and its bytes.
pub(crate) type RecordColumns = (Option<i64>, Option<i64>, Option<Vec<u8>>);

/// A record's columns (compressed once the schema has a dictionary; all null without a
/// record).
pub(crate) fn columns(
    encoder: &mut crate::codec::Encoder,
    r: Option<&RawRecord>,
) -> Result<RecordColumns, StoreError> {
    Ok(match r {
        Some(r) => {
            let packed = encoder.pack(r)?;
            (
                Some(r.schema.fingerprint),
                packed.dictionary,
                Some(packed.bytes),
            )
        }
        None => (None, None, None),
    })
}

/// The kinds of source record an export reads, each a lightcurve table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Detections (Rubin `diaSource`, ZTF `candidate` / `prv_candidate`).
    Detections,
    /// Forced photometry (Rubin `diaForcedSource`, ZTF `fp_hists`).
    Forced,
    /// Non-detections (Rubin `diaNondetectionLimit`, ZTF upper-limit `prv_candidate`).
    NonDetections,
}

impl SourceKind {
    /// By the name a user gives (`sources`, `forced`, `nondetections`).
    pub fn parse(name: &str) -> Option<SourceKind> {
        match name.to_ascii_lowercase().as_str() {
            "sources" | "detections" | "diasources" => Some(SourceKind::Detections),
            "forced" | "forcedsources" | "diaforcedsources" => Some(SourceKind::Forced),
            "nondetections" | "limits" => Some(SourceKind::NonDetections),
            _ => None,
        }
    }

    /// The name [`SourceKind::parse`] takes.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Detections => "sources",
            SourceKind::Forced => "forced",
            SourceKind::NonDetections => "nondetections",
        }
    }

    /// The typed table.
    pub(crate) fn table(self) -> &'static str {
        match self {
            SourceKind::Detections => "detections",
            SourceKind::Forced => "forced_photometry",
            SourceKind::NonDetections => "non_detections",
        }
    }

    /// Where the rows and their records are read together: the table on PostgreSQL, its
    /// `<table>_with_record` view on SQLite (records beside the rows, see the module).
    pub(crate) fn records_from(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::Postgres, _) => self.table(),
            (Dialect::Sqlite, SourceKind::Detections) => "detections_with_record",
            (Dialect::Sqlite, SourceKind::Forced) => "forced_photometry_with_record",
            (Dialect::Sqlite, SourceKind::NonDetections) => "non_detections_with_record",
        }
    }

    /// The rest of the table's key after (survey, object, time): the order of rows.
    fn order(self) -> &'static str {
        match self {
            SourceKind::Detections | SourceKind::Forced => "object_id, mjd, source_id",
            SourceKind::NonDetections => "object_id, mjd, band",
        }
    }
}

/// Which stored sources an export reads: those of some objects, those in a time window
/// (MJD, from inclusive, to exclusive), or both. Neither means every source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Object ids (64-bit keys); `None` for every object.
    pub objects: Option<Vec<i64>>,
    /// `[from, to)` in MJD.
    pub mjd: Option<(f64, f64)>,
}

/// Object ids bound in one statement (well under SQLite's and PostgreSQL's limits).
const IDS_PER_STATEMENT: usize = 1000;

impl Selection {
    /// The object ids, sorted and each once, in the groups each statement binds (one group
    /// of none when every object is selected).
    pub(crate) fn id_groups(&self) -> Vec<Vec<i64>> {
        match &self.objects {
            None => vec![Vec::new()],
            Some(ids) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                ids.chunks(IDS_PER_STATEMENT).map(<[i64]>::to_vec).collect()
            }
        }
    }

    /// The time window, every time when none is given.
    pub(crate) fn window(&self) -> (f64, f64) {
        self.mjd.unwrap_or((f64::MIN, f64::MAX))
    }

    /// The statement (SQLite placeholders) reading `what` from the rows of `kind` this
    /// selection picks, binding (survey, from, to, ids...). Rows without a record (stored
    /// before records were kept) are not read.
    pub(crate) fn sql(&self, kind: SourceKind, dialect: Dialect, what: &str, ids: usize) -> String {
        let mut sql = format!(
            "SELECT {what} FROM {} WHERE survey = ?1 AND mjd >= ?2 AND mjd < ?3 AND record IS NOT NULL",
            kind.records_from(dialect)
        );
        if self.objects.is_some() {
            let list: Vec<String> = (0..ids).map(|i| format!("?{}", i + 4)).collect();
            sql.push_str(&format!(" AND object_id IN ({})", list.join(", ")));
        }
        sql
    }

    /// The statement streaming (object id, schema fingerprint, dictionary, record) in
    /// (object, time) order.
    pub(crate) fn records_sql(&self, kind: SourceKind, dialect: Dialect, ids: usize) -> String {
        let mut sql = self.sql(
            kind,
            dialect,
            "object_id, record_schema, record_dictionary, record",
            ids,
        );
        sql.push_str(&format!(" ORDER BY {}", kind.order()));
        sql
    }
}

/// How a stored survey summary meets a newer one, for every writer (SQLite row by row,
/// PostgreSQL's bulk merge): only a newer alert (later trigger, then higher id) replaces
/// it, so the result does not depend on arrival order.
pub(crate) const NEWER_SUMMARY: &str = "ON CONFLICT (survey, object_id) DO UPDATE SET
    mjd = excluded.mjd, alert_id = excluded.alert_id, summary = excluded.summary
    WHERE excluded.mjd > survey_objects.mjd
       OR (excluded.mjd = survey_objects.mjd AND excluded.alert_id > survey_objects.alert_id)";

/// The same rule for object-level records.
pub(crate) const NEWER_OBJECT_RECORD: &str = "ON CONFLICT (survey, object_id, name, source_id)
    DO UPDATE SET mjd = excluded.mjd, alert_id = excluded.alert_id,
    record_schema = excluded.record_schema, record = excluded.record
    WHERE excluded.mjd > object_records.mjd
       OR (excluded.mjd = object_records.mjd AND excluded.alert_id > object_records.alert_id)";

/// Each alert's envelope (its own fields) with its whole schema, once per alert: what
/// rebuilds it for a replay. Binds (survey, alert id, object id, mjd, alert schema,
/// envelope schema, envelope).
pub(crate) const WRITE_ALERT: &str = "INSERT INTO alerts (survey, alert_id, object_id, mjd,
    alert_schema, envelope_schema, envelope) VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT DO NOTHING";

/// Every record schema the store holds (a few rows): read before streaming records.
pub(crate) const READ_ALL_SCHEMAS: &str = "SELECT fingerprint, name, json FROM record_schemas";

impl KnownSchemas {
    /// A schema read back, kept for the records that use it.
    pub(crate) fn keep(&mut self, schema: RecordSchema) {
        self.read.insert(schema.fingerprint, Arc::new(schema));
    }

    /// Whether a schema has been read back.
    pub(crate) fn knows(&self, fingerprint: i64) -> bool {
        self.read.contains_key(&fingerprint)
    }

    /// A schema already read back.
    pub(crate) fn known(&self, fingerprint: i64) -> Result<Arc<RecordSchema>, StoreError> {
        self.read.get(&fingerprint).cloned().ok_or_else(|| {
            StoreError::Invalid(format!("a record's schema {fingerprint} is not stored"))
        })
    }
}

/// One stored alert's envelope, for a replay ([`crate::LightcurveStore::alerts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub alert_id: i64,
    pub object_id: i64,
    /// The trigger's time (MJD).
    pub mjd: f64,
    pub envelope: solas_core::Envelope,
}

/// A page of stored alerts in `[from, to)` after (mjd, alert id), in that order. Binds
/// (survey, from, to, after mjd, after id, limit); gives (alert id, object id, mjd, alert
/// schema, envelope schema, envelope).
pub(crate) const READ_ALERTS: &str = "SELECT alert_id, object_id, mjd, alert_schema,
    envelope_schema, envelope FROM alerts WHERE survey = ?1 AND mjd >= ?2 AND mjd < ?3
    AND (mjd > ?4 OR (mjd = ?4 AND alert_id > ?5)) ORDER BY mjd, alert_id LIMIT ?6";

/// One row of [`READ_ALERTS`], before its schemas are attached.
pub(crate) type AlertRow = (i64, i64, f64, i64, i64, Vec<u8>);

/// The stored alerts of `rows`, each with its schemas (all read beforehand).
pub(crate) fn stored_alerts(
    rows: Vec<AlertRow>,
    schemas: &KnownSchemas,
) -> Result<Vec<StoredAlert>, StoreError> {
    rows.into_iter()
        .map(
            |(alert_id, object_id, mjd, alert_schema, envelope_schema, body)| {
                Ok(StoredAlert {
                    alert_id,
                    object_id,
                    mjd,
                    envelope: solas_core::Envelope {
                        alert_schema: schemas.known(alert_schema)?,
                        fields: RawRecord {
                            schema: schemas.known(envelope_schema)?,
                            body,
                        },
                    },
                })
            },
        )
        .collect()
}
