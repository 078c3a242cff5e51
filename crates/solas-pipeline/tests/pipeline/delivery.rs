//! What users receive: filter results from a real pipeline run delivered to Kafka topics
//! (plain, lite lightcurve, full alert; read back with a plain librdkafka consumer), to a
//! webhook and to the email digest queue; the byte quota; failures, timeouts and quota stops
//! reported to the owner; filters re-run when an annotator they name annotates an object.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;
use solas_pipeline::delivery::{DeliveryConfig, DeliveryStage, DeliveryWork};
use solas_pipeline::filter::user_filters::{DbFilterEngine, FilterEngine, FilterFailure};
use solas_pipeline::stage::Stage;
use solas_store::main_db::annotations::{Annotation, AnnotationStore, Annotator};
use solas_store::main_db::filter_runs::BatchObjects;
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::main_db::MainDatabase;
use solas_testdata as data;

fn filter(
    name: &str,
    survey: &str,
    selected: &str,
    conditions: &str,
    output: &str,
) -> StoredFilter {
    StoredFilter {
        id: 0,
        owner: 7,
        name: name.into(),
        description: String::new(),
        selected: selected.into(),
        tables: "objects".into(),
        conditions: conditions.into(),
        survey: survey.into(),
        public: false,
        active: "alerts".into(),
        output: output.into(),
        topic: solas_delivery::topic_name(7, name),
        email: None,
        webhook_url: None,
        byte_quota: -1,
    }
}

