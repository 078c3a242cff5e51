//! The Kafka sink against librdkafka's in-process mock cluster, read back by an ordinary
//! rdkafka consumer: what a user's Kafka client would see on the filter's topic.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use solas_delivery::{
    DeliveryError, FilterTarget, KafkaConfig, KafkaSink, OutputMode, Record, Sink,
};

fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_323_045) // 2026-01-02 03:04:05
}

fn record(v: Value) -> Record {
    Record(v.as_object().unwrap().clone())
}

/// Everything on partition 0 of `topic`, as (key, JSON).
fn consume(bootstrap: &str, topic: &str, want: usize) -> Vec<(String, Value)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "delivery-test")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < want && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap();
            let body: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
            out.push((key, body));
        }
    }
    out
}

#[test]
fn records_reach_the_filters_topic_and_any_consumer_reads_them() {
    let cluster = MockCluster::new(1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let plain = FilterTarget::new(1, 42, "bright SNe!", OutputMode::Kafka);
    let lite = FilterTarget::new(2, 42, "with lightcurve", OutputMode::KafkaLite);
    assert_eq!(plain.topic, "solas_42_brightSNe");
    cluster.create_topic(&plain.topic, 1, 1).unwrap();
    cluster.create_topic(&lite.topic, 1, 1).unwrap();

    let mut sink = KafkaSink::new(&KafkaConfig::new(&bootstrap))
        .unwrap()
        .with_clock(fixed_now);
    let rows = vec![
        record(json!({"diaObjectId": 169298432598474793_i64, "mag": 18.25, "class": "SN"})),
        record(json!({"diaObjectId": 9_223_372_036_854_775_807_i64, "mag": null, "class": "AGN"})),
        record(json!({"diaObjectId": 3, "mag": 21.0, "class": "VS"})),
    ];
    let report = sink.deliver(&plain, &rows).unwrap();
    assert_eq!(report.delivered, 3);
    assert_eq!(report.rejected_quota, 0);

    // The lite lightcurve as the filter stage builds it.
    let alert = json!({
        "diaSourcesList": [
            {"psfFlux": 1234.5, "psfFluxErr": 12.5, "midpointMjdTai": 60676.125, "band": "r",
             "reliability": 0.97},
            {"psfFlux": 1500.0, "psfFluxErr": 11.0, "midpointMjdTai": 60677.5, "band": "g",
             "reliability": 0.99}],
        "diaForcedSourcesList": [
            {"psfFlux": 100.0, "psfFluxErr": 10.0, "midpointMjdTai": 60670.0, "band": "r"}]
    });
    let mut with_alert = rows[0].clone();
    with_alert.0.insert("alert".into(), alert);
    assert_eq!(sink.deliver(&lite, &[with_alert]).unwrap().delivered, 1);

    let got = consume(&bootstrap, &plain.topic, 3);
    assert_eq!(got.len(), 3);
    let total: usize = got.iter().map(|(_, v)| v.to_string().len()).sum();
    assert_eq!(report.bytes as usize, total, "bytes counted as sent");
    assert_eq!(got[0].0, "169298432598474793");
    assert_eq!(got[0].1["diaObjectId"].as_i64(), Some(169298432598474793));
    assert!(
        got[0].1["diaObjectId"].is_i64(),
        "ids are integers, not floats"
    );
    assert_eq!(got[0].1["UTC"], "2026-01-02 03:04:05");
    assert_eq!(got[0].1["mag"], 18.25);
    assert_eq!(got[1].0, "9223372036854775807");
    assert_eq!(got[1].1["diaObjectId"].as_i64(), Some(i64::MAX));
    assert!(got[1].1["mag"].is_null());
    assert_eq!(got[2].1["class"], "VS");
    for (_, v) in &got {
        let utc = v["UTC"].as_str().unwrap();
        assert_eq!(utc.len(), 19);
        assert_eq!(&utc[4..5], "-");
        assert_eq!(&utc[10..11], " ");
        assert!(v.get("alert").is_none());
    }

    let got = consume(&bootstrap, &lite.topic, 1);
    assert_eq!(got.len(), 1);
    let a = &got[0].1["alert"];
    assert_eq!(got[0].1["diaObjectId"].as_i64(), Some(169298432598474793));
    let srcs = a["diaSourcesList"].as_array().unwrap();
    assert_eq!(srcs.len(), 2);
    let mut keys: Vec<&str> = srcs[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "band",
            "midpointMjdTai",
            "psfFlux",
            "psfFluxErr",
            "reliability"
        ]
    );
    assert_eq!(srcs[0]["psfFlux"], 1234.5);
    let forced = a["diaForcedSourcesList"].as_array().unwrap();
    assert_eq!(forced.len(), 1);
    assert_eq!(forced[0].as_object().unwrap().len(), 4);
}

/// Brokers that do not answer are an outage (the pipeline waits for them), not a fault of
/// the filter to report to its owner, and never a panic.
#[test]
fn unreachable_broker_is_an_outage_not_a_panic() {
    let mut config = KafkaConfig::new("127.0.0.1:1");
    config.flush_timeout = Duration::from_secs(2);
    let mut sink = KafkaSink::new(&config).unwrap();
    let target = FilterTarget::new(9, 1, "nowhere", OutputMode::Kafka);
    let rows = vec![record(json!({"diaObjectId": 1}))];
    let err = sink.deliver(&target, &rows).unwrap_err();
    match &err {
        DeliveryError::Unavailable { filter_id, .. } => assert_eq!(*filter_id, 9),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.kind(), solas_store::ErrorKind::Transient);
    assert!(err.to_string().contains("solas_1_nowhere"), "{err}");
    // Nothing delivered is left behind to be sent later; an empty delivery is fine.
    assert_eq!(sink.deliver(&target, &[]).unwrap().delivered, 0);
}

#[test]
fn bad_producer_settings_are_reported() {
    let mut config = KafkaConfig::new("127.0.0.1:1");
    config.extra.push(("no.such.property".into(), "x".into()));
    let err = KafkaSink::new(&config).err().expect("refused");
    assert!(err.to_string().contains("no.such.property"), "{err}");
}

/// Found deploying the scale-out: after a worker was killed, two records reached a filter's
/// topic twice (at-least-once delivery). Each record carries a stable id in the
/// `solas-record-id` header, the same for a repeat, so consumers can drop repeats.
#[test]
fn a_repeated_record_carries_the_same_record_id() {
    use rdkafka::message::Headers;
    let cluster = MockCluster::new(1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let target = FilterTarget::new(7, 42, "repeats", OutputMode::Kafka);
    cluster.create_topic(&target.topic, 1, 1).unwrap();
    let rows = vec![
        record(json!({"objectId": "ZTF21abiuvdk", "ncand": 34})),
        record(json!({"objectId": "ZTF21abvawaj", "ncand": 3})),
    ];
    // Sent, then sent again later (the alerts re-read after a crash).
    let mut sink = KafkaSink::new(&KafkaConfig::new(&bootstrap)).unwrap();
    sink.deliver(&target, &rows).unwrap();
    let mut later = KafkaSink::new(&KafkaConfig::new(&bootstrap))
        .unwrap()
        .with_clock(fixed_now);
    later.deliver(&target, &rows).unwrap();

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "record-id-test")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&target.topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ids.len() < 4 && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let id = m
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == "solas-record-id"))
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .expect("every record has an id");
            ids.push(id);
        }
    }
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[0], ids[2], "a repeat has the same id");
    assert_eq!(ids[1], ids[3]);
    assert_ne!(ids[0], ids[1], "other rows have other ids");
}
