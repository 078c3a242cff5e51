//! The consensus of an object's classifiers: every annotator's newest word on it (Solas's
//! models, followed brokers, users' annotators) in one row per object, with a `disagree`
//! flag when two of them place it in different broad classes, or one says it is what
//! another says it is not (`solas_core::classes`). Kept as views over the annotation
//! tables (`consensus`, `ztf_consensus`), so filters can join them (`consensus` in the
//! tables list) and they are never stale; each annotation carries its broad class and
//! stance, set when it is written.

use solas_core::classes::stance;
use solas_core::Survey;

use super::AnnotationStore;
use crate::args;
use crate::db::Db;
use crate::tables::Dialect;
use crate::StoreError;

/// The annotation columns the views read besides the object key: a copy of a batch's
/// annotations holding these gives the view its rows (`filter_runs::local`).
pub(crate) const VIEW_READS: [&str; 5] =
    ["topic", "classification", "broad", "stance", "timestamp"];

/// Migration 16: the broad class (`broad`) and stance (`stance`: 1 is, -1 is not) of each
/// annotation, the time of the alert a model's score came from (`alert_mjd`: an older
/// alert's score does not replace a newer one's), and the views.
pub(crate) fn migration_sql(dialect: Dialect) -> String {
    let view = |name: &str, table: &str, key: &str| {
        let classes = match dialect {
            Dialect::Sqlite => "GROUP_CONCAT(topic || ': ' || COALESCE(classification, ''), '; ')",
            Dialect::Postgres => {
                "string_agg(topic || ': ' || COALESCE(classification, ''), '; ' ORDER BY topic)"
            }
        };
        format!(
            "CREATE VIEW {name} AS
             SELECT \"{key}\", COUNT(*) AS sources, {classes} AS classes,
               CASE WHEN COUNT(DISTINCT CASE WHEN stance = 1 THEN broad END) > 1
                      OR COUNT(DISTINCT broad || ':' || CAST(stance AS TEXT)) > COUNT(DISTINCT broad)
                    THEN 1 ELSE 0 END AS disagree,
               MAX(\"timestamp\") AS latest
             FROM (SELECT * FROM {table} ORDER BY topic) a
             GROUP BY \"{key}\";"
        )
    };
    format!(
        "ALTER TABLE annotations ADD COLUMN broad TEXT;
         ALTER TABLE annotations ADD COLUMN stance INTEGER;
         ALTER TABLE annotations ADD COLUMN alert_mjd REAL;
         ALTER TABLE ztf_annotations ADD COLUMN broad TEXT;
         ALTER TABLE ztf_annotations ADD COLUMN stance INTEGER;
         ALTER TABLE ztf_annotations ADD COLUMN alert_mjd REAL;
         {}
         {}",
        view("consensus", "annotations", "diaObjectId"),
        view("ztf_consensus", "ztf_annotations", "objectId")
    )
}

/// The broad class and stance columns of a classification.
pub(crate) fn columns_of(classification: &str) -> (Option<&'static str>, Option<i64>) {
    match stance(classification) {
        Some((broad, is)) => (Some(broad.as_str()), Some(if is { 1 } else { -1 })),
        None => (None, None),
    }
}

/// One object's consensus row.
#[derive(Debug, Clone, PartialEq)]
pub struct Consensus {
    pub sources: i64,
    pub classes: String,
    pub disagree: bool,
    pub latest: String,
}

impl AnnotationStore {
    /// The consensus of an object's annotators (None when none has spoken).
    pub fn consensus(
        &mut self,
        survey: Survey,
        object: &str,
    ) -> Result<Option<Consensus>, StoreError> {
        consensus_of(&mut self.db, survey, object)
    }
}

/// [`AnnotationStore::consensus`] on a connection of the main database.
pub fn consensus_of(
    db: &mut Db,
    survey: Survey,
    object: &str,
) -> Result<Option<Consensus>, StoreError> {
    let (view, key) = match survey {
        Survey::Lsst => ("consensus", "diaObjectId"),
        Survey::Ztf => ("ztf_consensus", "objectId"),
    };
    db.query_opt(
        &format!(
            "SELECT sources, classes, disagree, CAST(latest AS TEXT) FROM {view}
             WHERE CAST(\"{key}\" AS TEXT) = ?1"
        ),
        args![object.trim()],
    )?
    .map(|r| {
        Ok(Consensus {
            sources: r.get(0)?,
            classes: r.get(1)?,
            disagree: r.get::<i64>(2)? != 0,
            latest: r.get(3)?,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Target;
    use crate::main_db::annotations::scores::ModelScore;
    use crate::main_db::annotations::{Annotation, Annotator};
    use crate::main_db::MainDatabase;
    use crate::MainDb;

    fn broker_says(notes: &mut AnnotationStore, survey: Survey, object: &str, class: &str) {
        notes
            .annotate(
                9,
                &Annotation {
                    survey,
                    object: object.into(),
                    topic: "fink".into(),
                    version: "v3".into(),
                    classification: class.into(),
                    explanation: String::new(),
                    classdict: String::new(),
                    url: String::new(),
                },
            )
            .unwrap();
    }

    fn model_says(target: &Target, survey: Survey, object: &str, topic: &str, class: &str) {
        let score = ModelScore {
            survey,
            object: object.into(),
            topic: topic.into(),
            version: "1".into(),
            classification: class.into(),
            classdict: "{}".into(),
            alert_id: 1,
            mjd: 60000.0,
        };
        MainDatabase::connect(target)
            .unwrap()
            .write_batch(&[], &Default::default(), &[score])
            .unwrap();
    }

    #[test]
    fn the_consensus_flags_classifiers_that_disagree() {
        crate::main_db::each_target("consensus", |target| {
            let mut notes = AnnotationStore::connect(target).unwrap();
            notes
                .add_annotator(&Annotator {
                    topic: "fink".into(),
                    owner: 9,
                    description: String::new(),
                    url: String::new(),
                    active: true,
                    public: true,
                })
                .unwrap();
            // Agreeing: Fink's SN candidate and SuperNNova's SN.
            broker_says(&mut notes, Survey::Lsst, "1", "SN candidate");
            model_says(target, Survey::Lsst, "1", "snn_sn", "SN");
            // SuperNNova says not SN where Fink says SN.
            broker_says(&mut notes, Survey::Lsst, "2", "SN candidate");
            model_says(target, Survey::Lsst, "2", "snn_sn", "not SN");
            // A kilonova where Fink sees a supernova (ZTF).
            broker_says(&mut notes, Survey::Ztf, "ZTF21abiuvdk", "SN candidate");
            model_says(target, Survey::Ztf, "ZTF21abiuvdk", "kilonova", "KN");
            // Fink commits to nothing; the model's "not KN" has nothing to contradict.
            broker_says(&mut notes, Survey::Ztf, "ZTF21abvawaj", "Ambiguous");
            model_says(target, Survey::Ztf, "ZTF21abvawaj", "kilonova", "not KN");

            let one = notes.consensus(Survey::Lsst, "1").unwrap().unwrap();
            assert_eq!((one.sources, one.disagree), (2, false));
            assert_eq!(one.classes, "fink: SN candidate; snn_sn: SN");
            assert!(
                notes
                    .consensus(Survey::Lsst, "2")
                    .unwrap()
                    .unwrap()
                    .disagree
            );
            let kn = notes
                .consensus(Survey::Ztf, "ZTF21abiuvdk")
                .unwrap()
                .unwrap();
            assert!(kn.disagree, "{kn:?}");
            assert!(!kn.latest.is_empty());
            let quiet = notes
                .consensus(Survey::Ztf, "ZTF21abvawaj")
                .unwrap()
                .unwrap();
            assert_eq!((quiet.sources, quiet.disagree), (2, false));
            assert!(notes.consensus(Survey::Lsst, "3").unwrap().is_none());
        });
    }
}