/// Records on a topic: exactly `want` when given (failing on any extra one), else all that
/// arrive until the topic has been quiet for a second.
fn consume(bootstrap: &str, topic: &str, want: Option<usize>) -> Vec<(String, Value)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("reader-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = Instant::now();
    while out.len() < want.unwrap_or(usize::MAX) && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap();
                let value: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
                out.push((key, value));
                last = Instant::now();
            }
            _ if want.is_none() && !out.is_empty() && last.elapsed() > Duration::from_secs(1) => {
                break
            }
            _ => {}
        }
    }
    if want.is_some() {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            panic!(
                "unexpected extra record on {topic}: {:?}",
                m.payload_view::<str>()
            );
        }
    }
    out
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn results_reach_kafka_webhook_and_email_within_quota_and_failures_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let mut store = FilterStore::open(&db).unwrap();
    let cluster = MockCluster::new(1).unwrap();
    let bootstrap = cluster.bootstrap_servers();

    let plain = filter(
        "rubin plain",
        "lsst",
        "objects.diaObjectId, objects.nDiaSources",
        "objects.nDiaSources >= 1",
        "kafka",
    );
    let lite = filter(
        "rubin lite",
        "lsst",
        "objects.diaObjectId",
        "objects.nDiaSources >= 1",
        "kafka-lite",
    );
    let full = filter(
        "ztf full",
        "ztf",
        "objects.objectId, objects.gmag",
        "objects.gmag < 18",
        "kafka-full",
    );
    let (url, bodies) = common::webhook_server();
    let mut hook = filter(
        "hook",
        "ztf",
        "objects.objectId",
        "objects.gmag < 18",
        "webhook",
    );
    hook.webhook_url = Some(url);
    let mut email = filter(
        "mail",
        "ztf",
        "objects.objectId",
        "objects.gmag < 18",
        "email",
    );
    email.email = Some("astronomer@example.org".into());
    let mut quota = filter(
        "small quota",
        "lsst",
        "objects.diaObjectId",
        "objects.nDiaSources >= 1",
        "kafka",
    );
    quota.byte_quota = 150;
    // Stored directly, bypassing the check: it names a column that does not exist.
    let broken = filter(
        "broken",
        "lsst",
        "objects.diaObjectId",
        "objects.nosuch > 1",
        "kafka",
    );
    for f in [&plain, &lite, &full, &hook, &email, &quota, &broken] {
        cluster.create_topic(&f.topic, 1, 1).unwrap();
        store.add(f).unwrap();
    }

    let mut config = common::config(tmp.path(), common::files(&data::real_alert_files()));
    // One batch, so each object is delivered once per filter.
    config.filter_batch = 100_000;
    config.filter_idle = Duration::from_secs(10);
    config.filter_max_age = Duration::from_secs(120);
    config.delivery = DeliveryConfig {
        kafka: Some(solas_delivery::KafkaConfig::new(&bootstrap)),
        ..Default::default()
    };
    let summary = common::run(config);
    assert_eq!(summary.batches, 1);

    let lsst = count(&db, "SELECT COUNT(*) FROM objects WHERE nDiaSources >= 1") as usize;
    let bright = count(&db, "SELECT COUNT(*) FROM ztf_objects WHERE gmag < 18") as usize;
    assert!(lsst > 50 && bright > 5, "{lsst} {bright}");

    // Plain: one record per row, keyed by the object, ids as exact integers.
    let got = consume(&bootstrap, &plain.topic, Some(lsst));
    assert_eq!(got.len(), lsst);
    for (key, v) in &got {
        let id = v["diaObjectId"].as_i64().expect("integer id");
        assert_eq!(key, &id.to_string());
        let n = count(
            &db,
            &format!("SELECT nDiaSources FROM objects WHERE diaObjectId = {id}"),
        );
        assert_eq!(v["nDiaSources"].as_i64(), Some(n));
        assert_eq!(v["UTC"].as_str().unwrap().len(), 19);
        assert!(v.get("alert").is_none());
    }
    // Lite: each record carries the object's lightcurve from its alert.
    let got = consume(&bootstrap, &lite.topic, Some(lsst));
    assert_eq!(got.len(), lsst);
    for (_, v) in &got {
        let sources = v["alert"]["diaSourcesList"]
            .as_array()
            .expect("lite lightcurve");
        assert!(!sources.is_empty());
        for s in sources {
            assert!(s["midpointMjdTai"].as_f64().unwrap() > 60_000.0);
            assert!(s["band"].as_str().unwrap().len() == 1);
        }
    }
    // Full: the whole cutout-free alert of the object.
    let got = consume(&bootstrap, &full.topic, Some(bright));
    assert_eq!(got.len(), bright);
    for (key, v) in &got {
        assert_eq!(v["objectId"].as_str(), Some(key.as_str()));
        assert_eq!(v["alert"]["object"]["name"].as_str(), Some(key.as_str()));
        assert!(v["alert"].get("cutouts").is_none());
        assert!(!v["alert"]["detections"].as_array().unwrap().is_empty());
    }
    // Webhook: one POST with every row.
    let posts: Vec<Value> = bodies.try_iter().collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["records"].as_array().unwrap().len(), bright);
    // Email: the rows wait in the digest queue for `solas digest`.
    let email_id = store
        .list()
        .unwrap()
        .iter()
        .find(|f| f.name == "mail")
        .unwrap()
        .id;
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM email_queue WHERE filter_id = {email_id}")
        ),
        bright as i64
    );
    // Quota: a record goes while the day's bytes are under the quota, then no more.
    let got = consume(&bootstrap, &quota.topic, None);
    assert!(
        !got.is_empty() && got.len() < lsst,
        "{} of {lsst}",
        got.len()
    );
    assert_eq!(summary.quota_rejected as usize, lsst - got.len());
    // The owner hears about the quota stop and the broken filter; nobody else's is affected.
    let reports = store.reports(Some(7)).unwrap();
    let names: std::collections::HashMap<i64, String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let kinds: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r.kind.as_str(), names[&r.filter_id].as_str()))
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(kinds.contains(&("quota", "small quota")), "{reports:?}");
    assert!(kinds.contains(&("failed", "broken")), "{reports:?}");
    assert!(store.reports(Some(8)).unwrap().is_empty());
    // Each filter keeps its latest results for its web page: at most 100.
    let plain_id = store
        .list()
        .unwrap()
        .iter()
        .find(|f| f.name == "rubin plain")
        .unwrap()
        .id;
    let recent = store.recent_outputs(plain_id, 500).unwrap();
    assert_eq!(recent.len(), lsst.min(100));
    for (_, json) in &recent {
        let v: Value = serde_json::from_str(json).unwrap();
        assert!(v["diaObjectId"].is_i64(), "{json}");
    }
    assert_eq!(summary.delivery_failures, 0);
}

