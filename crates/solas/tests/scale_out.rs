//! The scale-out roles as separate `solas` processes over Kafka (librdkafka's mock cluster,
//! the real protocol on a loopback port): two `solas ingest` and two `solas process`
//! workers; one of each is killed with SIGKILL mid-stream and started again. Afterwards the
//! stores hold exactly what one embedded run over the same alerts produces: the same
//! detections, each once, and the same objects rows.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use solas_testdata as data;

const KEEP: [&str; 5] = [
    "detections",
    "forced_photometry",
    "non_detections",
    "objects",
    "ztf_objects",
];

/// The rows of the tables that hold what the broker learned, sorted, without timestamps.
fn learned(dir: &Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for file in ["lightcurves.db", "solas.db"] {
        let conn = rusqlite::Connection::open(dir.join(file)).unwrap();
        for table in KEEP {
            let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM {table}")) else {
                continue;
            };
            let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok((0..names.len())
                        .filter(|&i| names[i] != "timestamp")
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join(","))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            out.push((table.to_string(), rows));
        }
    }
    out
}

/// Objects rows written so far (0 before the database exists).
fn objects(dir: &Path) -> i64 {
    rusqlite::Connection::open(dir.join("solas.db"))
        .and_then(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM ztf_objects)",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}

/// Start a worker; its log goes to `<dir>/../logs/<role>-<n>.log`, shown when the test fails.
fn worker(role: &str, brokers: &str, topic: &str, dir: &Path) -> Child {
    let schema_dir = data::lsst_schema_dir();
    let logs = dir.with_file_name("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let n = std::fs::read_dir(&logs).unwrap().count();
    let log = std::fs::File::create(logs.join(format!("{role}-{n}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_solas"));
    cmd.env("RUST_LOG", "solas_pipeline=info,warn");
    cmd.args([
        role, "-q", "--kafka", brokers, "--topic", topic, "--group", role,
    ])
    // A worker stops once its group has committed the whole topic and nothing came for the
    // idle limit. Processing waits longer: ingest pauses while a killed member's partitions
    // wait out its session timeout.
    .args(["--idle-exit", if role == "ingest" { "8" } else { "15" }])
    .args(["--data", dir.to_str().unwrap()])
    .args(["--schema-dir", schema_dir.to_str().unwrap()])
    // A killed member's partitions move on at its session timeout: keep it short.
    .args(["--kafka-option", "session.timeout.ms=6000"])
    .args(["--kafka-option", "heartbeat.interval.ms=500"])
    .stdout(Stdio::null())
    .stderr(log);
    if role == "ingest" {
        cmd.args(["--publish-topic", "solas-stored"]);
    }
    cmd.spawn().unwrap()
}

#[test]
fn killed_workers_restart_and_the_result_equals_one_embedded_run() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("alerts", 4, 1).unwrap();
    cluster.create_topic("solas-stored", 4, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    // The mock cluster keeps only a few MB per partition: a subset that fits, with the
    // object that has many alerts.
    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob("lsst/real/*/*.avro").into_iter().take(40));
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap();
    let send = |range: std::ops::Range<usize>| {
        for i in range {
            producer
                .send(
                    BaseRecord::<(), [u8]>::to("alerts")
                        .payload(&std::fs::read(&files[i]).unwrap())
                        .partition(i as i32 % 4),
                )
                .map_err(|(e, _)| e)
                .unwrap();
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    };
    // The stream arrives in two halves, with the kills between them.
    let half = files.len() / 2;
    send(0..half);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut ingest: Vec<Child> = (0..2)
        .map(|_| worker("ingest", &brokers, "alerts", &dir))
        .collect();
    let mut process: Vec<Child> = (0..2)
        .map(|_| worker("process", &brokers, "solas-stored", &dir))
        .collect();
    // Mid-stream: once some alerts are through both stages.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while objects(&dir) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(objects(&dir) > 0, "the workers made no progress");
    ingest[0].kill().unwrap(); // SIGKILL
    process[0].kill().unwrap();
    ingest[0].wait().unwrap();
    process[0].wait().unwrap();
    ingest[0] = worker("ingest", &brokers, "alerts", &dir);
    process[0] = worker("process", &brokers, "solas-stored", &dir);
    send(half..files.len());
    for mut c in ingest.into_iter().chain(process) {
        let status = c.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
    }

    let embedded = tmp.path().join("embedded");
    let schema_dir = data::lsst_schema_dir();
    let mut args = vec![
        "run".to_string(),
        "-q".into(),
        "--data".into(),
        embedded.display().to_string(),
        "--schema-dir".into(),
        schema_dir.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = Command::new(env!("CARGO_BIN_EXE_solas"))
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success());

    let (want, got) = (learned(&embedded), learned(&dir));
    for ((table, a), (_, b)) in want.iter().zip(&got) {
        // This subset has no forced photometry; everything else must be there.
        assert!(
            !a.is_empty() || table == "forced_photometry",
            "{table} is empty"
        );
        let differ = a
            .iter()
            .zip(b)
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("\n  embedded {x}\n  workers  {y}"));
        if a.len() != b.len() || differ.is_some() {
            panic!(
                "{table}: {} rows embedded, {} by the workers{}\n{}",
                a.len(),
                b.len(),
                differ.unwrap_or_default(),
                worker_logs(&tmp.path().join("logs"))
            );
        }
    }
}

/// Every worker's log, for a failure message.
fn worker_logs(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            format!("--- {}\n{text}", f.display())
        })
        .collect()
}
