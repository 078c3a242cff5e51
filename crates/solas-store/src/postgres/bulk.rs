//! A batch's lightcurve rows moved to PostgreSQL in bulk: gathered in memory first (the
//! worker's node-local cache), sent with one binary `COPY` per table into temporary stage
//! tables, then merged into the partitioned tables with one set-based statement each,
//! all inside the caller's transaction. Row by row, every source of every alert's history
//! was a round trip; this is a handful per batch whatever its size.
//!
//! The merge keeps the row-by-row semantics: a source already stored is left as it is
//! (`ON CONFLICT DO NOTHING`), except that a trigger's version of a detection replaces a
//! history copy; the newest survey summary and object-level record win (by time, then
//! alert id). Rows are merged in key order so that concurrent writers take their row
//! locks in one order (they wait for each other rather than deadlock).

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::Transaction;

use super::pg_error;
use crate::{records, StoreError};

/// One stage row from its values, each boxed as a `ToSql`.
macro_rules! row {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as Box<dyn postgres::types::ToSql + Sync>),*]
    };
}
pub(super) use row;

/// The stage tables, made once per connection; `ON COMMIT DELETE ROWS` empties them at the
/// end of every transaction, committed or rolled back.
pub(super) const CREATE_STAGE_TABLES: &str = "
    CREATE TEMP TABLE IF NOT EXISTS stage_detections (
        survey SMALLINT, object_id BIGINT, mjd DOUBLE PRECISION, source_id BIGINT, band TEXT,
        ra DOUBLE PRECISION, dec DOUBLE PRECISION, flux DOUBLE PRECISION,
        flux_err DOUBLE PRECISION, mag DOUBLE PRECISION, mag_err DOUBLE PRECISION,
        positive BOOLEAN, reliability DOUBLE PRECISION, rb DOUBLE PRECISION, nid BIGINT,
        record_schema BIGINT, record BYTEA, from_trigger BOOLEAN, record_dictionary BIGINT,
        seq BIGINT) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_forced (
        survey SMALLINT, object_id BIGINT, mjd DOUBLE PRECISION, source_id BIGINT, band TEXT,
        flux DOUBLE PRECISION, flux_err DOUBLE PRECISION, record_schema BIGINT, record BYTEA,
        record_dictionary BIGINT, seq BIGINT) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_non_detections (
        survey SMALLINT, object_id BIGINT, mjd DOUBLE PRECISION, band TEXT,
        limiting_mag DOUBLE PRECISION, noise_flux DOUBLE PRECISION, record_schema BIGINT,
        record BYTEA, record_dictionary BIGINT, seq BIGINT) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_survey_objects (
        survey SMALLINT, object_id BIGINT, mjd DOUBLE PRECISION, alert_id BIGINT,
        summary TEXT) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_object_records (
        survey SMALLINT, object_id BIGINT, name TEXT, source_id BIGINT,
        mjd DOUBLE PRECISION, alert_id BIGINT, record_schema BIGINT, record BYTEA)
        ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS stage_alerts (
        survey SMALLINT, alert_id BIGINT, object_id BIGINT, mjd DOUBLE PRECISION,
        alert_schema BIGINT, envelope_schema BIGINT, envelope BYTEA, seq BIGINT)
        ON COMMIT DELETE ROWS;";

/// One stage table: its name, its columns in COPY order with their types, and its rows.
/// `seq` (where a table has it) is the row's place in the batch, so that among copies of
/// one source the first that came is the one kept, as row by row.
pub(super) struct Stage {
    table: &'static str,
    columns: &'static str,
    types: &'static [Type],
    rows: Vec<Vec<Box<dyn ToSql + Sync>>>,
}