/// The filters' Kafka brokers go down mid-run for longer than the delivery's flush window:
/// the delivery waits for them (nothing reported to the owner as failed, nothing
/// acknowledged meanwhile) and once they are back every object's results reach the topic.
/// Before, each batch's records were reported failed and dropped.
#[test]
fn filter_results_wait_out_an_outage_of_the_kafka_brokers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let mut store = FilterStore::open(&db).unwrap();
    let cluster = MockCluster::new(1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let plain = filter(
        "every rubin object",
        "lsst",
        "objects.diaObjectId",
        "objects.nDiaSources >= 1",
        "kafka",
    );
    cluster.create_topic(&plain.topic, 1, 1).unwrap();
    store.add(&plain).unwrap();

    // The alerts arrive at 60 a second, so the run is still going when the brokers go.
    let payloads: Vec<(String, Vec<u8>)> = data::real_alert_files()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    let input = solas_pipeline::runner::Input::Memory(
        solas_pipeline::source::memory::MemorySource::once(payloads, Some(60.0)),
    );
    let mut config = common::config(tmp.path(), input);
    let mut kafka = solas_delivery::KafkaConfig::new(&bootstrap);
    kafka.flush_timeout = Duration::from_secs(1);
    config.delivery = DeliveryConfig {
        kafka: Some(kafka),
        ..Default::default()
    };
    config.retry_max_backoff = Duration::from_millis(200);
    let stats = std::sync::Arc::new(solas_pipeline::stats::Stats::default());
    config.stats = Some(stats.clone());
    let run = std::thread::spawn(move || common::run(config));
    let until = Instant::now() + Duration::from_secs(60);
    while solas_pipeline::stats::Stats::get(&stats.delivered) == 0 {
        assert!(Instant::now() < until, "nothing delivered");
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.broker_down(1).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    cluster.broker_up(1).unwrap();
    let summary = run.join().unwrap();

    assert!(
        solas_pipeline::stats::Stats::get(&stats.store_retries) > 0,
        "the outage was seen and waited out"
    );
    assert_eq!(summary.delivery_failures, 0);
    assert!(
        store.reports(Some(7)).unwrap().is_empty(),
        "no owner told of a failure"
    );
    let lsst = count(&db, "SELECT COUNT(*) FROM objects WHERE nDiaSources >= 1") as usize;
    let keys: std::collections::BTreeSet<String> = consume(&bootstrap, &plain.topic, None)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys.len(), lsst, "every object's results on the topic");
}

#[test]
fn a_filter_past_its_time_limit_is_stopped_and_reported_and_the_others_still_run() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    // 300,000 objects, all in the batch: sorting them all is slow; a key lookup is not.
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare("INSERT INTO objects (diaObjectId, nDiaSources, ra, decl) VALUES (?1, ?2, ?3, ?4)")
                .unwrap();
            for i in 1..=300_000i64 {
                stmt.execute(rusqlite::params![i, i % 7, (i % 3600) as f64 / 10.0, 0.0])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let mut store = FilterStore::open(&db).unwrap();
    let slow_id = store
        .add(&filter(
            "slow",
            "lsst",
            "objects.diaObjectId, objects.ra",
            "objects.nDiaSources >= 0 ORDER BY objects.ra * objects.nDiaSources DESC, objects.diaObjectId",
            "none",
        ))
        .unwrap();
    let fast_id = store
        .add(&filter(
            "fast",
            "lsst",
            "objects.diaObjectId",
            "objects.diaObjectId = 4242",
            "none",
        ))
        .unwrap();

    let mut engine = DbFilterEngine::open(&db).unwrap();
    engine.time_limit = Duration::from_millis(20);
    let batch = BatchObjects {
        lsst: (1..=300_000).collect(),
        ztf: vec![],
    };
    let outcomes = engine.run_batch(&batch).unwrap();
    assert_eq!(outcomes.len(), 2);
    let slow = outcomes.iter().find(|o| o.filter.id == slow_id).unwrap();
    let fast = outcomes.iter().find(|o| o.filter.id == fast_id).unwrap();
    assert!(
        matches!(slow.result, Err(FilterFailure::Timeout(_))),
        "{:?}",
        slow.result
    );
    assert!(
        slow.elapsed < Duration::from_millis(1000),
        "stopped promptly, not after running to the end: {:?}",
        slow.elapsed
    );
    let rows = fast.result.as_ref().expect("the fast filter still runs");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["diaObjectId"].as_i64(), Some(4242));

    // The delivery stage tells the slow filter's owner.
    let stage = DeliveryStage {
        sink: solas_pipeline::delivery::build_sink(
            &solas_store::db::Target::Sqlite(db.clone()),
            &DeliveryConfig::default(),
        )
        .unwrap(),
        reports: FilterStore::open(&db).unwrap(),
        stats: Default::default(),
        retry: std::sync::Arc::new(solas_pipeline::retry::Retrier::new(
            Default::default(),
            Default::default(),
        )),
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    let (ack_tx, _ack_rx) = crossbeam_channel::unbounded();
    tx.send(DeliveryWork {
        outcomes,
        ..Default::default()
    })
    .unwrap();
    drop(tx);
    stage
        .run(rx, solas_pipeline::stage::Output::terminal(ack_tx))
        .unwrap();
    let reports = store.reports(Some(7)).unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].filter_id, slow_id);
    assert_eq!(reports[0].kind, "timeout");
    assert!(
        reports[0].message.contains("20ms"),
        "{}",
        reports[0].message
    );
}

