//! Each lightcurve's survey summary (Rubin's `diaObject`, ZTF's PS1 and asteroid
//! context), which the features read: where it is kept and how it is read back.
//!
//! ZTF's is kept as JSON in `survey_objects`. Rubin's is the newest `diaObject` record,
//! which `object_records` keeps anyway: writing it again as 2.5 KB of JSON per alert was
//! the largest write of a Rubin history run on PostgreSQL (a fifth of the server's
//! statement time) and parsing it back half of the embedded filter stage's features time
//! (BENCHMARKS.md). A Rubin alert that carries no `diaObject` record (one decoded from
//! JSON) still writes its JSON summary; the newer of the two (by trigger time, then alert
//! id) is read.

use solas_core::{Alert, RawRecord, Survey, SurveyObject};

use crate::StoreError;

/// The object-level record that holds Rubin's summary.
const DIA_OBJECT: &str = "diaObject";

/// Whether a survey's summaries may be kept as records: Rubin's only (ZTF's context is
/// gathered from the candidate's fields and kept as JSON), so other surveys' lightcurve
/// reads skip the record look-up.
pub(crate) fn in_records(survey: Survey) -> bool {
    survey == Survey::Lsst
}

/// Whether an alert's summary is kept as its `diaObject` record (not written as JSON).
pub(crate) fn kept_as_record(alert: &Alert) -> bool {
    matches!(alert.survey_object, SurveyObject::Lsst(Some(_)))
        && alert
            .object_records
            .iter()
            .any(|r| r.schema.name == DIA_OBJECT)
}

/// Takes (survey, object id); gives the newest `diaObject` record's (mjd, alert id, schema
/// fingerprint, bytes). Object-level records are stored uncompressed.
pub(crate) const READ_DIA_OBJECT: &str = "SELECT mjd, alert_id, record_schema, record
    FROM object_records WHERE survey = ?1 AND object_id = ?2 AND name = 'diaObject'
    AND source_id = 0";

/// Takes (survey, object ids as an array): the same for a batch, with the object id first.
/// One index probe per id (a lateral subquery the planner cannot flatten): as a plain
/// join the planner, sure that few rows have source 0, read every object's row of every
/// partition and hashed them (51 ms against 3 ms for 500 of 100,000 objects).
pub(crate) const READ_DIA_OBJECTS_PG: &str = "SELECT batch.id, r.mjd, r.alert_id,
    r.record_schema, r.record FROM unnest($2::bigint[]) AS batch(id)
    CROSS JOIN LATERAL (SELECT mjd, alert_id, record_schema, record FROM object_records
        WHERE survey = $1 AND object_id = batch.id AND name = 'diaObject' AND source_id = 0
        LIMIT 1) r";

/// A stored JSON summary: (mjd, alert id, JSON).
pub(crate) type Json = (f64, i64, String);

/// Reads summaries back, each `diaObject` schema parsed once.
#[derive(Default)]
pub(crate) struct SummaryReader {
    dia_objects: solas_decode::lsst::DiaObjectReader,
}

impl SummaryReader {
    /// The newer of an object's JSON summary and its newest `diaObject` record (the
    /// record on a tie: it is the one written since).
    pub(crate) fn newest(
        &mut self,
        object_id: i64,
        json: Option<Json>,
        record: Option<(f64, i64, RawRecord)>,
    ) -> Result<Option<SurveyObject>, StoreError> {
        let json_newer = match (&json, &record) {
            (Some((jm, ja, _)), Some((rm, ra, _))) => (jm, ja) > (rm, ra),
            (json, _) => json.is_some(),
        };
        if json_newer {
            let Some((_, _, text)) = json else {
                return Ok(None);
            };
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Invalid(format!("stored survey object: {e}")));
        }
        let Some((_, _, record)) = record else {
            return Ok(None);
        };
        let mut dia = self
            .dia_objects
            .read(&record)
            .map_err(|e| StoreError::Invalid(format!("a stored diaObject record: {e}")))?;
        // The object's key is its diaObjectId; the benchmark's copies of an alert take new
        // ids and their typed summaries say so (as the JSON summaries did).
        dia.diaObjectId = Some(object_id);
        Ok(Some(SurveyObject::Lsst(Some(Box::new(dia)))))
    }
}
