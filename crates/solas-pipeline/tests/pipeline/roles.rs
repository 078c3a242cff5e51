//! The stages as separate workers joined by Kafka (librdkafka's mock cluster): two ingest
//! workers publish stored alerts to an internal topic, a context worker classifies them
//! against the repository's catalogues and publishes them on, two filter workers write the
//! objects rows and run filters. The result equals one embedded run over the same alerts:
//! the same lightcurves, objects rows and context classifications.
#![cfg(feature = "kafka")]

use crate::common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use solas_pipeline::publish::PublishConfig;
use solas_pipeline::runner::{Input, Role};
use solas_pipeline::source::kafka::KafkaConfig;
use solas_testdata as data;

fn kafka(brokers: &str, topic: &str, group: &str) -> Input {
    Input::Kafka(KafkaConfig {
        brokers: brokers.to_string(),
        topic: topic.to_string(),
        group: group.to_string(),
        // Long enough that a later stage does not stop while the one before it, slowed by
        // tests running beside it, is still between batches.
        idle_exit: Some(Duration::from_secs(10)),
        max_messages: None,
        extra: vec![
            ("session.timeout.ms".into(), "6000".into()),
            ("heartbeat.interval.ms".into(), "500".into()),
        ],
    })
}

/// Rows of the tables that hold what the broker learned, without timestamps.
fn learned(dir: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let keep = [
        "detections",
        "forced_photometry",
        "non_detections",
        "objects",
        "ztf_objects",
    ];
    let mut out = common::dump(&dir.join("lightcurves.db"));
    out.extend(common::dump(&dir.join("solas.db")));
    out.retain(|(t, _)| keep.contains(&t.as_str()));
    out
}

#[test]
fn ingest_context_and_filter_workers_over_kafka_equal_one_embedded_run() {
    let _one = common::one_at_a_time();
    // The mock cluster keeps only a few MB per partition: a subset that fits, with the one
    // object that has many alerts, so its features depend on every worker's writes.
    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob("lsst/real/*/*.avro").into_iter().take(40));
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("alerts", 3, 1).unwrap();
    cluster.create_topic("stored", 3, 1).unwrap();
    cluster.create_topic("classified", 3, 1).unwrap();
    let catalogues = tempfile::tempdir().unwrap();
    let mut store = solas_catalogue::Store::open(catalogues.path()).unwrap();
    let descriptions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogues");
    for d in std::fs::read_dir(descriptions).unwrap().flatten() {
        if d.path().extension().is_some_and(|e| e == "toml") {
            store.add(&d.path()).unwrap();
        }
    }
    drop(store);
    let brokers = cluster.bootstrap_servers();
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap();
    for (i, f) in files.iter().enumerate() {
        producer
            .send(
                BaseRecord::<(), [u8]>::to("alerts")
                    .payload(&std::fs::read(f).unwrap())
                    .partition(i as i32 % 3),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let scaled = tempfile::tempdir().unwrap();
    let publish = |topic: &str| PublishConfig {
        brokers: brokers.clone(),
        topic: topic.into(),
        extra: vec![],
    };
    let plan = [
        ("alerts", "ingest", Role::Ingest(publish("stored"))),
        ("alerts", "ingest", Role::Ingest(publish("stored"))),
        ("stored", "context", Role::Context(publish("classified"))),
        ("classified", "filter", Role::Filter),
        ("classified", "filter", Role::Filter),
    ];
    let mut workers = Vec::new();
    for (topic, group, role) in plan {
        let mut config = common::config(scaled.path(), kafka(&brokers, topic, group));
        config.role = role;
        config.catalogue_dir = Some(catalogues.path().to_path_buf());
        workers.push(std::thread::spawn(move || {
            solas_pipeline::run(config, Arc::new(AtomicBool::new(false))).expect("worker run")
        }));
    }
    let summaries: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let published: u64 = summaries[..2].iter().map(|s| s.published).sum();
    assert_eq!(
        summaries[2].published, published,
        "the context worker passed every alert on"
    );
    assert!(summaries[2].classified > 0);
    let processed: u64 = summaries[3..].iter().map(|s| s.alerts).sum();
    let rejected: u64 = summaries.iter().map(|s| s.rejected_total()).sum();
    assert_eq!(rejected, 0);
    // At least once: a rebalance may hand a partition on with alerts still in flight,
    // which its new owner reads again (the stores below show that changes nothing).
    assert!(
        processed >= published,
        "every published alert processed: {processed} of {published}"
    );
    if processed > published {
        eprintln!("{} alerts re-read after rebalances", processed - published);
    }
    assert!(published >= files.len() as u64);

    let embedded = tempfile::tempdir().unwrap();
    let mut config = common::config(embedded.path(), common::files(&files));
    config.catalogue_dir = Some(catalogues.path().to_path_buf());
    common::run(config);
    common::assert_same(
        "workers vs embedded",
        &learned(embedded.path()),
        &learned(scaled.path()),
    );
}

/// Messages on the internal topics carry a version. One from a newer Solas is set aside
/// with the reason rather than misread; one written before versions existed still reads.
#[test]
fn a_published_alert_of_a_newer_version_is_set_aside_not_misread() {
    let _one = common::one_at_a_time();
    let file = data::shared_glob("lsst/real/fink-broker_rubin_2025-09-05_v9.0/*.avro").remove(0);
    let alert = solas_decode::Decoder::new()
        .decode(&std::fs::read(&file).unwrap())
        .unwrap()
        .records
        .remove(0)
        .1
        .unwrap();
    let mut unversioned = serde_json::json!({ "alert": alert, "context": null });
    let mut newer = unversioned.clone();
    newer["version"] = 99.into();
    unversioned.as_object_mut().unwrap().remove("version");
    let payloads = vec![
        ("old".to_string(), serde_json::to_vec(&unversioned).unwrap()),
        ("newer".to_string(), serde_json::to_vec(&newer).unwrap()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(
        dir.path(),
        Input::Memory(solas_pipeline::source::memory::MemorySource::once(
            payloads, None,
        )),
    );
    config.role = Role::Process;
    let summary = common::run(config);
    assert_eq!(summary.alerts, 1, "{summary}");
    assert_eq!(
        summary.rejected.get("bad_published_alert"),
        Some(&1),
        "{summary}"
    );
    let kept = std::fs::read_dir(dir.path().join("rejected/bad_published_alert"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<Vec<_>>();
    assert!(
        kept.len() == 1 && kept[0].contains("version 99"),
        "{kept:?}"
    );
}