impl Stage {
    fn new(table: &'static str, columns: &'static str, types: &'static [Type]) -> Stage {
        Stage {
            table,
            columns,
            types,
            rows: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, row: Vec<Box<dyn ToSql + Sync>>) {
        self.rows.push(row);
    }

    fn copy(&self, tx: &mut Transaction<'_>) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let sink = tx
            .copy_in(&format!(
                "COPY {} ({}) FROM STDIN (FORMAT binary)",
                self.table, self.columns
            ))
            .map_err(pg_error)?;
        let mut writer = BinaryCopyInWriter::new(sink, self.types);
        for row in &self.rows {
            let values: Vec<&(dyn ToSql + Sync)> = row.iter().map(|v| v.as_ref()).collect();
            writer.write(&values).map_err(pg_error)?;
        }
        writer.finish().map_err(pg_error)?;
        Ok(())
    }
}

const DETECTION_COLUMNS: &str = "survey, object_id, mjd, source_id, band, ra, dec, flux, \
    flux_err, mag, mag_err, positive, reliability, rb, nid, record_schema, record, \
    from_trigger, record_dictionary";

/// A batch's rows, table by table, in the order its alerts came.
pub(super) struct Batch {
    pub detections: Stage,
    pub forced: Stage,
    pub non_detections: Stage,
    pub survey_objects: Stage,
    pub object_records: Stage,
    pub alerts: Stage,
}

impl Default for Batch {
    fn default() -> Batch {
        use Type as T;
        Batch {
            detections: Stage::new(
                "stage_detections",
                "survey, object_id, mjd, source_id, band, ra, dec, flux, flux_err, mag, \
                 mag_err, positive, reliability, rb, nid, record_schema, record, from_trigger, \
                 record_dictionary, seq",
                &[
                    T::INT2,
                    T::INT8,
                    T::FLOAT8,
                    T::INT8,
                    T::TEXT,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::BOOL,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::INT8,
                    T::INT8,
                    T::BYTEA,
                    T::BOOL,
                    T::INT8,
                    T::INT8,
                ],
            ),
            forced: Stage::new(
                "stage_forced",
                "survey, object_id, mjd, source_id, band, flux, flux_err, record_schema, \
                 record, record_dictionary, seq",
                &[
                    T::INT2,
                    T::INT8,
                    T::FLOAT8,
                    T::INT8,
                    T::TEXT,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::INT8,
                    T::BYTEA,
                    T::INT8,
                    T::INT8,
                ],
            ),
            non_detections: Stage::new(
                "stage_non_detections",
                "survey, object_id, mjd, band, limiting_mag, noise_flux, record_schema, record, \
                 record_dictionary, seq",
                &[
                    T::INT2,
                    T::INT8,
                    T::FLOAT8,
                    T::TEXT,
                    T::FLOAT8,
                    T::FLOAT8,
                    T::INT8,
                    T::BYTEA,
                    T::INT8,
                    T::INT8,
                ],
            ),
            survey_objects: Stage::new(
                "stage_survey_objects",
                "survey, object_id, mjd, alert_id, summary",
                &[T::INT2, T::INT8, T::FLOAT8, T::INT8, T::TEXT],
            ),
            object_records: Stage::new(
                "stage_object_records",
                "survey, object_id, name, source_id, mjd, alert_id, record_schema, record",
                &[
                    T::INT2,
                    T::INT8,
                    T::TEXT,
                    T::INT8,
                    T::FLOAT8,
                    T::INT8,
                    T::INT8,
                    T::BYTEA,
                ],
            ),
            alerts: Stage::new(
                "stage_alerts",
                "survey, alert_id, object_id, mjd, alert_schema, envelope_schema, envelope, seq",
                &[
                    T::INT2,
                    T::INT8,
                    T::INT8,
                    T::FLOAT8,
                    T::INT8,
                    T::INT8,
                    T::BYTEA,
                    T::INT8,
                ],
            ),
        }
    }
}

/// Rows each merge added, for the write's counts.
#[derive(Debug, Default)]
pub(super) struct Added {
    pub detections: u64,
    pub forced: u64,
    pub non_detections: u64,
}

/// Copy the batch into the stage tables and merge it into the store, in `tx`.
pub(super) fn flush(tx: &mut Transaction<'_>, batch: &Batch) -> Result<Added, StoreError> {
    for stage in [
        &batch.detections,
        &batch.forced,
        &batch.non_detections,
        &batch.survey_objects,
        &batch.object_records,
        &batch.alerts,
    ] {
        stage.copy(tx)?;
    }
    let mut run = |sql: &str| tx.execute(sql, &[]).map_err(pg_error);
    let added = Added {
        // The trigger's copy of a source first, then the earliest that came.
        detections: run(&format!(
            "INSERT INTO detections ({DETECTION_COLUMNS})
             SELECT DISTINCT ON (survey, object_id, mjd, source_id) {DETECTION_COLUMNS}
             FROM stage_detections
             ORDER BY survey, object_id, mjd, source_id, from_trigger DESC, seq
             ON CONFLICT DO NOTHING"
        ))?,
        forced: run(
            "INSERT INTO forced_photometry (survey, object_id, mjd, source_id, band, flux,
                 flux_err, record_schema, record, record_dictionary)
             SELECT DISTINCT ON (survey, object_id, mjd, source_id) survey, object_id, mjd,
                 source_id, band, flux, flux_err, record_schema, record, record_dictionary
             FROM stage_forced ORDER BY survey, object_id, mjd, source_id, seq
             ON CONFLICT DO NOTHING",
        )?,
        non_detections: run(
            "INSERT INTO non_detections (survey, object_id, mjd, band, limiting_mag, noise_flux,
                 record_schema, record, record_dictionary)
             SELECT DISTINCT ON (survey, object_id, mjd, band) survey, object_id, mjd, band,
                 limiting_mag, noise_flux, record_schema, record, record_dictionary
             FROM stage_non_detections ORDER BY survey, object_id, mjd, band, seq
             ON CONFLICT DO NOTHING",
        )?,
    };
    // A stored history copy of a detection gives way to the trigger's own version.
    run(
        "UPDATE detections d SET band = s.band, ra = s.ra, dec = s.dec, flux = s.flux,
             flux_err = s.flux_err, mag = s.mag, mag_err = s.mag_err, positive = s.positive,
             reliability = s.reliability, rb = s.rb, nid = s.nid,
             record_schema = s.record_schema, record = s.record,
             record_dictionary = s.record_dictionary, from_trigger = true
         FROM stage_detections s
         WHERE s.from_trigger AND NOT d.from_trigger AND d.survey = s.survey
           AND d.object_id = s.object_id AND d.mjd = s.mjd AND d.source_id = s.source_id",
    )?;
    run(&format!(
        "INSERT INTO survey_objects (survey, object_id, mjd, alert_id, summary)
         SELECT DISTINCT ON (survey, object_id) survey, object_id, mjd, alert_id, summary
         FROM stage_survey_objects ORDER BY survey, object_id, mjd DESC, alert_id DESC {}",
        records::NEWER_SUMMARY
    ))?;
    run(&format!(
        "INSERT INTO object_records (survey, object_id, name, source_id, mjd, alert_id,
             record_schema, record)
         SELECT DISTINCT ON (survey, object_id, name, source_id) survey, object_id, name,
             source_id, mjd, alert_id, record_schema, record
         FROM stage_object_records
         ORDER BY survey, object_id, name, source_id, mjd DESC, alert_id DESC {}",
        records::NEWER_OBJECT_RECORD
    ))?;
    run(
        "INSERT INTO alerts (survey, alert_id, object_id, mjd, alert_schema, envelope_schema,
             envelope)
         SELECT DISTINCT ON (survey, alert_id) survey, alert_id, object_id, mjd, alert_schema,
             envelope_schema, envelope
         FROM stage_alerts ORDER BY survey, alert_id, seq
         ON CONFLICT DO NOTHING",
    )?;
    Ok(added)
}
