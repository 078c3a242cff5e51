//! A batch's lightcurve rows moved to PostgreSQL in bulk: gathered in memory first (the
//! worker's node-local cache), with the sources the store already holds left out before
//! they are compressed (the writer reads the batch's stored keys with one query per table),
//! then sent with one binary `COPY` per table, all inside the caller's transaction. Row by
//! row, every source of every alert's history was a round trip; this is a handful per batch
//! whatever its size.
//!
//! New sources are copied straight into their tables. Another writer may have stored one
//! of them since the keys were read (two workers given one object after a rebalance): then
//! the copy fails on the key, is rolled back to its savepoint, and the batch goes the safe
//! way, into temporary stage tables merged with `ON CONFLICT DO NOTHING`. Either way the
//! row-by-row semantics hold: a source already stored is left as it is, except that a
//! trigger's version of a detection replaces a history copy; the newest survey summary and
//! object-level record win (by time, then alert id). Rows go in key order so that
//! concurrent writers take their row locks in one order (they wait for each other rather
//! than deadlock).

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::Transaction;

use super::pg_error;
use crate::{records, StoreError};

/// One row's values, each boxed as a `ToSql`.
pub(super) type StageRow = Vec<Box<dyn ToSql + Sync>>;

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
    rows: Vec<StageRow>,
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

    pub(super) fn push(&mut self, row: StageRow) {
        self.rows.push(row);
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    fn copy(&self, tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
        copy_rows(tx, self.table, self.columns, self.types, &self.rows)
    }

    /// The rows straight into `table`, whose columns are the stage's without `seq` (the
    /// row's place in the batch, which only the stage merge needs) where the stage has it
    /// last.
    fn copy_into(&self, tx: &mut Transaction<'_>, table: &str) -> Result<(), postgres::Error> {
        let (columns, types) = match self.columns.strip_suffix(", seq") {
            Some(kept) => (kept, &self.types[..self.types.len() - 1]),
            None => (self.columns, self.types),
        };
        copy_rows(tx, table, columns, types, &self.rows)
    }
}

