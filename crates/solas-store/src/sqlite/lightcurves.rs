//! The lightcurve store in SQLite: one table per kind of measurement, clustered by
//! (survey, object, time) so one object's lightcurve is one range read. Rows are inserted
//! with `ON CONFLICT DO NOTHING` on the source id, so replaying alerts adds nothing.
//!
//! Each source's record (`crate::records`) is appended to a table of its own beside the
//! typed table (`detections_records`, ...; the row keeps its `record_id`), so the typed
//! B-tree, ordered by object, holds short rows: with the records inside, inserts in object
//! order left about a fifth of its pages empty (`docs/archive.md#cost`). Rows written
//! before migration 6 keep their record in the row; the `<table>_with_record` views read
//! either.
//!
//! A detection usually arrives several times: once as the alert's trigger and again in
//! later alerts' history, where surveys send fewer digits and fewer fields (ZTF's
//! prv_candidates have no `drb`). The trigger's version is kept whichever came first, so
//! the stored lightcurve does not depend on arrival order.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use solas_core::{
    Alert, Band, Detection, ForcedPhot, NonDetection, ObjectKey, RawRecord, RecordSchema, Survey,
};

use crate::codec::{Decoder, Encoder};
use crate::db::{Db, Migration, Target};
use crate::records::{self, columns, KnownSchemas, ObjectRecords, Selection, SourceKind};
use crate::tables::Dialect;
use crate::{Lightcurve, LightcurveStore, StoreError, WriteCounts};

pub struct SqliteLightcurves {
    conn: Connection,
    schemas: KnownSchemas,
    encoder: Encoder,
    decoder: Decoder,
    summaries: crate::summary::SummaryReader,
}

fn migrations() -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "lightcurve tables",
            sql: "
        CREATE TABLE detections (
            survey INTEGER NOT NULL, object_id INTEGER NOT NULL, mjd REAL NOT NULL,
            source_id INTEGER NOT NULL, band TEXT NOT NULL, ra REAL NOT NULL, dec REAL NOT NULL,
            flux REAL, flux_err REAL, mag REAL, mag_err REAL, positive INTEGER NOT NULL,
            reliability REAL, rb REAL, nid INTEGER, from_trigger INTEGER NOT NULL,
            PRIMARY KEY (survey, object_id, mjd, source_id)) WITHOUT ROWID;
        CREATE TABLE forced_photometry (
            survey INTEGER NOT NULL, object_id INTEGER NOT NULL, mjd REAL NOT NULL,
            source_id INTEGER NOT NULL, band TEXT NOT NULL, flux REAL, flux_err REAL,
            PRIMARY KEY (survey, object_id, mjd, source_id)) WITHOUT ROWID;
        CREATE TABLE non_detections (
            survey INTEGER NOT NULL, object_id INTEGER NOT NULL, mjd REAL NOT NULL,
            band TEXT NOT NULL, limiting_mag REAL, noise_flux REAL,
            PRIMARY KEY (survey, object_id, mjd, band)) WITHOUT ROWID;
        CREATE TABLE survey_objects (
            survey INTEGER NOT NULL, object_id INTEGER NOT NULL, mjd REAL NOT NULL,
            alert_id INTEGER NOT NULL, summary TEXT NOT NULL,
            PRIMARY KEY (survey, object_id)) WITHOUT ROWID;"
                .into(),
        },
        Migration {
            version: 2,
            name: "whole records",
            sql: RECORD_TABLES.into(),
        },
        Migration {
            version: 3,
            name: "alert envelopes",
            sql: "CREATE TABLE alerts (
                survey INTEGER NOT NULL, alert_id INTEGER NOT NULL, object_id INTEGER NOT NULL,
                mjd REAL NOT NULL, alert_schema INTEGER NOT NULL,
                envelope_schema INTEGER NOT NULL, envelope BLOB NOT NULL,
                PRIMARY KEY (survey, alert_id));
            CREATE INDEX alerts_by_time ON alerts (survey, mjd);"
                .into(),
        },
        Migration {
            version: 4,
            name: "records compressed with per-schema dictionaries",
            sql: DICTIONARIES.into(),
        },
        Migration {
            version: 5,
            name: "kept row counts",
            sql: crate::row_counts::migration_sql(
                crate::tables::Dialect::Sqlite,
                &["detections", "forced_photometry", "non_detections"],
            ),
        },
        Migration {
            version: 6,
            name: "records beside the typed rows",
            sql: records_beside(),
        },
    ]
}

