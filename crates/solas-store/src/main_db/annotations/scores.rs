//! Solas's own classifiers' scores as annotations of system annotators (one per model,
//! owned by user 0), written with the filter batch that computed them, and the history
//! of every annotation: a score per alert for the models, each write for the others
//! (users of Lasair's annotators asked for more than the latest).

use solas_core::Survey;

use super::{normalise_topic, survey_name, AnnotationStore, Annotator};
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
    db.execute(
        "INSERT INTO annotation_history
           (survey, object, topic, version, classification, classdict, alert_id, mjd)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (survey, topic, object, alert_id, version) DO NOTHING",
        args![
            survey_name(survey),
            object,
            topic,
            version,
            classification,
            classdict,
            alert.map(|a| a.0),
            alert.map(|a| a.1)
        ],
    )?;
    Ok(())
}

/// Store a filter batch's scores (inside its transaction): every score to the history,
/// and each object's newest score per model as its annotation, unless a newer alert's
/// score is already stored (an old alert delivered again does not take its place).
pub(crate) fn write_scores(db: &mut Db, scores: &[ModelScore]) -> Result<(), StoreError> {
    let mut newest: Vec<&ModelScore> = Vec::new();
    for s in scores {
        append(
            db,
            s.survey,
            &s.object,
            &s.topic,
            (&s.version, &s.classification, &s.classdict),
            Some((s.alert_id, s.mjd)),
        )?;
        match newest
            .iter_mut()
            .find(|n| n.survey == s.survey && n.object == s.object && n.topic == s.topic)
        {
            Some(n) if n.mjd < s.mjd => *n = s,
            Some(_) => {}
            None => newest.push(s),
        }
    }
    for s in newest {
        let values = (&s.topic, &s.version, &s.classification, &s.classdict);
        match s.survey {
            Survey::Lsst => {
                let id: i64 = s.object.parse().map_err(|_| {
                    StoreError::Invalid(format!("{:?} is not a diaObjectId", s.object))
                })?;
                db.execute(
                    "INSERT INTO annotations (\"diaObjectId\", topic, version, classification, classdict, explanation, url)
                     VALUES (?1, ?2, ?3, ?4, ?5, '', '')
                     ON CONFLICT (\"diaObjectId\", topic) DO UPDATE SET version = excluded.version,
                       classification = excluded.classification, classdict = excluded.classdict,
                       \"timestamp\" = CURRENT_TIMESTAMP
                     WHERE NOT EXISTS (SELECT 1 FROM annotation_history h WHERE h.survey = 'lsst'
                       AND h.object = ?6 AND h.topic = ?2 AND h.mjd > ?7)",
                    args![id, values.0, values.1, values.2, values.3, &s.object, s.mjd],
                )?;
            }
            Survey::Ztf => {
                db.execute(
                    "INSERT INTO ztf_annotations (\"objectId\", topic, version, classification, classdict, explanation, url)
                     VALUES (?1, ?2, ?3, ?4, ?5, '', '')
                     ON CONFLICT (\"objectId\", topic) DO UPDATE SET version = excluded.version,
                       classification = excluded.classification, classdict = excluded.classdict,
                       \"timestamp\" = CURRENT_TIMESTAMP
                     WHERE NOT EXISTS (SELECT 1 FROM annotation_history h WHERE h.survey = 'ztf'
                       AND h.object = ?1 AND h.topic = ?2 AND h.mjd > ?6)",
                    args![&s.object, values.0, values.1, values.2, values.3, s.mjd],
                )?;
            }
        }
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
        match self.annotator(topic)? {
            Some(a) if a.owner != SYSTEM_OWNER => Err(StoreError::Invalid(format!(
                "annotator {:?} belongs to user {}: rename the model",
                a.topic, a.owner
            ))),
            Some(_) => {
                self.db.execute(
                    "UPDATE annotators SET description = ?2, url = ?3 WHERE topic = ?1",
                    args![normalise_topic(topic), description, url],
                )?;
                Ok(())
            }
            None => self.add_annotator(&Annotator {
                topic: topic.to_string(),
                owner: SYSTEM_OWNER,
                description: description.to_string(),
                url: url.to_string(),
                active: true,
                public: true,
            }),
        }
    }

    /// An object's annotation history, oldest first (at most `limit` newest entries).
    pub fn history(
        &mut self,
        survey: Survey,
        object: &str,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = self.db.query(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Target;
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

    /// Each test runs on SQLite and, where it runs, PostgreSQL.
    fn each_backend(test: impl Fn(&Target)) {
        let dir = tempfile::tempdir().unwrap();
        test(&Target::Sqlite(dir.path().join("solas.db")));
        if let Some(pg) = solas_testdata::servers::TempDb::create("scores") {
            test(&Target::Postgres(pg.url()));
        }
    }

    #[test]
    fn every_score_is_kept_and_the_newest_alerts_is_the_annotation() {
        each_backend(|target| {
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

    #[test]
    fn a_users_annotations_are_kept_in_the_history_too() {
        each_backend(|target| {
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
