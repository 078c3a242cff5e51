//! Another broker's classification stream, followed on Kafka (librdkafka's mock cluster),
//! becomes one annotator's annotations: JSON messages and a real Avro alert payload, bad
//! records skipped and counted, offsets committed so a second follower reads nothing again.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use solas_core::Survey;
use solas_pipeline::classifications::{follow, FollowConfig, Mapping};
use solas_store::main_db::annotations::{AnnotationStore, Annotator};
use solas_store::main_db::MainDatabase;
use solas_testdata as data;

#[test]
fn a_brokers_stream_becomes_annotations() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("fink_early_sn", 1, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let ztf = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    let payloads: Vec<Vec<u8>> = vec![
        br#"{"objectId": "ZTF21abiuvdk", "class": "Early SN Ia candidate", "rf_snia_vs_nonia": 0.83, "fink_version": "3.1"}"#.to_vec(),
        br#"[{"objectId": "ZTF20aajcdad", "class": "Ambiguous", "fink_version": "3.1"},
             {"objectId": "not a ztf name", "class": "Ambiguous"}]"#.to_vec(),
        b"garbage that is neither JSON nor Avro".to_vec(),
        // An Avro container: the mapping reads its fields the same way.
        std::fs::read(&ztf[0]).unwrap(),
    ];
    for p in &payloads {
        producer
            .send(BaseRecord::<(), [u8]>::to("fink_early_sn").payload(p))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let mut store = AnnotationStore::open(&db).unwrap();
    store
        .add_annotator(&Annotator {
            topic: "fink".into(),
            owner: 11,
            description: "Fink early SN Ia".into(),
            url: String::new(),
            active: true,
            public: true,
        })
        .unwrap();
    let mapping = Mapping {
        annotator: "fink".into(),
        survey: Survey::Ztf,
        object_field: "objectId".into(),
        // The Avro alert has no `class`; its real-bogus score stands in, read by path.
        class_field: "class".into(),
        version_field: Some("fink_version".into()),
        explanation_field: None,
        classdict_field: None,
        url_template: Some("https://fink-portal.org/{id}".into()),
    };
    let config = FollowConfig {
        brokers: bootstrap.clone(),
        topic: "fink_early_sn".into(),
        group: "solas-fink".into(),
        idle_exit: Some(Duration::from_secs(3)),
        max_messages: None,
        // The mock cluster holds a rejoining group for a session timeout.
        extra: vec![("session.timeout.ms".into(), "6000".into())],
    };
    let decoder = solas_decode::Decoder::new();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let summary = follow(
        &config,
        &mapping,
        &solas_store::db::Target::Sqlite(db.clone()),
        &decoder,
        &stop,
    )
    .unwrap();
    assert_eq!(summary.messages, 4);
    assert_eq!(summary.annotations, 2);
    // The bad name, the garbage, and the Avro alert (no `class` field).
    assert_eq!(summary.skipped, 3);
    let a = store
        .get(Survey::Ztf, "ZTF21abiuvdk", "fink")
        .unwrap()
        .unwrap();
    assert_eq!(a.classification, "Early SN Ia candidate");
    assert_eq!(a.version, "3.1");
    assert_eq!(a.url, "https://fink-portal.org/ZTF21abiuvdk");
    let classdict: serde_json::Value = serde_json::from_str(&a.classdict).unwrap();
    assert_eq!(classdict["rf_snia_vs_nonia"], 0.83);
    assert_eq!(
        store.events_after(0, 100).unwrap().len(),
        2,
        "filters will be re-run"
    );

    // The Avro payload maps once the class is taken from a field it has.
    let mut avro = mapping.clone();
    avro.class_field = "candidate.rb".into();
    let records = solas_pipeline::classifications::records(&payloads[3], &decoder).unwrap();
    let from_avro =
        solas_pipeline::classifications::to_annotation(records[0].as_ref().unwrap(), &avro)
            .unwrap();
    assert_eq!(from_avro.object, "ZTF21abiuvdk");
    assert!(from_avro.classification.parse::<f64>().is_ok());

    // Offsets were committed: the same group reads nothing again.
    let again = follow(
        &config,
        &mapping,
        &solas_store::db::Target::Sqlite(db.clone()),
        &decoder,
        &stop,
    )
    .unwrap();
    assert_eq!(again.messages, 0);
}