/// Per lightcurve table: its record table (rowids in arrival order, so pages fill up),
/// the row's reference to it, and the view that reads a row with its record wherever it
/// is (in the row, written before this migration, or beside it).
fn records_beside() -> String {
    [
        (SourceKind::Detections, "source_id"),
        (SourceKind::Forced, "source_id"),
        (SourceKind::NonDetections, "band"),
    ]
    .map(|(kind, key)| {
        let table = kind.table();
        format!(
            "CREATE TABLE {table}_records (id INTEGER PRIMARY KEY, record_schema INTEGER NOT NULL,
                 record_dictionary INTEGER, record BLOB NOT NULL);
             ALTER TABLE {table} ADD COLUMN record_id INTEGER;
             CREATE VIEW {view} AS SELECT t.survey, t.object_id, t.mjd, t.{key},
                 {in_row} THEN t.record_schema ELSE r.record_schema END AS record_schema,
                 {in_row} THEN t.record_dictionary ELSE r.record_dictionary END
                     AS record_dictionary,
                 {in_row} THEN t.record ELSE r.record END AS record
                 FROM {table} t LEFT JOIN {table}_records r ON r.id = t.record_id;",
            // All three columns from one place: a raw record (no dictionary) in the row
            // must not take the dictionary of a record beside it.
            in_row = "CASE WHEN t.record IS NOT NULL",
            view = kind.records_from(Dialect::Sqlite),
        )
    })
    .join("\n")
}

/// Every source's record as written beside its typed row, and the object-level records
/// ([`crate::records`]).
const RECORD_TABLES: &str = "
    ALTER TABLE detections ADD COLUMN record_schema INTEGER;
    ALTER TABLE detections ADD COLUMN record BLOB;
    ALTER TABLE forced_photometry ADD COLUMN record_schema INTEGER;
    ALTER TABLE forced_photometry ADD COLUMN record BLOB;
    ALTER TABLE non_detections ADD COLUMN record_schema INTEGER;
    ALTER TABLE non_detections ADD COLUMN record BLOB;
    CREATE TABLE record_schemas (
        fingerprint INTEGER PRIMARY KEY, name TEXT NOT NULL, json TEXT NOT NULL);
    CREATE TABLE object_records (
        survey INTEGER NOT NULL, object_id INTEGER NOT NULL, name TEXT NOT NULL,
        source_id INTEGER NOT NULL, mjd REAL NOT NULL, alert_id INTEGER NOT NULL,
        record_schema INTEGER NOT NULL, record BLOB NOT NULL,
        PRIMARY KEY (survey, object_id, name, source_id)) WITHOUT ROWID;";

/// Source records compressed against trained dictionaries ([`crate::codec`]); a NULL
/// dictionary is a record stored as it came.
const DICTIONARIES: &str = "
    CREATE TABLE record_dictionaries (
        id INTEGER PRIMARY KEY, record_schema INTEGER NOT NULL, dictionary BLOB NOT NULL);
    ALTER TABLE detections ADD COLUMN record_dictionary INTEGER;
    ALTER TABLE forced_photometry ADD COLUMN record_dictionary INTEGER;
    ALTER TABLE non_detections ADD COLUMN record_dictionary INTEGER;";

fn band(text: String) -> Result<Band, rusqlite::Error> {
    Band::from_letter(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, text.into())
    })
}

impl SqliteLightcurves {
    pub fn open(path: &Path) -> Result<SqliteLightcurves, StoreError> {
        Db::open(&Target::Sqlite(path.to_path_buf()))?
            .migrate("schema_migrations", &migrations())?;
        let conn = super::open(path)?;
        let mut encoder = Encoder::default();
        let stored = conn
            .prepare(records::READ_ALL_DICTIONARIES)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        encoder.resume(stored);
        Ok(SqliteLightcurves {
            conn,
            schemas: KnownSchemas::default(),
            encoder,
            decoder: Decoder::default(),
            summaries: Default::default(),
        })
    }
}

