//! The scale-out roles as separate `solas` processes over Kafka (librdkafka's mock cluster,
//! the real protocol on a loopback port): three `solas ingest`, two `solas context` and two
//! `solas filter run` workers, with catalogues and a watchlist; one worker of each stage is
//! killed with SIGKILL mid-stream and started again. Afterwards the stores hold what one
//! embedded run over the same alerts produces: the same detections, each once, the same
//! objects rows, the same context classifications and the same watchlist hits, none twice.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use solas_testdata as data;

/// The tables that hold what the broker learned, and the columns compared. Left out: times
/// written, and a context row's separations and description, which come from the position
/// of whichever of the object's alerts was classified first (once per object, then cached).
/// Watchlist hits use the object's position from its whole lightcurve, so their distances
/// are compared.
const KEEP: [(&str, &[&str]); 9] = [
    ("detections", &[]),
    ("forced_photometry", &[]),
    ("non_detections", &[]),
    ("objects", &[]),
    ("ztf_objects", &[]),
    ("sherlock_classifications", SHERLOCK),
    ("ztf_sherlock_classifications", SHERLOCK),
    ("watchlist_hits", HIT),
    ("ztf_watchlist_hits", HIT),
];
const SHERLOCK: &[&str] = &[
    "diaObjectId",
    "objectId",
    "classification",
    "association_type",
    "catalogue_table_name",
    "catalogue_object_id",
    "catalogue_object_type",
    "raDeg",
    "decDeg",
    "z",
];
const HIT: &[&str] = &[
    "diaObjectId",
    "objectId",
    "wl_id",
    "cone_id",
    "name",
    "arcsec",
];

