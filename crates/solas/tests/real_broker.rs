//! `solas run --kafka` as separate processes against a real Kafka-protocol broker (tansu,
//! started on loopback by `scripts/kafka-broker.sh`): the alerts arrive in their real
//! framings, offsets are committed for the group, and a second process resumes where the
//! first stopped.

use std::process::{Command, Output};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::Message;
use solas_testdata as data;
use solas_testdata::servers::KafkaBroker;

fn solas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solas"))
        .args(args)
        .output()
        .unwrap()
}

fn summary_value(out: &Output, label: &str) -> u64 {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| {
            panic!(
                "no {label:?} in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    line[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn solas_processes_consume_a_real_broker_and_resume_after_restart() {
    let broker = KafkaBroker::start();
    broker.create_topic("alerts", 2);

    // ZTF21abiuvdk's 34 container files and Rubin's wire-format alert (schema id 900).
    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob(
        "lsst/real/boom_confluent_wire_v9.0/*.avro",
    ));
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .create()
        .unwrap();
    for (i, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).unwrap();
        producer
            .send(
                BaseRecord::<(), [u8]>::to("alerts")
                    .payload(&bytes)
                    .partition(i as i32 % 2),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    drop(producer);

    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let group = format!("solas-test-{}", std::process::id());
    let schema_dir = data::lsst_schema_dir();
    let address = broker.address();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "-q",
            "--kafka",
            &address,
            "--topic",
            "alerts",
            "--group",
            &group,
            "--idle-exit",
            "5",
            "--schema-dir",
            schema_dir.to_str().unwrap(),
            "--data",
            data_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = solas(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };

    // A user's filter with Kafka output: its topic is on the same broker.
    broker.create_topic("solas_5_one-object", 1);
    let add = solas(&[
        "filter",
        "add",
        "--data",
        data_dir.to_str().unwrap(),
        "--owner",
        "5",
        "--name",
        "one-object",
        "--survey",
        "ztf",
        "--output",
        "kafka",
        "--selected",
        "objects.objectId, objects.ncand",
        "--conditions",
        r#"objects.objectId = "ZTF21abiuvdk""#,
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );

    let first = run(&["--max-messages", "20"]);
    assert_eq!(summary_value(&first, "payloads read:"), 20);
    let second = run(&[]);
    assert_eq!(
        summary_value(&second, "payloads read:"),
        files.len() as u64 - 20,
        "the second process resumes after the first one's committed offsets"
    );
    assert_eq!(
        summary_value(&first, "rejected:") + summary_value(&second, "rejected:"),
        0
    );

    let out = solas(&[
        "object",
        "ZTF21abiuvdk",
        "--store",
        "--data",
        data_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["lightcurve"]["detections"].as_array().unwrap().len(),
        34
    );
    let out = solas(&[
        "object",
        "7912941781254298",
        "--data",
        data_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "the wire-format Rubin alert was decoded by schema id"
    );

    // Any Kafka client reads the filter's records: one per batch holding the object.
    let delivered = summary_value(&first, "delivered:") + summary_value(&second, "delivered:");
    assert!(delivered >= 2, "both processes delivered");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("group.id", format!("reader-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["solas_5_one-object"]).unwrap();
    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (records.len() as u64) < delivered && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            assert_eq!(m.key(), Some(&b"ZTF21abiuvdk"[..]));
            records
                .push(serde_json::from_slice::<serde_json::Value>(m.payload().unwrap()).unwrap());
        }
    }
    assert_eq!(records.len() as u64, delivered);
    let ncand: Vec<i64> = records
        .iter()
        .map(|r| r["ncand"].as_i64().unwrap())
        .collect();
    assert!(ncand.iter().all(|&n| (1..=34).contains(&n)), "{ncand:?}");
    assert_eq!(
        *ncand.iter().max().unwrap(),
        34,
        "the last batch saw every detection"
    );
}
