//! Annotators and annotations. An annotator is a topic a user owns (Lasair vets them; here
//! the operator adds them); an annotation is that topic's word on one object —
//! classification, version, explanation, a JSON `classdict` and a URL — and a new one
//! replaces the old. Every write is also appended to `annotation_events`, which the filter
//! stage follows to re-run the filters that name the annotator, and to the history
//! ([`scores`], which also holds Solas's own classifiers' scores).

pub mod consensus;
pub mod scores;

use std::path::Path;

use solas_core::{ObjectKey, Survey};

use crate::args;
use crate::db::{Db, Row, Target};
use crate::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct Annotator {
    pub topic: String,
    pub owner: i64,
    pub description: String,
    pub url: String,
    pub active: bool,
    pub public: bool,
}

/// One annotation of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub survey: Survey,
    /// `diaObjectId` as text for Rubin, the ZTF name for ZTF.
    pub object: String,
    pub topic: String,
    pub version: String,
    pub classification: String,
    pub explanation: String,
    /// A JSON object (checked on write).
    pub classdict: String,
    pub url: String,
}

/// An annotation written since a follower last looked.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationEvent {
    pub seq: i64,
    pub survey: Survey,
    pub object: String,
    pub topic: String,
}

pub struct AnnotationStore {
    db: Db,
}

/// Topics are compared case-insensitively by filters (`annotator:Fink`), so they are kept
/// in one case.
pub fn normalise_topic(topic: &str) -> String {
    topic.trim().to_ascii_lowercase()
}

/// An `annotators` row selected as topic, owner, description, url, active, public.
fn annotator_row(r: &Row) -> Result<Annotator, StoreError> {
    Ok(Annotator {
        topic: r.get(0)?,
        owner: r.get(1)?,
        description: r.get(2)?,
        url: r.get(3)?,
        active: r.get(4)?,
        public: r.get(5)?,
    })
}

fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 64
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn survey_name(s: Survey) -> &'static str {
    s.as_str()
}

/// A survey's annotation table and its object key column.
fn annotation_table(survey: Survey) -> (&'static str, &'static str) {
    match survey {
        Survey::Lsst => ("annotations", "diaObjectId"),
        Survey::Ztf => ("ztf_annotations", "objectId"),
    }
}

/// An object as its annotation table keys it: Rubin's `diaObjectId` as an integer, ZTF's
/// name as text; an object that is not a valid key of its survey is refused.
fn key_value(survey: Survey, object: &str) -> Result<crate::db::Value, StoreError> {
    match survey {
        Survey::Lsst => object
            .trim()
            .parse::<i64>()
            .map(Into::into)
            .map_err(|_| StoreError::Invalid(format!("{object:?} is not a diaObjectId"))),
        Survey::Ztf => {
            ObjectKey::ztf(object.trim()).map_err(|e| {
                StoreError::Invalid(format!("{object:?} is not a ZTF objectId: {e}"))
            })?;
            Ok(object.trim().into())
        }
    }
}

/// An object the pipeline itself names (a model's score of an alert it decoded) as its
/// annotation table keys it. ZTF names are not checked: they came from the survey (and the
/// benchmark's copies of alerts carry names of their own, `ZTF21abiuvdkr3`).
fn pipeline_key_value(survey: Survey, object: &str) -> Result<crate::db::Value, StoreError> {
    match survey {
        Survey::Lsst => key_value(survey, object),
        Survey::Ztf => Ok(object.into()),
    }
}

fn parse_survey(s: &str) -> Survey {
    Survey::parse(s).unwrap_or(Survey::Lsst)
}