impl SqliteLightcurves {
    /// Train each record schema's compression dictionary after this many records rather
    /// than the default 1,000 (`docs/archive.md#cost` measures the archive this way).
    pub fn train_dictionaries_after(&mut self, records: usize) {
        self.encoder.train_after(records);
    }
}

impl LightcurveStore for SqliteLightcurves {
    fn triggered(
        &mut self,
        survey: Survey,
        sources: &[(i64, i64)],
    ) -> Result<Vec<i64>, StoreError> {
        // One indexed look-up each (the key starts with survey and object): no round trips
        // to save in a file.
        let mut stmt = self.conn.prepare_cached(
            "SELECT 1 FROM detections WHERE survey = ?1 AND object_id = ?2 AND source_id = ?3
             AND from_trigger = 1 LIMIT 1",
        )?;
        let mut out = Vec::new();
        for &(object, source) in sources {
            if stmt.exists(params![crate::survey_code(survey), object, source])? {
                out.push(source);
            }
        }
        Ok(out)
    }

    fn write(&mut self, alerts: &[&Alert]) -> Result<WriteCounts, StoreError> {
        let tx = self.conn.transaction()?;
        let mut counts = WriteCounts::default();
        let new_schemas = self.schemas.new_in(alerts);
        {
            let mut schema = tx.prepare_cached(
                "INSERT INTO record_schemas (fingerprint, name, json) VALUES (?1,?2,?3)
                 ON CONFLICT DO NOTHING",
            )?;
            for s in &new_schemas {
                schema.execute(params![s.fingerprint, s.name, s.json])?;
            }
            let mut det = tx.prepare_cached(
                "INSERT INTO detections (survey, object_id, mjd, source_id, band, ra, dec, flux,
                 flux_err, mag, mag_err, positive, reliability, rb, nid, record_id, from_trigger)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)
                 ON CONFLICT DO NOTHING",
            )?;
            // The trigger's version replaces a history row's: it is the richer one (ZTF's
            // candidate has fields its prv_candidate lacks; a survey repeats history with
            // fewer digits). The history version's record goes with it.
            let mut history_record = tx.prepare_cached(
                "SELECT record_id FROM detections WHERE survey = ?1 AND object_id = ?2
                 AND mjd = ?3 AND source_id = ?4 AND from_trigger = 0",
            )?;
            let mut upgrade = tx.prepare_cached(
                "UPDATE detections SET band = ?5, ra = ?6, dec = ?7, flux = ?8, flux_err = ?9,
                 mag = ?10, mag_err = ?11, positive = ?12, reliability = ?13, rb = ?14, nid = ?15,
                 record_id = ?16, record_schema = NULL, record = NULL, record_dictionary = NULL,
                 from_trigger = ?17
                 WHERE survey = ?1 AND object_id = ?2 AND mjd = ?3 AND source_id = ?4 AND from_trigger = 0",
            )?;
            let mut fp = tx.prepare_cached(
                "INSERT INTO forced_photometry (survey, object_id, mjd, source_id, band, flux,
                 flux_err, record_id)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT DO NOTHING",
            )?;
            let mut nd = tx.prepare_cached(
                "INSERT INTO non_detections (survey, object_id, mjd, band, limiting_mag, noise_flux,
                 record_id)
                 VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT DO NOTHING",
            )?;
            let mut records = RecordTables::prepare(&tx)?;
            // Object-level records: the newest alert's (as survey_objects). A trigger's own
            // records (source_id set): once.
            let mut object = tx.prepare_cached(&format!(
                "INSERT INTO object_records (survey, object_id, name, source_id, mjd, alert_id,
                 record_schema, record) VALUES (?1,?2,?3,?4,?5,?6,?7,?8) {}",
                records::NEWER_OBJECT_RECORD
            ))?;
            // Only a newer alert (later trigger, then higher id) replaces the summary, so
            // the result does not depend on arrival order.
            let mut summary = tx.prepare_cached(&format!(
                "INSERT INTO survey_objects (survey, object_id, mjd, alert_id, summary)
                 VALUES (?1,?2,?3,?4,?5) {}",
                records::NEWER_SUMMARY
            ))?;
            let mut envelope = tx.prepare_cached(records::WRITE_ALERT)?;
            for alert in alerts {
                let (s, o) = (crate::survey_code(alert.survey), alert.object.id);
                if let Some(e) = &alert.envelope {
                    envelope.execute(params![
                        s,
                        alert.alert_id,
                        o,
                        alert.mjd,
                        e.alert_schema.fingerprint,
                        e.fields.schema.fingerprint,
                        e.fields.body
                    ])?;
                }
                if !crate::summary::kept_as_record(alert) {
                    let json = serde_json::to_string(&alert.survey_object)
                        .map_err(|e| StoreError::Invalid(format!("survey object: {e}")))?;
                    summary.execute(params![s, o, alert.mjd, alert.alert_id, json])?;
                }
                // The newest object-level records (source 0), and each alert's own (as
                // of a date, a replay), with the trigger's records (source = alert id).
                let objects = alert.object_records.iter().map(|r| (0, r));
                let own = alert.object_records.iter().chain(&alert.trigger_records);
                let triggers = own.map(|r| (alert.alert_id, r));
                for (source, r) in objects.chain(triggers) {
                    object.execute(params![
                        s,
                        o,
                        r.schema.name,
                        source,
                        alert.mjd,
                        alert.alert_id,
                        r.schema.fingerprint,
                        r.body
                    ])?;
                }
                let known = Known::read(&tx, s, o)?;
                for d in &alert.detections {
                    let trigger = d.source_id == alert.alert_id;
                    match known.detections.get(&(d.mjd.to_bits(), d.source_id)) {
                        Some(false) if trigger => {}
                        Some(_) => continue,
                        None => {}
                    }
                    let record_id = records.append(
                        SourceKind::Detections,
                        &mut self.encoder,
                        d.record.as_ref(),
                    )?;
                    let row = params![
                        s,
                        o,
                        d.mjd,
                        d.source_id,
                        d.band.as_str(),
                        d.ra,
                        d.dec,
                        d.flux,
                        d.flux_err,
                        d.mag,
                        d.mag_err,
                        d.positive,
                        d.reliability,
                        d.rb,
                        d.nid,
                        record_id,
                        trigger
                    ];
                    let added = det.execute(row)?;
                    counts.detections += added as u64;
                    // The record not kept: the row's (a repeat), or the history
                    // version's the trigger's replaced.
                    let mut dropped = record_id;
                    if added == 0 && trigger {
                        let key = params![s, o, d.mjd, d.source_id];
                        let old: Option<Option<i64>> =
                            history_record.query_row(key, |r| r.get(0)).optional()?;
                        if upgrade.execute(row)? == 1 {
                            dropped = old.flatten();
                        }
                    }
                    if added == 0 {
                        records.drop(SourceKind::Detections, dropped)?;
                    }
                }
                for f in &alert.forced {
                    if known.forced.contains(&(f.mjd.to_bits(), f.source_id)) {
                        continue;
                    }
                    let record_id =
                        records.append(SourceKind::Forced, &mut self.encoder, f.record.as_ref())?;
                    let added = fp.execute(params![
                        s,
                        o,
                        f.mjd,
                        f.source_id,
                        f.band.as_str(),
                        f.flux,
                        f.flux_err,
                        record_id
                    ])?;
                    if added == 0 {
                        records.drop(SourceKind::Forced, record_id)?;
                    }
                    counts.forced += added as u64;
                }
                for n in &alert.non_detections {
                    if known.limits.contains(&(n.mjd.to_bits(), n.band)) {
                        continue;
                    }
                    let record_id = records.append(
                        SourceKind::NonDetections,
                        &mut self.encoder,
                        n.record.as_ref(),
                    )?;
                    let added = nd.execute(params![
                        s,
                        o,
                        n.mjd,
                        n.band.as_str(),
                        n.limiting_mag,
                        n.noise_flux,
                        record_id
                    ])?;
                    if added == 0 {
                        records.drop(SourceKind::NonDetections, record_id)?;
                    }
                    counts.non_detections += added as u64;
                }
            }
            // Dictionaries trained for this batch's rows (or an earlier batch that failed).
            let mut dictionary = tx.prepare_cached(records::WRITE_DICTIONARY)?;
            for d in self.encoder.pending() {
                dictionary.execute(params![d.id, d.record_schema, d.bytes.as_slice()])?;
            }
        }
        tx.commit()?;
        self.schemas
            .stored(new_schemas.iter().map(|s| s.fingerprint));
        self.encoder.committed();
        Ok(counts)
    }

    fn records(&mut self, survey: Survey, object: &ObjectKey) -> Result<ObjectRecords, StoreError> {
        let key = params![crate::survey_code(survey), object.id];
        let conn = &self.conn;
        let rows = |sql: &str| -> Result<Vec<records::Row>, StoreError> {
            Ok(conn
                .prepare_cached(sql)?
                .query_map(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()?)
        };
        let rows = records::Rows {
            detections: rows(&records::read_records(
                SourceKind::Detections,
                Dialect::Sqlite,
            ))?,
            forced: rows(&records::read_records(SourceKind::Forced, Dialect::Sqlite))?,
            non_detections: conn
                .prepare_cached(&records::read_records(
                    SourceKind::NonDetections,
                    Dialect::Sqlite,
                ))?
                .query_map(key, |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<Vec<_>, _>>()?,
            object: rows(records::READ_OBJECT)?,
            trigger: rows(records::READ_TRIGGER)?,
        };
        rows.assemble(
            &mut self.schemas,
            &mut self.decoder,
            |fingerprint| read_schema(conn, fingerprint),
            |id| read_dictionary(conn, id),
        )
    }

    fn source_schemas(
        &mut self,
        survey: Survey,
        kind: SourceKind,
        selection: &Selection,
    ) -> Result<Vec<Arc<RecordSchema>>, StoreError> {
        self.load_schemas()?;
        let (from, to) = selection.window();
        let mut fingerprints = std::collections::BTreeSet::new();
        for ids in selection.id_groups() {
            let sql = selection.sql(kind, Dialect::Sqlite, "DISTINCT record_schema", ids.len());
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(bound(survey, from, to, &ids)))?;
            while let Some(row) = rows.next()? {
                fingerprints.insert(row.get::<_, i64>(0)?);
            }
        }
        fingerprints
            .into_iter()
            .map(|f| self.schemas.known(f))
            .collect()
    }

    fn each_source(
        &mut self,
        survey: Survey,
        kind: SourceKind,
        selection: &Selection,
        each: &mut dyn FnMut(i64, RawRecord) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.load_schemas()?;
        let (from, to) = selection.window();
        for ids in selection.id_groups() {
            let sql = selection.records_sql(kind, Dialect::Sqlite, ids.len());
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(bound(survey, from, to, &ids)))?;
            while let Some(row) = rows.next()? {
                let schema = self.schemas.known(row.get(1)?)?;
                let conn = &self.conn;
                let body = self
                    .decoder
                    .unpack(row.get(2)?, row.get(3)?, |id| read_dictionary(conn, id))?;
                let record = RawRecord { schema, body };
                if each(row.get(0)?, record).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn alerts(
        &mut self,
        survey: Survey,
        (from, to): (f64, f64),
        after: Option<(f64, i64)>,
        limit: usize,
    ) -> Result<Vec<records::StoredAlert>, StoreError> {
        self.load_schemas()?;
        let (after_mjd, after_id) = after.unwrap_or((f64::MIN, i64::MIN));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .conn
            .prepare_cached(records::READ_ALERTS)?
            .query_map(
                params![
                    crate::survey_code(survey),
                    from,
                    to,
                    after_mjd,
                    after_id,
                    limit
                ],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        records::stored_alerts(rows, &self.schemas)
    }

    fn lightcurve(&mut self, survey: Survey, object: &ObjectKey) -> Result<Lightcurve, StoreError> {
        let key = params![crate::survey_code(survey), object.id];
        let detections = self
            .conn
            .prepare_cached(
                "SELECT source_id, mjd, band, ra, dec, flux, flux_err, mag, mag_err, positive,
                 reliability, rb, nid FROM detections WHERE survey = ?1 AND object_id = ?2
                 ORDER BY mjd, source_id",
            )?
            .query_map(key, |r| {
                Ok(Detection {
                    source_id: r.get(0)?,
                    mjd: r.get(1)?,
                    band: band(r.get(2)?)?,
                    ra: r.get(3)?,
                    dec: r.get(4)?,
                    flux: r.get(5)?,
                    flux_err: r.get(6)?,
                    mag: r.get(7)?,
                    mag_err: r.get(8)?,
                    positive: r.get(9)?,
                    reliability: r.get(10)?,
                    rb: r.get(11)?,
                    nid: r.get(12)?,
                    record: None,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let forced = self
            .conn
            .prepare_cached(
                "SELECT source_id, mjd, band, flux, flux_err FROM forced_photometry
                 WHERE survey = ?1 AND object_id = ?2 ORDER BY mjd, source_id",
            )?
            .query_map(key, |r| {
                Ok(ForcedPhot {
                    source_id: r.get(0)?,
                    mjd: r.get(1)?,
                    band: band(r.get(2)?)?,
                    flux: r.get(3)?,
                    flux_err: r.get(4)?,
                    record: None,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let non_detections = self
            .conn
            .prepare_cached(
                "SELECT mjd, band, limiting_mag, noise_flux FROM non_detections
                 WHERE survey = ?1 AND object_id = ?2 ORDER BY mjd, band",
            )?
            .query_map(key, |r| {
                Ok(NonDetection {
                    mjd: r.get(0)?,
                    band: band(r.get(1)?)?,
                    limiting_mag: r.get(2)?,
                    noise_flux: r.get(3)?,
                    record: None,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let json: Option<crate::summary::Json> = self
            .conn
            .prepare_cached(
                "SELECT mjd, alert_id, summary FROM survey_objects
                 WHERE survey = ?1 AND object_id = ?2",
            )?
            .query_row(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let record: Option<(f64, i64, i64, Vec<u8>)> = if crate::summary::in_records(survey) {
            self.conn
                .prepare_cached(crate::summary::READ_DIA_OBJECT)?
                .query_row(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?
        } else {
            None
        };
        let record = match record {
            Some((mjd, alert_id, fingerprint, body)) => {
                let conn = &self.conn;
                let schema = self
                    .schemas
                    .get(fingerprint, || read_schema(conn, fingerprint))?;
                Some((mjd, alert_id, RawRecord { schema, body }))
            }
            None => None,
        };
        let survey_object = self.summaries.newest(object.id, json, record)?;
        Ok(Lightcurve {
            detections,
            forced,
            non_detections,
            survey_object,
        })
    }
}

/// The keys of an object's stored rows, read before an alert's rows are written: a row
/// already stored (most of a history) is neither compressed nor inserted again, and
/// compression samples hold each source once.
struct Known {
    /// (mjd bits, source id) → whether the stored version is the trigger's.
    detections: std::collections::HashMap<(u64, i64), bool>,
    forced: std::collections::HashSet<(u64, i64)>,
    limits: std::collections::HashSet<(u64, Band)>,
}

impl Known {
    fn read(tx: &rusqlite::Transaction, survey: i64, object: i64) -> Result<Known, StoreError> {
        let key = params![survey, object];
        let detections = tx
            .prepare_cached(
                "SELECT mjd, source_id, from_trigger FROM detections
                 WHERE survey = ?1 AND object_id = ?2",
            )?
            .query_map(key, |r| {
                Ok(((r.get::<_, f64>(0)?.to_bits(), r.get(1)?), r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let forced = tx
            .prepare_cached(
                "SELECT mjd, source_id FROM forced_photometry WHERE survey = ?1 AND object_id = ?2",
            )?
            .query_map(key, |r| Ok((r.get::<_, f64>(0)?.to_bits(), r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let limits = tx
            .prepare_cached(
                "SELECT mjd, band FROM non_detections WHERE survey = ?1 AND object_id = ?2",
            )?
            .query_map(key, |r| {
                Ok((r.get::<_, f64>(0)?.to_bits(), band(r.get(1)?)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Known {
            detections,
            forced,
            limits,
        })
    }
}

/// The statements appending to and deleting from the record tables beside the lightcurve
/// tables, in one write's transaction.
struct RecordTables<'t> {
    append: [rusqlite::CachedStatement<'t>; 3],
    delete: [rusqlite::CachedStatement<'t>; 3],
}

impl<'t> RecordTables<'t> {
    const KINDS: [SourceKind; 3] = [
        SourceKind::Detections,
        SourceKind::Forced,
        SourceKind::NonDetections,
    ];

    fn prepare(tx: &'t rusqlite::Transaction) -> Result<RecordTables<'t>, StoreError> {
        let each = |sql: &dyn Fn(&str) -> String| -> Result<[rusqlite::CachedStatement<'t>; 3], StoreError> {
            let [a, b, c] = Self::KINDS.map(|k| tx.prepare_cached(&sql(k.table())));
            Ok([a?, b?, c?])
        };
        Ok(RecordTables {
            append: each(&|t| {
                format!(
                    "INSERT INTO {t}_records (record_schema, record_dictionary, record)
                     VALUES (?1, ?2, ?3)"
                )
            })?,
            delete: each(&|t| format!("DELETE FROM {t}_records WHERE id = ?1"))?,
        })
    }

    fn index(kind: SourceKind) -> usize {
        match kind {
            SourceKind::Detections => 0,
            SourceKind::Forced => 1,
            SourceKind::NonDetections => 2,
        }
    }

    /// Compress and append a source's record; its id for the typed row (None without one).
    fn append(
        &mut self,
        kind: SourceKind,
        encoder: &mut Encoder,
        record: Option<&RawRecord>,
    ) -> Result<Option<i64>, StoreError> {
        let (Some(schema), dictionary, Some(bytes)) = columns(encoder, record)? else {
            return Ok(None);
        };
        let stmt = &mut self.append[Self::index(kind)];
        Ok(Some(stmt.insert(params![schema, dictionary, bytes])?))
    }

    /// Delete a record no row refers to (a repeat's, or a replaced history version's).
    fn drop(&mut self, kind: SourceKind, id: Option<i64>) -> Result<(), StoreError> {
        if let Some(id) = id {
            self.delete[Self::index(kind)].execute([id])?;
        }
        Ok(())
    }
}

/// A stored dictionary's bytes.
fn read_dictionary(conn: &Connection, id: i64) -> Result<Vec<u8>, StoreError> {
    Ok(conn
        .prepare_cached(records::READ_DICTIONARY)?
        .query_row([id], |r| r.get(0))?)
}

/// The values a selection's statement binds: survey, time window, object ids.
fn bound(survey: Survey, from: f64, to: f64, ids: &[i64]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let mut v = vec![
        Value::Integer(crate::survey_code(survey)),
        Value::Real(from),
        Value::Real(to),
    ];
    v.extend(ids.iter().map(|&id| Value::Integer(id)));
    v
}

/// One stored record schema, by fingerprint.
fn read_schema(conn: &Connection, fingerprint: i64) -> Result<RecordSchema, StoreError> {
    Ok(conn
        .prepare_cached(records::READ_SCHEMA)?
        .query_row([fingerprint], |r| {
            Ok(RecordSchema {
                name: r.get(0)?,
                fingerprint,
                json: r.get(1)?,
            })
        })?)
}

impl SqliteLightcurves {
    /// Every record schema stored, so records can be streamed without a second statement.
    fn load_schemas(&mut self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(records::READ_ALL_SCHEMAS)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            self.schemas.keep(RecordSchema {
                fingerprint: r.get(0)?,
                name: r.get(1)?,
                json: r.get(2)?,
            });
        }
        Ok(())
    }
}