/// One binary `COPY` of `rows` into `table`: of each row, as many values as `types` has.
fn copy_rows(
    tx: &mut Transaction<'_>,
    table: &str,
    columns: &str,
    types: &[Type],
    rows: &[StageRow],
) -> Result<(), postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sink = tx.copy_in(&format!(
        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    for row in rows {
        let values: Vec<&(dyn ToSql + Sync)> =
            row[..types.len()].iter().map(|v| v.as_ref()).collect();
        writer.write(&values)?;
    }
    writer.finish()?;
    Ok(())
}

const DETECTION_COLUMNS: &str = "survey, object_id, mjd, source_id, band, ra, dec, flux, \
    flux_err, mag, mag_err, positive, reliability, rb, nid, record_schema, record, \
    from_trigger, record_dictionary";

/// A batch's rows, table by table: sources the store does not hold yet (each once),
/// trigger versions of detections it holds as history copies, every alert's summary, the
/// newest object-level records, and each alert's envelope and own records (each once).
pub(super) struct Batch {
    pub detections: Stage,
    /// Trigger versions of detections stored as history copies, to replace them.
    pub upgrades: Stage,
    pub forced: Stage,
    pub non_detections: Stage,
    pub survey_objects: Stage,
    /// The batch's newest object-level record of each object and name (source 0), merged
    /// with the stored one (the newer kept).
    pub object_records: Stage,
    /// Each alert's own object-level and trigger records (source = alert id): new rows,
    /// copied straight in with the new sources.
    pub own_records: Stage,
    /// Each alert's envelope: new rows, copied straight in with the new sources.
    pub alerts: Stage,
}

impl Default for Batch {
    fn default() -> Batch {
        use Type as T;
        Batch {
            detections: detection_stage(),
            upgrades: detection_stage(),
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
            object_records: object_records_stage(),
            own_records: object_records_stage(),
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

/// The detections' stage table (new rows, and upgrades of stored history copies).
fn detection_stage() -> Stage {
    use Type as T;
    Stage::new(
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
    )
}

/// The object-level records' stage table (the newest of each object, and each alert's own
/// where they must be merged).
fn object_records_stage() -> Stage {
    use Type as T;
    Stage::new(
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
    )
}

/// Rows each merge added, for the write's counts.
#[derive(Debug, Default)]
pub(super) struct Added {
    pub detections: u64,
    pub forced: u64,
    pub non_detections: u64,
}

/// The batch into the store, in `tx`: new sources straight into their tables (or, when
/// another writer stored some of them meanwhile, through the stage merge), then the
/// upgrades, summaries, object-level records and envelopes through the stage tables.
pub(super) fn flush(tx: &mut Transaction<'_>, batch: &Batch) -> Result<Added, StoreError> {
    let (added, merged) = match copy_new_sources(tx, batch)? {
        Some(added) => (added, false),
        None => (merge_new_sources(tx, batch).map_err(pg_error)?, true),
    };
    let mut staged = vec![
        &batch.upgrades,
        &batch.survey_objects,
        &batch.object_records,
    ];
    if merged {
        // Not copied straight in: through the stage merges below instead.
        staged.extend([&batch.own_records, &batch.alerts]);
    }
    for stage in staged {
        stage.copy(tx).map_err(pg_error)?;
    }
    let mut run = |sql: &str| tx.execute(sql, &[]).map_err(pg_error);
    // A stored history copy of a detection gives way to the trigger's own version (after a
    // merge, also a copy another writer stored since the keys were read).
    if merged || batch.upgrades.len() > 0 {
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
    }
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
    if merged {
        run(
            "INSERT INTO alerts (survey, alert_id, object_id, mjd, alert_schema, envelope_schema,
                 envelope)
             SELECT DISTINCT ON (survey, alert_id) survey, alert_id, object_id, mjd, alert_schema,
                 envelope_schema, envelope
             FROM stage_alerts ORDER BY survey, alert_id, seq
             ON CONFLICT DO NOTHING",
        )?;
    }
    Ok(added)
}

/// The batch's new sources, own records and envelopes copied straight into their tables,
/// inside a savepoint; None when one of them is stored already (another writer stored a
/// source since the keys were read, or an alert came again after a crash): the savepoint
/// is rolled back and the caller merges them instead. Merging every batch cost the server
/// a sort and a conflict check per row (a tenth of its statement time for envelopes and
/// own records).
fn copy_new_sources(tx: &mut Transaction<'_>, batch: &Batch) -> Result<Option<Added>, StoreError> {
    let mut direct = tx.savepoint("new_sources").map_err(pg_error)?;
    let copied = batch
        .detections
        .copy_into(&mut direct, "detections")
        .and_then(|()| batch.forced.copy_into(&mut direct, "forced_photometry"))
        .and_then(|()| {
            batch
                .non_detections
                .copy_into(&mut direct, "non_detections")
        })
        .and_then(|()| batch.own_records.copy_into(&mut direct, "object_records"))
        .and_then(|()| batch.alerts.copy_into(&mut direct, "alerts"));
    match copied {
        Ok(()) => {
            direct.commit().map_err(pg_error)?;
            Ok(Some(Added {
                detections: batch.detections.len() as u64,
                forced: batch.forced.len() as u64,
                non_detections: batch.non_detections.len() as u64,
            }))
        }
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
            log::info!("some of this batch's rows are stored already; merging them");
            direct.rollback().map_err(pg_error)?;
            Ok(None)
        }
        Err(e) => Err(pg_error(e)),
    }
}

/// The batch's new sources through the stage tables, merged with `ON CONFLICT DO NOTHING`
/// (a source another writer stored meanwhile is left as it is; its trigger version, if
/// this batch has it, replaces a history copy in the update that follows).
fn merge_new_sources(tx: &mut Transaction<'_>, batch: &Batch) -> Result<Added, postgres::Error> {
    for stage in [&batch.detections, &batch.forced, &batch.non_detections] {
        stage.copy(tx)?;
    }
    let mut run = |sql: &str| tx.execute(sql, &[]);
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
    Ok(added)
}