#[test]
fn an_annotation_reruns_the_filters_that_name_its_annotator() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let mut annotations = AnnotationStore::open(&db).unwrap();
    annotations
        .add_annotator(&Annotator {
            topic: "Fink".into(),
            owner: 3,
            description: "Fink classes".into(),
            url: String::new(),
            active: true,
            public: true,
        })
        .unwrap();
    let mut store = FilterStore::open(&db).unwrap();
    let (url, bodies) = common::webhook_server();
    let mut on_kn = filter(
        "kilonovae",
        "lsst",
        "objects.diaObjectId, fink.classification",
        r#"fink.classification = "KN""#,
        "webhook",
    );
    on_kn.tables = "objects, annotator:fink".into();
    on_kn.active = "annotations".into();
    on_kn.webhook_url = Some(url);
    store.add(&on_kn).unwrap();

    // First run: alerts arrive, nothing is annotated, the filter (annotations only) is quiet.
    let files = data::real_alert_files();
    let summary = common::run(common::config(tmp.path(), common::files(&files)));
    assert_eq!(summary.filter_runs, 0);
    assert!(bodies.try_recv().is_err());

    // Fink annotates two stored Rubin objects: one KN, one SN.
    let ids: Vec<i64> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn
            .prepare("SELECT diaObjectId FROM objects ORDER BY diaObjectId LIMIT 2")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for (id, class) in [(ids[0], "KN"), (ids[1], "SN")] {
        annotations
            .annotate(
                3,
                &Annotation {
                    survey: solas_core::Survey::Lsst,
                    object: id.to_string(),
                    topic: "fink".into(),
                    version: "1".into(),
                    classification: class.into(),
                    explanation: String::new(),
                    classdict: "{}".into(),
                    url: String::new(),
                },
            )
            .unwrap();
    }

    // Second run (the same files again, so nothing new): the annotations trigger the filter.
    let summary = common::run(common::config(tmp.path(), common::files(&files[..1])));
    assert_eq!(summary.annotation_runs, 1, "one run, for the fink topic");
    let posts: Vec<Value> = bodies.try_iter().collect();
    assert_eq!(posts.len(), 1);
    let records = posts[0]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "only the KN object: {records:?}");
    assert_eq!(records[0]["diaObjectId"].as_i64(), Some(ids[0]));
    assert_eq!(records[0]["classification"], "KN");

    // A third run has nothing new to react to.
    let summary = common::run(common::config(tmp.path(), common::files(&files[..1])));
    assert_eq!(summary.annotation_runs, 0);
}

