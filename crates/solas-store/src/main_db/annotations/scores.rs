//! Solas's own classifiers' scores as annotations of system annotators (one per model,
//! owned by user 0), written with the filter batch that computed them, and the history
//! of every annotation: a score per alert for the models, each write for the others
//! (users of Lasair's annotators asked for more than the latest).

use std::collections::hash_map::Entry;

use solas_core::Survey;

use super::{normalise_topic, survey_name, AnnotationStore};
use crate::args;
use crate::db::Db;
use crate::StoreError;

/// The user that owns the system annotators.
pub const SYSTEM_OWNER: i64 = 0;

/// Migration 15. An annotation from a model names the alert it scored (`alert_id`, its
/// time as `mjd`); writing the same score again (an alert delivered twice) adds nothing.
pub(crate) const HISTORY_SQL: &str = "
CREATE TABLE annotation_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    survey TEXT NOT NULL,
    object TEXT NOT NULL,
    topic TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    classification TEXT NOT NULL DEFAULT '',
    classdict TEXT NOT NULL DEFAULT '',
    alert_id INTEGER,
    mjd REAL,
    at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE UNIQUE INDEX annotation_history_alert
    ON annotation_history (survey, topic, object, alert_id, version);
CREATE INDEX annotation_history_object ON annotation_history (survey, object, seq);
";

/// Migration 21. The history's key was five text columns, the model's long version string
/// among them (about 190 bytes an index entry), beside a second index for reads: each
/// classified alert paid for both. A (survey, topic, version) now has a small id in
/// `score_models`, and one narrow unique index (object, alert, model) both keeps a score
/// from being written twice and serves an object's history.
pub(crate) const MODEL_IDS_SQL: &str = "
CREATE TABLE score_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    survey TEXT NOT NULL,
    topic TEXT NOT NULL,
    version TEXT NOT NULL,
    UNIQUE (survey, topic, version));
INSERT INTO score_models (survey, topic, version)
    SELECT DISTINCT survey, topic, version FROM annotation_history;
ALTER TABLE annotation_history ADD COLUMN model INTEGER;
UPDATE annotation_history SET model = (SELECT m.id FROM score_models m
    WHERE m.survey = annotation_history.survey AND m.topic = annotation_history.topic
      AND m.version = annotation_history.version);
DROP INDEX annotation_history_alert;
DROP INDEX annotation_history_object;
CREATE UNIQUE INDEX annotation_history_alert ON annotation_history (object, alert_id, model);
";

/// The id of a (survey, topic, version) in `score_models`, made if new (inside the
/// caller's transaction: a batch rolled back takes its new ids with it).
fn model_id(db: &mut Db, survey: &str, topic: &str, version: &str) -> Result<i64, StoreError> {
    const FIND: &str =
        "SELECT id FROM score_models WHERE survey = ?1 AND topic = ?2 AND version = ?3";
    // Looked up first: an insert that meets the row would still use up an id on PostgreSQL.
    if let Some(row) = db.query_opt(FIND, args![survey, topic, version])? {
        return row.get(0);
    }
    db.execute(
        "INSERT INTO score_models (survey, topic, version) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
        args![survey, topic, version],
    )?;
    db.query_one(FIND, args![survey, topic, version])?.get(0)
}

/// One model's score of one object at one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    pub survey: Survey,
    /// `diaObjectId` as text for Rubin, the ZTF name for ZTF.
    pub object: String,
    /// The model's annotator topic.
    pub topic: String,
    pub version: String,
    pub classification: String,
    /// A JSON object: the probability and the features it came from.
    pub classdict: String,
    /// The alert scored (Rubin `diaSourceId`, ZTF `candid`) and its time (MJD; TAI for
    /// Rubin, UTC for ZTF, as each survey gives it).
    pub alert_id: i64,
    pub mjd: f64,
}

/// One entry of an object's annotation history, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub topic: String,
    pub version: String,
    pub classification: String,
    pub classdict: String,
    pub alert_id: Option<i64>,
    pub mjd: Option<f64>,
    /// When it was written (UTC, the database's clock).
    pub at: String,
}

/// Append one annotation to the history (inside the caller's transaction).
pub(super) fn append(
    db: &mut Db,
    survey: Survey,
    object: &str,
    topic: &str,
    (version, classification, classdict): (&str, &str, &str),
    alert: Option<(i64, f64)>,
) -> Result<(), StoreError> {
    let model = model_id(db, survey_name(survey), topic, version)?;
    db.execute(
        "INSERT INTO annotation_history
           (survey, object, topic, version, classification, classdict, alert_id, mjd, model)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (object, alert_id, model) DO NOTHING",
        args![
            survey_name(survey),
            object,
            topic,
            version,
            classification,
            classdict,
            alert.map(|a| a.0),
            alert.map(|a| a.1),
            model
        ],
    )?;
    Ok(())
}