impl AnnotationStore {
    /// The annotation tables of the main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<AnnotationStore, StoreError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<AnnotationStore, StoreError> {
        Ok(AnnotationStore {
            db: super::connect(target)?,
        })
    }

    pub fn add_annotator(&mut self, a: &Annotator) -> Result<(), StoreError> {
        let topic = normalise_topic(&a.topic);
        if !valid_topic(&topic) {
            return Err(StoreError::Invalid(format!(
                "annotator topic {:?} must be 1–64 letters, digits, '_', '-' or '.'",
                a.topic
            )));
        }
        self.db
            .execute(
                "INSERT INTO annotators (topic, owner, description, url, active, public)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![&topic, a.owner, &a.description, &a.url, a.active, a.public],
            )
            .map_err(|e| e.if_unique(|| format!("annotator {topic:?} already exists")))?;
        Ok(())
    }

    pub fn annotator(&mut self, topic: &str) -> Result<Option<Annotator>, StoreError> {
        self.db
            .query_opt(
                "SELECT topic, owner, description, url, active, public FROM annotators WHERE topic = ?1",
                args![normalise_topic(topic)],
            )?
            .as_ref()
            .map(annotator_row)
            .transpose()
    }

    pub fn annotators(&mut self) -> Result<Vec<Annotator>, StoreError> {
        self.db
            .query(
                "SELECT topic, owner, description, url, active, public FROM annotators ORDER BY topic",
                &[],
            )?
            .iter()
            .map(annotator_row)
            .collect()
    }

    /// Write (or replace) `user`'s annotation. Only the annotator's owner may write to an
    /// active annotator; the object must be a valid key of its survey. Returns the event
    /// sequence number.
    pub fn annotate(&mut self, user: i64, a: &Annotation) -> Result<i64, StoreError> {
        let topic = normalise_topic(&a.topic);
        let annotator = self
            .annotator(&topic)?
            .ok_or_else(|| StoreError::Invalid(format!("no annotator {topic:?}")))?;
        if annotator.owner != user {
            return Err(StoreError::Invalid(format!(
                "annotator {topic:?} belongs to another user"
            )));
        }
        if !annotator.active {
            return Err(StoreError::Invalid(format!(
                "annotator {topic:?} is not active"
            )));
        }
        if !a.classdict.trim().is_empty() {
            match serde_json::from_str::<serde_json::Value>(&a.classdict) {
                Ok(serde_json::Value::Object(_)) => {}
                _ => {
                    return Err(StoreError::Invalid(
                        "classdict must be a JSON object".into(),
                    ))
                }
            }
        }
        let (broad, stance) = consensus::columns_of(&a.classification);
        let (table, key) = annotation_table(a.survey);
        let key_value = key_value(a.survey, &a.object)?;
        let upsert = format!(
            "INSERT INTO {table} (\"{key}\", topic, version, classification, explanation, classdict, url, broad, stance)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (\"{key}\", topic) DO UPDATE SET version = excluded.version,
               classification = excluded.classification, explanation = excluded.explanation,
               classdict = excluded.classdict, url = excluded.url, broad = excluded.broad,
               stance = excluded.stance, \"timestamp\" = CURRENT_TIMESTAMP"
        );
        self.db.transaction(|tx| {
        tx.execute(
            &upsert,
            args![key_value.clone(), &topic, &a.version, &a.classification, &a.explanation, &a.classdict, &a.url, broad, stance],
        )?;
        scores::append(
            tx,
            a.survey,
            a.object.trim(),
            &topic,
            (&a.version, &a.classification, &a.classdict),
            None,
        )?;
        tx.query_one(
            "INSERT INTO annotation_events (survey, object, topic) VALUES (?1, ?2, ?3) RETURNING seq",
            args![survey_name(a.survey), a.object.trim(), &topic],
        )?
        .get(0)
        })
    }

    /// The annotation of an object by a topic, if any.
    pub fn get(
        &mut self,
        survey: Survey,
        object: &str,
        topic: &str,
    ) -> Result<Option<Annotation>, StoreError> {
        let (table, key) = annotation_table(survey);
        self.db
            .query_opt(
                &format!(
                    "SELECT CAST(\"{key}\" AS TEXT), topic, COALESCE(version, ''), COALESCE(classification, ''),
                     COALESCE(explanation, ''), COALESCE(classdict, ''), COALESCE(url, '')
                     FROM {table} WHERE CAST(\"{key}\" AS TEXT) = ?1 AND topic = ?2"
                ),
                args![object.trim(), normalise_topic(topic)],
            )?
            .map(|r| {
                    Ok(Annotation {
                        survey,
                        object: r.get(0)?,
                        topic: r.get(1)?,
                        version: r.get(2)?,
                        classification: r.get(3)?,
                        explanation: r.get(4)?,
                        classdict: r.get(5)?,
                        url: r.get(6)?,
                    })
            })
            .transpose()
    }

    /// Events after `seq`, oldest first, at most `limit`.
    pub fn events_after(
        &mut self,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<AnnotationEvent>, StoreError> {
        self.db
            .query(
                "SELECT seq, survey, object, topic FROM annotation_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                args![seq, limit as i64],
            )?
            .iter()
            .map(|r| {
                Ok(AnnotationEvent {
                    seq: r.get(0)?,
                    survey: parse_survey(&r.get::<String>(1)?),
                    object: r.get(2)?,
                    topic: r.get(3)?,
                })
            })
            .collect()
    }

    /// The newest event's sequence number (0 when there is none).
    pub fn last_seq(&mut self) -> Result<i64, StoreError> {
        self.db
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM annotation_events", &[])?
            .get(0)
    }

    /// A follower's saved position in the event log.
    pub fn cursor(&mut self, name: &str) -> Result<Option<i64>, StoreError> {
        self.db
            .query_opt("SELECT value FROM cursors WHERE name = ?1", args![name])?
            .map(|r| r.get(0))
            .transpose()
    }

    pub fn set_cursor(&mut self, name: &str, value: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO cursors (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            args![name, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test runs on SQLite and, where it runs, PostgreSQL.
    fn each_backend(test: impl Fn(&mut AnnotationStore)) {
        crate::main_db::each_target("annotations", |target| {
            test(&mut AnnotationStore::connect(target).unwrap())
        });
    }

    fn annotation(object: &str, class: &str) -> Annotation {
        Annotation {
            survey: Survey::Lsst,
            object: object.into(),
            topic: "Fink".into(),
            version: "1".into(),
            classification: class.into(),
            explanation: String::new(),
            classdict: r#"{"p": 0.9}"#.into(),
            url: String::new(),
        }
    }

    #[test]
    fn one_annotation_per_object_and_topic_replaced_on_update() {
        each_backend(one_annotation_per_object_and_topic);
    }

    fn one_annotation_per_object_and_topic(s: &mut AnnotationStore) {
        s.add_annotator(&Annotator {
            topic: "Fink".into(),
            owner: 7,
            description: "Fink classes".into(),
            url: String::new(),
            active: true,
            public: true,
        })
        .unwrap();
        let id = "169298432598474793";
        let first = s.annotate(7, &annotation(id, "SN")).unwrap();
        let second = s.annotate(7, &annotation(id, "KN")).unwrap();
        assert!(second > first);
        let got = s.get(Survey::Lsst, id, "FINK").unwrap().unwrap();
        assert_eq!(got.classification, "KN");
        assert_eq!(got.object, id, "64-bit id kept exactly");
        let n: i64 =
            s.db.query_one("SELECT count(*) FROM annotations", &[])
                .unwrap()
                .get(0)
                .unwrap();
        assert_eq!(n, 1);
        let events = s.events_after(0, 10).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].topic, "fink");
        assert_eq!(s.events_after(first, 10).unwrap().len(), 1);
    }

    #[test]
    fn only_the_owner_may_annotate_and_input_is_checked() {
        each_backend(owner_and_input_checked);
    }

    fn owner_and_input_checked(s: &mut AnnotationStore) {
        s.add_annotator(&Annotator {
            topic: "mine".into(),
            owner: 1,
            description: String::new(),
            url: String::new(),
            active: true,
            public: false,
        })
        .unwrap();
        let mut a = annotation("5", "SN");
        a.topic = "mine".into();
        assert!(s
            .annotate(2, &a)
            .unwrap_err()
            .to_string()
            .contains("another user"));
        a.classdict = "[1,2]".into();
        assert!(s
            .annotate(1, &a)
            .unwrap_err()
            .to_string()
            .contains("classdict"));
        a.classdict = String::new();
        a.object = "ZTF21abiuvdk".into();
        assert!(s
            .annotate(1, &a)
            .unwrap_err()
            .to_string()
            .contains("diaObjectId"));
        a.survey = Survey::Ztf;
        s.annotate(1, &a).unwrap();
        a.object = "not-a-name".into();
        assert!(s.annotate(1, &a).is_err());
        a.topic = "nobody".into();
        assert!(s
            .annotate(1, &a)
            .unwrap_err()
            .to_string()
            .contains("no annotator"));
        assert!(s
            .add_annotator(&Annotator {
                topic: "bad topic;".into(),
                owner: 1,
                description: String::new(),
                url: String::new(),
                active: true,
                public: true,
            })
            .is_err());
    }
}
