//! Mining runs and their results (`solas mine`): a run is a filter's objects fanned out
//! over a Kafka topic to mining workers; each worker runs a user's program on an object's
//! lightcurve and writes its answer here, one row per (run, object) however often the
//! object is worked on (a killed worker's objects are done again by the others: the
//! second answer replaces the first). Filters join a run's answers as `mining:N` on
//! either survey's key (`diaObjectId` for Rubin objects, `objectId` for ZTF's).

use solas_core::Survey;

use crate::args;
use crate::db::Db;
use crate::StoreError;

/// Migration 20.
pub(super) const SQL: &str = r#"
CREATE TABLE mining_runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    filter_id INTEGER NOT NULL,
    owner INTEGER NOT NULL,
    survey TEXT NOT NULL,
    topic TEXT NOT NULL,
    objects INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE mining_results (
    run_id INTEGER NOT NULL,
    object_id INTEGER NOT NULL,
    "diaObjectId" INTEGER,
    "objectId" TEXT,
    result TEXT,
    error TEXT,
    worker TEXT NOT NULL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (run_id, object_id));
CREATE INDEX mining_results_lsst ON mining_results ("diaObjectId", run_id);
CREATE INDEX mining_results_ztf ON mining_results ("objectId", run_id);
"#;

/// A mining run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MiningRun {
    pub run_id: i64,
    pub filter_id: i64,
    pub owner: i64,
    pub survey: Survey,
    pub topic: String,
    /// Objects sent out.
    pub objects: i64,
    /// Objects answered so far (results or errors).
    pub answered: i64,
    pub created: String,
}

/// One object's answer: the program's JSON, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct MiningResult {
    pub run_id: i64,
    pub survey: Survey,
    /// The object's 64-bit key (a ZTF name packed).
    pub object_id: i64,
    /// Its name (the diaObjectId as text, or the ZTF objectId).
    pub object: String,
    pub result: Option<String>,
    pub error: Option<String>,
    /// Which worker answered.
    pub worker: String,
}

/// Record a new run (its object count set once they are sent).
pub fn create_run(
    db: &mut Db,
    filter_id: i64,
    owner: i64,
    survey: Survey,
    topic: &str,
) -> Result<i64, StoreError> {
    db.query_one(
        "INSERT INTO mining_runs (filter_id, owner, survey, topic) VALUES (?1, ?2, ?3, ?4)
         RETURNING run_id",
        args![filter_id, owner, survey.as_str(), topic],
    )?
    .get(0)
}

pub fn set_objects(db: &mut Db, run_id: i64, objects: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE mining_runs SET objects = ?2 WHERE run_id = ?1",
        args![run_id, objects],
    )?;
    Ok(())
}

/// Store an answer; a repeat (the object worked on again) replaces it.
pub fn write_result(db: &mut Db, r: &MiningResult) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO mining_results (run_id, object_id, \"diaObjectId\", \"objectId\", result,
           error, worker)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (run_id, object_id) DO UPDATE SET result = excluded.result,
           error = excluded.error, worker = excluded.worker, \"timestamp\" = CURRENT_TIMESTAMP",
        args![
            r.run_id,
            r.object_id,
            (r.survey == Survey::Lsst).then_some(r.object_id),
            (r.survey == Survey::Ztf).then_some(r.object.as_str()),
            r.result.as_deref(),
            r.error.as_deref(),
            &r.worker
        ],
    )?;
    Ok(())
}

/// Every run, newest first, with how many objects are answered.
pub fn runs(db: &mut Db) -> Result<Vec<MiningRun>, StoreError> {
    db.query(
        "SELECT r.run_id, r.filter_id, r.owner, r.survey, r.topic, r.objects,
           (SELECT COUNT(*) FROM mining_results m WHERE m.run_id = r.run_id), r.created
         FROM mining_runs r ORDER BY r.run_id DESC",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(MiningRun {
            run_id: r.get(0)?,
            filter_id: r.get(1)?,
            owner: r.get(2)?,
            survey: Survey::parse(&r.get::<String>(3)?).unwrap_or(Survey::Lsst),
            topic: r.get(4)?,
            objects: r.get(5)?,
            answered: r.get(6)?,
            created: r.get(7)?,
        })
    })
    .collect()
}

/// A run's answers, in object order.
pub fn results(db: &mut Db, run_id: i64) -> Result<Vec<MiningResult>, StoreError> {
    db.query(
        "SELECT run_id, object_id, COALESCE(\"objectId\", CAST(\"diaObjectId\" AS TEXT)),
           result, error, worker, \"objectId\" IS NOT NULL
         FROM mining_results WHERE run_id = ?1 ORDER BY object_id",
        args![run_id],
    )?
    .iter()
    .map(|r| {
        Ok(MiningResult {
            run_id: r.get(0)?,
            survey: if r.get::<bool>(6)? {
                Survey::Ztf
            } else {
                Survey::Lsst
            },
            object_id: r.get(1)?,
            object: r.get(2)?,
            result: r.get(3)?,
            error: r.get(4)?,
            worker: r.get(5)?,
        })
    })
    .collect()
}