/// A filter publishing GCN notices: one per object of the batch, each valid against the
/// published schema for optical alerts (`boom/alert.schema.json` of gcn-schema 7.2.3,
/// checked by Python's jsonschema), with the object's photometry, SuperNNova's probability
/// and the gravitational-wave event whose skymap holds it.
#[test]
fn gcn_notices_follow_the_published_schema_and_name_the_gw_event() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let mut store = FilterStore::open(&db).unwrap();
    let cluster = MockCluster::new(1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let gcn = filter(
        "gw coincidences",
        "lsst",
        "objects.diaObjectId",
        "objects.nDiaSources >= 1",
        "kafka-gcn",
    );
    cluster.create_topic(&gcn.topic, 1, 1).unwrap();
    store.add(&gcn).unwrap();
    // One object lies in a GW event's skymap: the hit as the watch step writes it (the
    // event is dated long before the alerts, so the run itself adds none).
    std::fs::create_dir_all(tmp.path().join("skymaps")).unwrap();
    std::fs::copy(
        data::shared().join("moc/GW190814_LALInference.v1.fits.gz"),
        tmp.path().join("skymaps/1.fits"),
    )
    .unwrap();
    let files = data::real_alert_files();
    let decoder = solas_decode::Decoder::new();
    let first = files
        .iter()
        .flat_map(|f| {
            decoder
                .decode(&std::fs::read(f).unwrap())
                .map(|d| d.records)
                .unwrap_or_default()
        })
        .filter_map(|(_, a)| a.ok())
        // A Rubin DIA object (not a solar-system source, not ZTF).
        .find(|a| matches!(a.survey_object, solas_core::SurveyObject::Lsst(Some(_))))
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO mma_areas (name, event_mjd, window_days, skymap_path, area10, area50, area90)
         VALUES ('S250206dm', 50000.0, 14.0, 'skymaps/1.fits', 1.0, 5.0, 20.0)",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO mma_area_hits (diaObjectId, mw_id, contour, probdens2) VALUES (?1, 1, 50.0, 3.0)",
        [first.object.id],
    )
    .unwrap();

    let mut config = common::config(tmp.path(), common::files(&files));
    config.filter_batch = 100_000;
    config.filter_idle = Duration::from_secs(10);
    config.filter_max_age = Duration::from_secs(120);
    config.delivery = DeliveryConfig {
        kafka: Some(solas_delivery::KafkaConfig::new(&bootstrap)),
        ..Default::default()
    };
    let summary = common::run(config);
    assert_eq!(summary.batches, 1);
    let objects = count(&db, "SELECT COUNT(*) FROM objects WHERE nDiaSources >= 1") as usize;
    let got = consume(&bootstrap, &gcn.topic, Some(objects));
    assert_eq!(got.len(), objects, "one notice per object");

    let docs: Vec<String> = got.iter().map(|(_, v)| v.to_string()).collect();
    let verdicts = data::validate_gcn_notices(solas_delivery::gcn::SCHEMA, &docs);
    assert_eq!(verdicts.len(), docs.len());
    for (verdict, doc) in verdicts.iter().zip(&docs) {
        assert_eq!(verdict, "ok", "{doc}");
    }
    let (mut coincident, mut with_photometry) = (0, 0);
    for (key, v) in &got {
        let target = &v["data"]["targets"][0];
        assert_eq!(target["event_name"].as_str(), Some(key.as_str()));
        assert_eq!(v["mission"], "Solas");
        assert!(v["alert_datetime"].as_str().unwrap().ends_with('Z'));
        let p = target["classification_scores"]["SN"]
            .as_f64()
            .expect("SuperNNova's P(SN)");
        assert!((0.0..=1.0).contains(&p));
        // Detections brighter than the template as magnitudes (an object seen only
        // fainter than its template has none).
        let photometry = v["data"]["photometry"].as_array().unwrap();
        with_photometry += usize::from(!photometry.is_empty());
        for point in photometry {
            assert!(point["filter"].as_str().unwrap().starts_with("lsst"));
            let start = point["observation_start"].as_str().unwrap();
            assert!(start.starts_with("20") && start.ends_with('Z'), "{start}");
            assert!(point["mag"].as_f64().is_some() || point["limiting_mag"].as_f64().is_some());
        }
        if key == &first.object.id.to_string() {
            coincident += 1;
            assert_eq!(
                target["gcn_crossmatch"],
                serde_json::json!([{"ref_type": "GW", "ref_instrument": "LVK", "ref_ID": "S250206dm"}])
            );
        } else {
            assert!(target.get("gcn_crossmatch").is_none());
        }
    }
    assert_eq!(coincident, 1);
    eprintln!("{with_photometry} of {} notices with photometry", got.len());
    assert!(
        with_photometry * 2 > got.len(),
        "{with_photometry} of {}",
        got.len()
    );
}