/// The rows of [`KEEP`], sorted.
fn learned(dir: &Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for file in ["lightcurves.db", "solas.db"] {
        let conn = rusqlite::Connection::open(dir.join(file)).unwrap();
        for (table, columns) in KEEP {
            let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM {table}")) else {
                continue;
            };
            let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
            let keep: Vec<usize> = (0..names.len())
                .filter(|&i| names[i] != "timestamp")
                .filter(|&i| columns.is_empty() || columns.contains(&names[i].as_str()))
                .collect();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(keep
                        .iter()
                        .map(|&i| format!("{:?}", r.get_ref(i).unwrap()))
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

/// One stage of the scale-out pipeline: its sub-command, the topic it reads and the one
/// it writes.
struct Stage {
    command: &'static [&'static str],
    topic: &'static str,
    publish: Option<&'static str>,
    /// Seconds without a message (once the group has finished the topic) before it stops.
    /// Later stages wait longer: their input pauses while a killed member upstream waits
    /// out its session timeout.
    idle: &'static str,
}

const INGEST: Stage = Stage {
    command: &["ingest"],
    topic: "alerts",
    publish: Some("solas-stored"),
    idle: "8",
};
const CONTEXT: Stage = Stage {
    command: &["context"],
    topic: "solas-stored",
    publish: Some("solas-classified"),
    idle: "16",
};
const FILTER: Stage = Stage {
    command: &["filter", "run"],
    topic: "solas-classified",
    publish: None,
    idle: "16",
};

/// Start a worker; its log goes to `<dir>/../logs/<stage>-<n>.log`, shown if the test fails.
fn worker(stage: &Stage, brokers: &str, dir: &Path) -> Child {
    let schema_dir = data::lsst_schema_dir();
    let logs = dir.with_file_name("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let n = std::fs::read_dir(&logs).unwrap().count();
    let group = stage.command[0];
    let log = std::fs::File::create(logs.join(format!("{group}-{n}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_solas"));
    cmd.env("RUST_LOG", "solas_pipeline=info,warn")
        .args(stage.command)
        .args(["-q", "--kafka", brokers, "--topic", stage.topic])
        .args(["--group", group, "--idle-exit", stage.idle])
        .args(["--data", dir.to_str().unwrap()])
        .args(["--schema-dir", schema_dir.to_str().unwrap()])
        // A killed member's partitions move on at its session timeout: keep it short.
        .args(["--kafka-option", "session.timeout.ms=6000"])
        .args(["--kafka-option", "heartbeat.interval.ms=500"])
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(topic) = stage.publish {
        cmd.args(["--publish-topic", topic]);
    }
    cmd.spawn().unwrap()
}

/// Run `solas` to completion, failing the test with its output if it fails.
fn solas(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_solas"))
        .env("SOLAS_SHARED_DATA", data::shared())
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "solas {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Load three real catalogues and a watchlist of cones around some of the alerts into a
/// data directory (the same set-up for the workers and the embedded run).
fn set_up(dir: &Path, watchlist: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = dir.to_str().unwrap();
    let descriptions: Vec<String> = ["openngc", "3hsp", "hipparcos2"]
        .iter()
        .map(|n| {
            repo.join(format!("catalogues/{n}.toml"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["catalogue", "add", "--data", data];
    args.extend(descriptions.iter().map(String::as_str));
    solas(&args);
    solas(&[
        "watchlist",
        "add",
        watchlist.to_str().unwrap(),
        "--name",
        "fault test",
        "--radius",
        "5",
        "--data",
        data,
    ]);
}

/// A watchlist CSV with a cone on the first alert of every third file.
fn watchlist_csv(files: &[std::path::PathBuf], schema_dir: &Path) -> String {
    let mut csv = String::new();
    for (i, f) in files.iter().enumerate().step_by(3) {
        let json = solas(&[
            "decode",
            "--schema-dir",
            schema_dir.to_str().unwrap(),
            f.to_str().unwrap(),
        ]);
        // One JSON document per alert; the file's first alert is enough.
        let alert: serde_json::Value = serde_json::Deserializer::from_str(&json)
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        let (ra, dec) = (
            alert["ra"].as_f64().unwrap(),
            alert["dec"].as_f64().unwrap(),
        );
        csv.push_str(&format!("{ra},{dec},cone {i}\n"));
    }
    csv
}

#[test]
fn killed_workers_restart_and_the_result_equals_one_embedded_run() {
    let cluster = MockCluster::new(1).unwrap();
    for topic in ["alerts", "solas-stored", "solas-classified"] {
        cluster.create_topic(topic, 4, 1).unwrap();
    }
    let brokers = cluster.bootstrap_servers();
    // The mock cluster keeps only a few MB per partition: a subset that fits, with the
    // object that has many alerts.
    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob("lsst/real/*/*.avro").into_iter().take(40));
    let schema_dir = data::lsst_schema_dir();
    let tmp = tempfile::tempdir().unwrap();
    let watchlist = tmp.path().join("watchlist.csv");
    std::fs::write(&watchlist, watchlist_csv(&files, &schema_dir)).unwrap();
    let (dir, embedded) = (tmp.path().join("data"), tmp.path().join("embedded"));
    set_up(&dir, &watchlist);
    set_up(&embedded, &watchlist);

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

    let plan = [(&INGEST, 3), (&CONTEXT, 2), (&FILTER, 2)];
    let mut stages: Vec<Vec<Child>> = plan
        .iter()
        .map(|(stage, n)| (0..*n).map(|_| worker(stage, &brokers, &dir)).collect())
        .collect();
    // Mid-stream: once some alerts are through every stage.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while objects(&dir) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        objects(&dir) > 0,
        "the workers made no progress\n{}",
        worker_logs(&tmp.path().join("logs"))
    );
    for workers in &mut stages {
        workers[0].kill().unwrap(); // SIGKILL
        workers[0].wait().unwrap();
    }
    for ((stage, _), workers) in plan.iter().zip(&mut stages) {
        workers[0] = worker(stage, &brokers, &dir);
    }
    send(half..files.len());
    // Every worker stops on its own once its group has finished; one that does not is a
    // failure (a hang), not a reason to wait for ever.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    for mut c in stages.into_iter().flatten() {
        let status = loop {
            if let Some(status) = c.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "a worker did not stop\n{}",
                    worker_logs(&tmp.path().join("logs"))
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(
            status.success(),
            "a worker failed: {status}\n{}",
            worker_logs(&tmp.path().join("logs"))
        );
    }

    let mut args = vec![
        "run".to_string(),
        "-q".into(),
        "--data".into(),
        embedded.display().to_string(),
        "--schema-dir".into(),
        schema_dir.display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    solas(&args);

    let (want, got) = (learned(&embedded), learned(&dir));
    for ((table, a), (_, b)) in want.iter().zip(&got) {
        // This subset has no forced photometry; everything else must be there.
        assert!(
            !a.is_empty() || table == "forced_photometry",
            "{table} is empty"
        );
        let distinct: std::collections::BTreeSet<&String> = b.iter().collect();
        assert_eq!(distinct.len(), b.len(), "{table}: a row twice");
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
