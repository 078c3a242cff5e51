//! Kafka input against librdkafka's mock cluster (the real Kafka protocol on a loopback
//! port): a consumer group with auto-commit off; offsets committed only after the alerts'
//! writes; a restart resumes where the last run stopped; the result equals a file run.
#![cfg(feature = "kafka")]

use crate::common;

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use solas_pipeline::runner::Input;
use solas_pipeline::source::kafka::KafkaConfig;
use solas_testdata as data;

const TOPIC: &str = "alerts";
const PARTITIONS: i32 = 3;

fn kafka(brokers: &str, group: &str, max_messages: Option<u64>) -> Input {
    Input::Kafka(KafkaConfig {
        brokers: brokers.to_string(),
        topic: TOPIC.to_string(),
        group: group.to_string(),
        idle_exit: Some(Duration::from_secs(4)),
        max_messages,
        // The mock cluster lets a departed member's partitions go only at its session
        // timeout; a short one keeps the restart quick.
        extra: vec![
            ("session.timeout.ms".into(), "6000".into()),
            ("heartbeat.interval.ms".into(), "500".into()),
        ],
    })
}

fn committed(brokers: &str, group: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(TOPIC, p);
    }
    let offsets = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    offsets
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}

#[test]
fn consumer_group_commits_after_writes_and_resumes_after_restart() {
    let _one = common::one_at_a_time();
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, PARTITIONS, 1).unwrap();
    let brokers = mock.bootstrap_servers();

    // Real alerts in their real framings: ZTF container files, Rubin container files and
    // one Rubin alert in Confluent wire format, plus one message that is not an alert.
    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob("lsst/real/*/*.avro").into_iter().take(40));
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap();
    for (i, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).unwrap();
        let key = i.to_string();
        producer
            .send(
                BaseRecord::to(TOPIC)
                    .key(&key)
                    .payload(&bytes)
                    .partition(i as i32 % PARTITIONS),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer
        .send(
            BaseRecord::<str, [u8]>::to(TOPIC)
                .payload(b"not an alert".as_slice())
                .partition(0),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();
    let produced = files.len() as u64 + 1;

    // First run: stops after 30 messages; their offsets are committed. Rejected payloads
    // also go to a dead-letter topic.
    mock.create_topic("solas-dead-letters", 1, 1).unwrap();
    let dead_letter = Some(solas_pipeline::publish::PublishConfig {
        brokers: brokers.clone(),
        topic: "solas-dead-letters".into(),
        extra: vec![],
    });
    let store = tempfile::tempdir().unwrap();
    let mut config = common::config(store.path(), kafka(&brokers, "solas-test", Some(30)));
    config.dead_letter = dead_letter.clone();
    let stats = std::sync::Arc::new(solas_pipeline::stats::Stats::default());
    config.stats = Some(stats.clone());
    let first = common::run(config);
    assert_eq!(
        stats.kafka_lag.get(),
        produced as i64 - 30,
        "the consumer lag: what is left to read"
    );
    assert_eq!(first.payloads, 30);
    assert_eq!(
        committed(&brokers, "solas-test"),
        30,
        "exactly the processed messages are committed"
    );

    // Restart with the same group: it resumes after them and reads the rest once.
    let mut config = common::config(store.path(), kafka(&brokers, "solas-test", None));
    config.dead_letter = dead_letter.clone();
    let second = common::run(config);
    assert_eq!(
        second.payloads,
        produced - 30,
        "nothing re-read, nothing skipped"
    );
    assert_eq!(committed(&brokers, "solas-test"), produced as i64);
    assert_eq!(
        first.rejected_total() + second.rejected_total(),
        1,
        "the non-alert is set aside"
    );
    assert_eq!(first.alerts + second.alerts, files.len() as u64);
    {
        let dlq: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", "dlq-reader")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("solas-dead-letters", 0, Offset::Beginning)
            .unwrap();
        dlq.assign(&tpl).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let message = loop {
            if let Some(Ok(m)) = dlq.poll(Duration::from_millis(200)) {
                break m.detach();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nothing on the dead-letter topic"
            );
        };
        use rdkafka::message::{Headers, Message};
        assert_eq!(message.payload(), Some(&b"not an alert"[..]));
        let headers = message.headers().unwrap();
        let reason = headers
            .iter()
            .find(|h| h.key == "reason")
            .unwrap()
            .value
            .unwrap();
        assert_eq!(reason, b"unknown_framing");
        let origin = headers
            .iter()
            .find(|h| h.key == "origin")
            .unwrap()
            .value
            .unwrap();
        assert!(String::from_utf8_lossy(origin).starts_with("alerts[0]@"));
    }

    // A third run finds nothing new.
    let third = common::run(common::config(
        store.path(),
        kafka(&brokers, "solas-test", None),
    ));
    assert_eq!(third.payloads, 0);

    // What Kafka delivered is what the same files give when read directly.
    let direct = tempfile::tempdir().unwrap();
    common::run(common::config(direct.path(), common::files(&files)));
    for db in ["lightcurves.db", "solas.db"] {
        common::assert_same(
            db,
            &common::dump(&store.path().join(db)),
            &common::dump(&direct.path().join(db)),
        );
    }

    // A re-read of everything (a new group) is harmless: the same rows.
    common::run(common::config(
        store.path(),
        kafka(&brokers, "solas-replay", None),
    ));
    for db in ["lightcurves.db", "solas.db"] {
        common::assert_same(
            db,
            &common::dump(&store.path().join(db)),
            &common::dump(&direct.path().join(db)),
        );
    }
}