/// Store a filter batch's scores (inside its transaction): every score to the history,
/// and each object's newest score per model as its annotation, unless a newer alert's
/// score is already stored (an old alert delivered again does not take its place). A few
/// multi-row statements for the whole batch: a Rubin batch scores every alert.
pub(crate) fn write_scores(db: &mut Db, scores: &[ModelScore]) -> Result<(), StoreError> {
    if scores.is_empty() {
        return Ok(());
    }
    // A batch holds a few models' scores: their ids once each.
    let mut models: std::collections::HashMap<(Survey, &str, &str), i64> =
        std::collections::HashMap::new();
    for s in scores {
        if let Entry::Vacant(slot) = models.entry((s.survey, &s.topic, &s.version)) {
            slot.insert(model_id(db, survey_name(s.survey), &s.topic, &s.version)?);
        }
    }
    let history: Vec<Vec<crate::db::Value>> = scores
        .iter()
        .map(|s| {
            vec![
                survey_name(s.survey).into(),
                s.object.as_str().into(),
                s.topic.as_str().into(),
                s.version.as_str().into(),
                s.classification.as_str().into(),
                s.classdict.as_str().into(),
                s.alert_id.into(),
                s.mjd.into(),
                models[&(s.survey, s.topic.as_str(), s.version.as_str())].into(),
            ]
        })
        .collect();
    db.execute_rows(
        "INSERT INTO annotation_history
           (survey, object, topic, version, classification, classdict, alert_id, mjd, model)
         VALUES",
        "ON CONFLICT (object, alert_id, model) DO NOTHING",
        &history,
    )?;
    // One annotation per (survey, object, topic): the batch's newest alert's.
    let mut newest: std::collections::HashMap<(Survey, &str, &str), &ModelScore> =
        std::collections::HashMap::new();
    for s in scores {
        let slot = newest.entry((s.survey, &s.object, &s.topic)).or_insert(s);
        if slot.mjd < s.mjd {
            *slot = s;
        }
    }
    for survey in [Survey::Lsst, Survey::Ztf] {
        let mut rows: Vec<&ModelScore> = newest
            .values()
            .copied()
            .filter(|s| s.survey == survey)
            .collect();
        // One order whichever worker writes: concurrent batches wait, not deadlock.
        rows.sort_by(|a, b| (&a.object, &a.topic).cmp(&(&b.object, &b.topic)));
        let (table, key) = super::annotation_table(survey);
        let values = rows
            .iter()
            .map(|s| {
                let (broad, stance) = super::consensus::columns_of(&s.classification);
                Ok(vec![
                    super::pipeline_key_value(survey, &s.object)?,
                    s.topic.as_str().into(),
                    s.version.as_str().into(),
                    s.classification.as_str().into(),
                    s.classdict.as_str().into(),
                    broad.into(),
                    stance.into(),
                    s.mjd.into(),
                ])
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        db.execute_rows(
            &format!(
                "INSERT INTO {table} (\"{key}\", topic, version, classification, classdict,
                   broad, stance, alert_mjd)
                 VALUES"
            ),
            &format!(
                "ON CONFLICT (\"{key}\", topic) DO UPDATE SET version = excluded.version,
                   classification = excluded.classification, classdict = excluded.classdict,
                   broad = excluded.broad, stance = excluded.stance,
                   alert_mjd = excluded.alert_mjd, \"timestamp\" = CURRENT_TIMESTAMP
                 WHERE {table}.alert_mjd IS NULL OR {table}.alert_mjd <= excluded.alert_mjd"
            ),
            &values,
        )?;
    }
    Ok(())
}

impl AnnotationStore {
    /// The system annotator of a model: made if missing, its description kept up to date.
    /// A topic a user already owns is refused (the model's scores would mix with theirs).
    pub fn ensure_system_annotator(
        &mut self,
        topic: &str,
        description: &str,
        url: &str,
    ) -> Result<(), StoreError> {
        let topic = normalise_topic(topic);
        if !super::valid_topic(&topic) {
            return Err(StoreError::Invalid(format!(
                "annotator topic {topic:?} must be 1–64 letters, digits, '_', '-' or '.'"
            )));
        }
        // One statement, so that workers starting together (several filter workers of a
        // scale-out deployment) do not race between a look and an insert; a user's topic is
        // left as it is and refused below.
        self.db.execute(
            "INSERT INTO annotators (topic, owner, description, url, active, public)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (topic) DO UPDATE SET description = excluded.description,
               url = excluded.url
             WHERE annotators.owner = ?2",
            args![&topic, SYSTEM_OWNER, description, url, true],
        )?;
        match self.annotator(&topic)? {
            Some(a) if a.owner != SYSTEM_OWNER => Err(StoreError::Invalid(format!(
                "annotator {:?} belongs to user {}: rename the model",
                a.topic, a.owner
            ))),
            _ => Ok(()),
        }
    }

    /// An object's annotation history, oldest first (at most `limit` newest entries).
    pub fn history(
        &mut self,
        survey: Survey,
        object: &str,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        history_of(&mut self.db, survey, object, limit)
    }
}

/// [`AnnotationStore::history`] on a connection of the main database.
pub fn history_of(
    db: &mut Db,
    survey: Survey,
    object: &str,
    limit: usize,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let rows = db.query(
        "SELECT topic, version, classification, classdict, alert_id, mjd, CAST(at AS TEXT)
         FROM annotation_history WHERE survey = ?1 AND object = ?2
         ORDER BY seq DESC LIMIT ?3",
        args![survey_name(survey), object.trim(), limit as i64],
    )?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                topic: r.get(0)?,
                version: r.get(1)?,
                classification: r.get(2)?,
                classdict: r.get(3)?,
                alert_id: r.get(4)?,
                mjd: r.get(5)?,
                at: r.get(6)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::main_db::annotations::Annotator;
    use crate::main_db::MainDatabase;
    use crate::MainDb;

    fn score(object: &str, alert_id: i64, mjd: f64, p: f64) -> ModelScore {
        ModelScore {
            survey: Survey::Ztf,
            object: object.into(),
            topic: "kilonova".into(),
            version: "v1".into(),
            classification: if p >= 0.5 { "KN" } else { "not KN" }.into(),
            classdict: format!(r#"{{"probability": {p}}}"#),
            alert_id,
            mjd,
        }
    }

    /// `solas bench` copies ZTF alerts under names of their own (`ZTF21abiuvdkr1`): with the
    /// models on, their scores' write refused the name and stopped the filter stage.
    #[test]
    fn scores_of_the_benchmarks_renamed_ztf_objects_are_written() {
        crate::main_db::each_target("scores", |target| {
            let mut main = MainDatabase::connect(target).unwrap();
            let hits = crate::main_db::watch::Hits::default();
            main.write_batch(&[], &hits, &[score("ZTF21abiuvdkr1", 7, 59400.5, 0.6)])
                .unwrap();
            let history = AnnotationStore::connect(target)
                .unwrap()
                .history(Survey::Ztf, "ZTF21abiuvdkr1", 10)
                .unwrap();
            assert_eq!(history.len(), 1);
        });
    }

    #[test]
    fn every_score_is_kept_and_the_newest_alerts_is_the_annotation() {
        crate::main_db::each_target("scores", |target| {
            let mut main = MainDatabase::connect(target).unwrap();
            let mut notes = AnnotationStore::connect(target).unwrap();
            notes
                .ensure_system_annotator("kilonova", "kndetect", "https://x")
                .unwrap();
            let hits = crate::main_db::watch::Hits::default();
            // A batch holding two alerts of one object, the newer first.
            let batch = [
                score("ZTF21abiuvdk", 2, 59400.5, 0.6),
                score("ZTF21abiuvdk", 1, 59399.5, 0.2),
            ];
            main.write_batch(&[], &hits, &batch).unwrap();
            // The older alert delivered again: the newer one's score stays.
            main.write_batch(&[], &hits, &batch[1..]).unwrap();
            let now = notes
                .get(Survey::Ztf, "ZTF21abiuvdk", "kilonova")
                .unwrap()
                .unwrap();
            assert_eq!(now.classdict, r#"{"probability": 0.6}"#);
            // A later one.
            main.write_batch(&[], &hits, &[score("ZTF21abiuvdk", 3, 59401.5, 0.4)])
                .unwrap();
            let now = notes
                .get(Survey::Ztf, "ZTF21abiuvdk", "kilonova")
                .unwrap()
                .unwrap();
            assert_eq!(now.classification, "not KN");
            assert_eq!(now.classdict, r#"{"probability": 0.4}"#);
            let history = notes.history(Survey::Ztf, "ZTF21abiuvdk", 100).unwrap();
            let alerts: Vec<_> = history.iter().map(|h| h.alert_id).collect();
            assert_eq!(
                alerts,
                [Some(2), Some(1), Some(3)],
                "each alert once, in write order"
            );
            assert_eq!(history[0].mjd, Some(59400.5));
            // The annotator is the system's; a user's topic is not taken over.
            assert_eq!(
                notes.annotator("kilonova").unwrap().unwrap().owner,
                SYSTEM_OWNER
            );
            notes
                .add_annotator(&Annotator {
                    topic: "mine".into(),
                    owner: 5,
                    description: String::new(),
                    url: String::new(),
                    active: true,
                    public: true,
                })
                .unwrap();
            assert!(notes.ensure_system_annotator("mine", "", "").is_err());
        });
    }

    /// Stop of 2026-12-06: two filter workers starting together both found no system
    /// annotator and both inserted it; the second failed with "already exists".
    #[test]
    fn workers_starting_together_all_register_the_system_annotator() {
        crate::main_db::each_target("scores", |target| {
            AnnotationStore::connect(target).unwrap();
            let workers: Vec<_> = (0..6)
                .map(|_| {
                    let target = target.clone();
                    std::thread::spawn(move || {
                        AnnotationStore::connect(&target)
                            .unwrap()
                            .ensure_system_annotator("snn_sn", "SuperNNova", "https://x")
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap().unwrap();
            }
            let mut notes = AnnotationStore::connect(target).unwrap();
            let a = notes.annotator("snn_sn").unwrap().unwrap();
            assert_eq!(
                (a.owner, a.description.as_str()),
                (SYSTEM_OWNER, "SuperNNova")
            );
        });
    }

    /// Migration 21 gives a history written before it model ids, and the new key then
    /// holds: the same alert scored again by the same model adds nothing, by a new
    /// version of it adds a row.
    #[test]
    fn a_history_written_before_model_ids_keeps_its_key_after_the_migration() {
        crate::main_db::each_target("scores", |target| {
            let mut db = Db::open(target).unwrap();
            let all = crate::main_db::migrations(db.dialect());
            assert_eq!(all[20].version, 21, "migration 21 is the model ids'");
            db.migrate("schema_migrations", &all[..20]).unwrap();
            db.execute(
                "INSERT INTO annotation_history (survey, object, topic, version,
                   classification, classdict, alert_id, mjd)
                 VALUES ('ztf', 'ZTF21abiuvdk', 'kilonova', 'v1', 'KN', '{}', 7, 59400.5)",
                &[],
            )
            .unwrap();
            drop(db);
            let mut main = MainDatabase::connect(target).unwrap();
            let hits = crate::main_db::watch::Hits::default();
            let again = score("ZTF21abiuvdk", 7, 59400.5, 0.6);
            let mut newer_model = again.clone();
            newer_model.version = "v2".into();
            main.write_batch(&[], &hits, &[again]).unwrap();
            main.write_batch(&[], &hits, &[newer_model]).unwrap();
            let history = AnnotationStore::connect(target)
                .unwrap()
                .history(Survey::Ztf, "ZTF21abiuvdk", 10)
                .unwrap();
            let versions: Vec<_> = history.iter().map(|h| h.version.as_str()).collect();
            assert_eq!(versions, ["v1", "v2"]);
        });
    }

    #[test]
    fn a_users_annotations_are_kept_in_the_history_too() {
        crate::main_db::each_target("scores", |target| {
            let mut notes = AnnotationStore::connect(target).unwrap();
            notes
                .add_annotator(&Annotator {
                    topic: "fink".into(),
                    owner: 7,
                    description: String::new(),
                    url: String::new(),
                    active: true,
                    public: true,
                })
                .unwrap();
            for class in ["SN", "KN"] {
                notes
                    .annotate(
                        7,
                        &super::super::Annotation {
                            survey: Survey::Lsst,
                            object: "169298432598474793".into(),
                            topic: "fink".into(),
                            version: "1".into(),
                            classification: class.into(),
                            explanation: String::new(),
                            classdict: String::new(),
                            url: String::new(),
                        },
                    )
                    .unwrap();
            }
            let history = notes
                .history(Survey::Lsst, "169298432598474793", 10)
                .unwrap();
            let classes: Vec<_> = history.iter().map(|h| h.classification.as_str()).collect();
            assert_eq!(classes, ["SN", "KN"]);
            assert!(history
                .iter()
                .all(|h| h.alert_id.is_none() && !h.at.is_empty()));
        });
    }
}
