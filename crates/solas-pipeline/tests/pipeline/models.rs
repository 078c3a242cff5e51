//! Trained classifiers in the filter stage: the built-in kilonova model scores the shared
//! ZTF alerts as fink-science does (its answers in solas-classify's reference data), the
//! scores are annotations of the system annotator `kilonova` with every alert's score kept,
//! and a filter naming `annotator:kilonova` sees them in the batch that made them.

use crate::common;

use std::time::Duration;

use serde_json::Value;
use solas_core::Survey;
use solas_store::main_db::annotations::AnnotationStore;
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::main_db::MainDatabase;
use solas_testdata as data;

/// fink-science's knscore of each shared ZTF alert (candid → score), as recorded by
/// tools/models/fink_reference.py.
fn fink_scores() -> Vec<(i64, String, f64)> {
    let text = include_str!("../../../solas-classify/tests/data/fink_reference_ztf.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["candid"].as_i64().unwrap(),
                r["objectId"].as_str().unwrap().to_string(),
                r["knscore"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_kilonova_model_scores_alerts_as_fink_and_filters_see_its_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let (url, bodies) = common::webhook_server();
    let mut store = FilterStore::open(&db).unwrap();
    store
        .add(&StoredFilter {
            id: 0,
            owner: 7,
            name: "kn".into(),
            description: String::new(),
            selected: "objects.objectId, kilonova.classification, kilonova.version".into(),
            tables: "objects, annotator:kilonova".into(),
            conditions: "json_extract(kilonova.classdict, '$.probability') > 0.3".into(),
            survey: "ztf".into(),
            public: false,
            active: "alerts".into(),
            output: "webhook".into(),
            topic: solas_delivery::topic_name(7, "kn"),
            email: None,
            webhook_url: Some(url),
            byte_quota: -1,
        })
        .unwrap();
    let files = data::shared_glob("ztf/alerts/*/*.avro");
    let mut config = common::config(tmp.path(), common::files(&files));
    // One batch: the filter runs once, after every score is in.
    config.filter_batch = 100_000;
    config.filter_idle = Duration::from_secs(10);
    config.filter_max_age = Duration::from_secs(120);
    let summary = common::run(config);
    assert_eq!(summary.batches, 1);

    let expected: Vec<_> = fink_scores().into_iter().filter(|s| s.2 > 0.0).collect();
    assert_eq!(summary.model_scores, expected.len() as u64, "{expected:?}");
    assert_eq!(summary.model_skipped, 0);
    let mut notes = AnnotationStore::open(&db).unwrap();
    assert_eq!(notes.annotator("kilonova").unwrap().unwrap().owner, 0);
    for (candid, object, p) in &expected {
        let history = notes.history(Survey::Ztf, object, 100).unwrap();
        let entry = history
            .iter()
            .find(|h| h.alert_id == Some(*candid))
            .unwrap_or_else(|| panic!("no score of alert {candid}: {history:?}"));
        let stored: Value = serde_json::from_str(&entry.classdict).unwrap();
        let ours = stored["probability"].as_f64().unwrap();
        assert!((ours - p).abs() <= 1e-6, "{candid}: Solas {ours}, fink {p}");
        assert_eq!(stored["features"].as_object().unwrap().len(), 10);
        assert!(entry.version.contains("kndetect"));
    }
    // ZTF21abiuvdk: three alerts scored; its annotation is the newest alert's.
    let history = notes.history(Survey::Ztf, "ZTF21abiuvdk", 100).unwrap();
    assert_eq!(history.len(), 3);
    let newest = history
        .iter()
        .max_by(|a, b| a.mjd.unwrap().total_cmp(&b.mjd.unwrap()))
        .unwrap();
    let now = notes
        .get(Survey::Ztf, "ZTF21abiuvdk", "kilonova")
        .unwrap()
        .unwrap();
    assert_eq!(now.classdict, newest.classdict);

    // The filter ran on the batch and saw the annotations of that batch.
    let posts: Vec<Value> = bodies.try_iter().collect();
    let records: Vec<&Value> = posts
        .iter()
        .flat_map(|p| p["records"].as_array().unwrap())
        .collect();
    let mut newest_p = |object: &str| {
        let h = notes.history(Survey::Ztf, object, 100).unwrap();
        let n = h
            .iter()
            .max_by(|a, b| a.mjd.unwrap().total_cmp(&b.mjd.unwrap()))
            .unwrap();
        serde_json::from_str::<Value>(&n.classdict).unwrap()["probability"]
            .as_f64()
            .unwrap()
    };
    let mut want: Vec<&str> = expected
        .iter()
        .map(|e| e.1.as_str())
        .filter(|o| newest_p(o) > 0.3)
        .collect();
    want.sort();
    want.dedup();
    let mut got: Vec<&str> = records
        .iter()
        .map(|r| r["objectId"].as_str().unwrap())
        .collect();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

#[test]
fn no_models_means_no_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    let mut config = common::config(tmp.path(), common::files(&files));
    config.models = None;
    let summary = common::run(config);
    assert_eq!(summary.model_scores, 0);
    let mut notes = AnnotationStore::open(&tmp.path().join("solas.db")).unwrap();
    assert!(notes.annotator("kilonova").unwrap().is_none());
}

#[test]
fn every_rubin_alert_gets_supernnovas_score_as_fink_gives_it() {
    let tmp = tempfile::tempdir().unwrap();
    let files = data::shared_glob("lsst/real/*/*.avro");
    let summary = common::run(common::config(tmp.path(), common::files(&files)));
    // The 100 container-file alerts and the wire-format one.
    assert_eq!(summary.model_scores, summary.alerts);
    let text = include_str!("../../../solas-classify/tests/data/snn_reference_rubin.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    let conn = rusqlite::Connection::open(tmp.path().join("solas.db")).unwrap();
    for r in doc["alerts"].as_array().unwrap() {
        let id = r["diaSourceId"].as_i64().unwrap();
        let classdict: String = conn
            .query_row(
                "SELECT classdict FROM annotation_history WHERE topic = 'snn_sn' AND alert_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap_or_else(|e| panic!("no score of {id}: {e}"));
        let p = serde_json::from_str::<Value>(&classdict).unwrap()["probability"]
            .as_f64()
            .unwrap();
        let want = r["p_sn"].as_f64().unwrap();
        assert!((p - want).abs() <= 1e-4, "{id}: Solas {p}, fink {want}");
    }
}

#[test]
fn a_filter_can_join_the_classifiers_consensus() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let (url, bodies) = common::webhook_server();
    FilterStore::open(&db)
        .unwrap()
        .add(&StoredFilter {
            id: 0,
            owner: 7,
            name: "agreed".into(),
            description: String::new(),
            selected: "objects.objectId, consensus.classes, consensus.disagree".into(),
            tables: "objects, consensus".into(),
            conditions: "consensus.sources >= 1 AND consensus.disagree = 0".into(),
            survey: "ztf".into(),
            public: false,
            active: "alerts".into(),
            output: "webhook".into(),
            topic: solas_delivery::topic_name(7, "agreed"),
            email: None,
            webhook_url: Some(url),
            byte_quota: -1,
        })
        .unwrap();
    let files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    let mut config = common::config(tmp.path(), common::files(&files));
    config.filter_batch = 100_000;
    config.filter_idle = Duration::from_secs(10);
    config.filter_max_age = Duration::from_secs(120);
    let summary = common::run(config);
    assert_eq!(summary.filter_failures, 0);
    let records: Vec<Value> = bodies
        .try_iter()
        .flat_map(|p| p["records"].as_array().unwrap().clone())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["objectId"], "ZTF21abiuvdk");
    assert!(records[0]["classes"]
        .as_str()
        .unwrap()
        .starts_with("kilonova: "));
}
