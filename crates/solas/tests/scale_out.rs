//! The scale-out roles as separate `solas` processes over Kafka (librdkafka's mock cluster,
//! the real protocol on a loopback port): three `solas ingest`, two `solas context` and two
//! `solas filter run` workers, with catalogues and a watchlist; one worker of each stage is
//! killed with SIGKILL mid-stream and started again. Afterwards the stores hold what one
//! embedded run over the same alerts produces: the same detections, each once, the same
//! objects rows, the same context classifications and the same watchlist hits, none twice.
//! Run twice: with every store under `--data`, and with the main database and the
//! lightcurves in PostgreSQL and cutouts in an S3-compatible store.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use solas_store::BlobStore;
use solas_testdata as data;
use solas_testdata::servers::{S3Server, TempDb};

/// The tables that hold what the broker learned, and the columns compared. Left out: times
/// written, and a context row's separations and description. A context row is computed at
/// the object's earliest alert, whatever order its alerts come in; but after a filter
/// worker is killed, the messages it had not committed are read again, and their context
/// rows may be from before a late, earlier alert had the object classified again. Which
/// catalogue match it is, and its class, are the same either way. Watchlist hits use the
/// object's position from its whole lightcurve, so their distances are compared.
const KEEP: [(&str, &[&str]); 10] = [
    ("detections", &[]),
    ("forced_photometry", &[]),
    ("non_detections", &[]),
    ("object_records", &[]),
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

/// The columns of a table's rows to compare: not `timestamp`, and only `columns` if given.
/// Archive records are compared by content: which dictionary compressed a record depends
/// on the order each worker met them, so `record_dictionary` is left out and `record` is
/// read decompressed ([`record_text`]).
fn compared(names: &[String], columns: &[&str]) -> Vec<usize> {
    (0..names.len())
        .filter(|&i| names[i] != "timestamp" && names[i] != "record_dictionary")
        .filter(|&i| columns.is_empty() || columns.contains(&names[i].as_str()))
        .collect()
}

/// Where the workers keep their databases: under `--data`, or in PostgreSQL.
#[derive(Clone, Copy, Default)]
struct Databases<'a> {
    lightcurves: Option<&'a str>,
    main: Option<&'a str>,
}

/// The rows of [`KEEP`], sorted, each value written the same way whichever database held
/// it.
fn learned(dir: &Path, dbs: Databases) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (table, columns) in KEEP {
        let lightcurve = matches!(
            table,
            "detections" | "forced_photometry" | "non_detections" | "object_records"
        );
        let pg = if lightcurve {
            dbs.lightcurves
        } else {
            dbs.main
        };
        let mut rows = match pg {
            Some(url) => pg_rows(url, table, columns),
            None => {
                let file = if lightcurve {
                    "lightcurves.db"
                } else {
                    "solas.db"
                };
                sqlite_rows(&dir.join(file), table, columns)
            }
        };
        rows.sort();
        out.push((table.to_string(), rows));
    }
    out
}

/// A stored record's Avro bytes as text, decompressed with its row's dictionary.
fn record_text(
    dictionaries: &std::collections::HashMap<i64, Vec<u8>>,
    dictionary: Option<i64>,
    bytes: &[u8],
) -> String {
    let dict = dictionary.map(|id| dictionaries[&id].as_slice());
    format!("{:?}", solas_store::unpack_record(dict, bytes).unwrap())
}

fn sqlite_rows(db: &Path, table: &str, columns: &[&str]) -> Vec<String> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(db).unwrap();
    let dictionaries = solas_testdata::sqlite_record_dictionaries(&conn);
    let Ok(mut stmt) = conn.prepare(&solas_testdata::sqlite_rows_select(&conn, table)) else {
        return Vec::new();
    };
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let keep = compared(&names, columns);
    let dict_col = names.iter().position(|n| n == "record_dictionary");
    stmt.query_map([], |r| {
        let dict: Option<i64> = match dict_col {
            Some(i) => r.get(i)?,
            None => None,
        };
        Ok(keep
            .iter()
            .map(|&i| match r.get_ref(i).unwrap() {
                ValueRef::Null => "NULL".to_string(),
                ValueRef::Integer(v) => v.to_string(),
                ValueRef::Real(v) => format!("{v:?}"),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Blob(b) if names[i] == "record" => record_text(&dictionaries, dict, b),
                ValueRef::Blob(b) => format!("{b:?}"),
            })
            .collect::<Vec<_>>()
            .join(","))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A table's rows from PostgreSQL, written as [`sqlite_rows`] writes them.
fn pg_rows(url: &str, table: &str, columns: &[&str]) -> Vec<String> {
    use postgres::types::Type;
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let dictionaries: std::collections::HashMap<i64, Vec<u8>> = client
        .query("SELECT id, dictionary FROM record_dictionaries", &[])
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .unwrap_or_default();
    let Ok(rows) = client.query(&format!("SELECT * FROM {table}"), &[]) else {
        return Vec::new();
    };
    rows.iter()
        .map(|r| {
            let names: Vec<String> = r.columns().iter().map(|c| c.name().to_string()).collect();
            let dict: Option<i64> = names
                .iter()
                .position(|n| n == "record_dictionary")
                .and_then(|i| r.get(i));
            compared(&names, columns)
                .into_iter()
                .map(|i| {
                    let ty = r.columns()[i].type_().clone();
                    let text = if ty == Type::INT2 {
                        r.get::<_, Option<i16>>(i).map(|v| v.to_string())
                    } else if ty == Type::INT4 {
                        r.get::<_, Option<i32>>(i).map(|v| v.to_string())
                    } else if ty == Type::INT8 {
                        r.get::<_, Option<i64>>(i).map(|v| v.to_string())
                    } else if ty == Type::FLOAT8 {
                        r.get::<_, Option<f64>>(i).map(|v| format!("{v:?}"))
                    } else if ty == Type::BYTEA && names[i] == "record" {
                        r.get::<_, Option<Vec<u8>>>(i)
                            .map(|v| record_text(&dictionaries, dict, &v))
                    } else if ty == Type::BYTEA {
                        r.get::<_, Option<Vec<u8>>>(i).map(|v| format!("{v:?}"))
                    } else if ty == Type::BOOL {
                        r.get::<_, Option<bool>>(i)
                            .map(|v| i64::from(v).to_string())
                    } else {
                        r.get::<_, Option<String>>(i)
                    };
                    text.unwrap_or_else(|| "NULL".into())
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// Objects rows written so far (0 before the database exists).
fn objects(dir: &Path, main_db: Option<&str>) -> i64 {
    const COUNT: &str =
        "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM ztf_objects)";
    match main_db {
        Some(url) => postgres::Client::connect(url, postgres::NoTls)
            .and_then(|mut c| c.query_one(COUNT, &[]))
            .map(|r| r.get(0))
            .unwrap_or(0),
        None => rusqlite::Connection::open(dir.join("solas.db"))
            .and_then(|c| c.query_row(COUNT, [], |r| r.get(0)))
            .unwrap_or(0),
    }
}

/// One stage of the scale-out pipeline: its sub-command, the topic it reads and the one
/// it writes.
struct Stage {
    command: &'static [&'static str],
    topic: &'static str,
    publish: Option<&'static str>,
}

const INGEST: Stage = Stage {
    command: &["ingest"],
    topic: "alerts",
    publish: Some("solas-stored"),
};
const CONTEXT: Stage = Stage {
    command: &["context"],
    topic: "solas-stored",
    publish: Some("solas-classified"),
};
const FILTER: Stage = Stage {
    command: &["filter", "run"],
    topic: "solas-classified",
    publish: None,
};

/// Start a worker; its log goes to `<dir>/../logs/<stage>-<n>.log`, shown if the test fails.
fn worker(stage: &Stage, brokers: &str, dir: &Path, env: &[(String, String)]) -> Child {
    let schema_dir = data::lsst_schema_dir();
    let logs = dir.with_file_name("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let n = std::fs::read_dir(&logs).unwrap().count();
    let group = stage.command[0];
    let log = std::fs::File::create(logs.join(format!("{group}-{n}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_solas"));
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "solas_pipeline=info,warn")
        .args(stage.command)
        .args(["-q", "--kafka", brokers, "--topic", stage.topic])
        .args(["--group", group])
        .args(["--data", dir.to_str().unwrap()])
        // A killed member's partitions move on at its session timeout: keep it short.
        .args(["--kafka-option", "session.timeout.ms=6000"])
        .args(["--kafka-option", "heartbeat.interval.ms=500"])
        // Each worker also serves its metrics: a worker with `--serve` panicked on shutdown.
        .args(["--serve", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(topic) = stage.publish {
        cmd.args(["--publish-topic", topic]);
    }
    // Only ingest decodes the survey's alerts (the other roles take no schema options).
    if group == "ingest" {
        cmd.args(["--schema-dir", schema_dir.to_str().unwrap()]);
    }
    cmd.spawn().unwrap()
}

/// Run `solas` to completion, failing the test with its output if it fails.
fn solas(args: &[&str]) -> String {
    solas_with(&[], args)
}

fn solas_with(env: &[(String, String)], args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_solas"))
        .env("SOLAS_SHARED_DATA", data::shared())
        .envs(env.iter().map(|(k, v)| (k, v)))
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
fn set_up(dir: &Path, watchlist: &Path, env: &[(String, String)]) {
    let data = dir.to_str().unwrap();
    let descriptions = solas_testdata::catalogue_descriptions(&["openngc", "3hsp", "hipparcos2"]);
    let mut args = vec!["catalogue", "add", "--data", data];
    args.extend(descriptions.iter().map(String::as_str));
    solas(&args);
    solas_with(
        env,
        &[
            "watchlist",
            "add",
            watchlist.to_str().unwrap(),
            "--name",
            "fault test",
            "--radius",
            "5",
            "--data",
            data,
        ],
    );
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
    fault_test(&[], Databases::default());
}

/// The same with the stores that scale out: the main database (objects, classifications,
/// watchlists and hits, context cache) and the lightcurves in PostgreSQL, and cutouts in
/// an S3-compatible store (moto), all on loopback; every cutout the embedded run keeps is
/// in the bucket, byte for byte.
#[test]
fn killed_workers_on_postgres_and_s3_equal_one_embedded_run() {
    let (Some(lightcurves), Some(main)) =
        (TempDb::create("fault_lc"), TempDb::create("fault_main"))
    else {
        return;
    };
    let s3 = S3Server::start("solas-cutouts");
    let bucket = "s3://solas-cutouts/fault";
    let mut env = s3.env();
    env.push(("SOLAS_LIGHTCURVES_DB".into(), lightcurves.url()));
    env.push(("SOLAS_MAIN_DB".into(), main.url()));
    env.push(("SOLAS_CUTOUTS".into(), bucket.into()));
    let (lightcurves, main) = (lightcurves.url(), main.url());
    let dbs = Databases {
        lightcurves: Some(&lightcurves),
        main: Some(&main),
    };
    let tmp = fault_test(&env, dbs);
    let embedded = tmp.path().join("embedded");

    let settings = s3.options();
    let options: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let s3 = solas_store::blob::S3BlobStore::open(bucket, &options).unwrap();
    let packs = solas_store::blob::PackBlobStore::open(&embedded.join("cutouts")).unwrap();
    let index = packs.list().unwrap();
    assert!(!index.is_empty());
    for (survey, source_id, kind, _) in &index {
        let survey = if *survey == 1 {
            solas_core::Survey::Ztf
        } else {
            solas_core::Survey::Lsst
        };
        let kind = solas_core::CutoutKind::parse(kind).unwrap();
        let want = packs.get_cutout(survey, *source_id, kind).unwrap();
        let got = s3.get_cutout(survey, *source_id, kind).unwrap();
        assert_eq!(got, want, "{survey:?} {source_id} {kind:?}");
    }

    // The operator's tools read the scale-out stores as the workers were given them (the
    // same environment), and answer what they answer on the embedded run.
    let nowhere = tmp.path().join("no-local-data");
    let (_, source_id, kind, _) = &index[0];
    let survey = if index[0].0 == 1 { "ztf" } else { "lsst" };
    let fits = tmp.path().join("cutout.fits");
    let mut args = vec!["cutout", &source_id.to_string(), kind.as_str()]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(["--survey", survey, "-o", fits.to_str().unwrap()].map(String::from));
    args.extend(["--data".into(), nowhere.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    solas_with(&env, &args);
    let kind = solas_core::CutoutKind::parse(kind).unwrap();
    let survey_of = if survey == "ztf" {
        solas_core::Survey::Ztf
    } else {
        solas_core::Survey::Lsst
    };
    assert_eq!(
        Some(std::fs::read(&fits).unwrap()),
        packs.get_cutout(survey_of, *source_id, kind).unwrap()
    );
    let object = |env: &[(String, String)], data: &Path| -> serde_json::Value {
        let out = solas_with(
            env,
            &[
                "object",
                "ZTF21abiuvdk",
                "--store",
                "--data",
                data.to_str().unwrap(),
            ],
        );
        serde_json::from_str(&out).unwrap()
    };
    let scaled = object(&env, &nowhere);
    let local = object(&[], &embedded);
    assert_eq!(scaled["lightcurve"], local["lightcurve"]);
    assert_eq!(scaled["object"]["ncand"], local["object"]["ncand"]);
}

/// Run the fault test with `env` given to every worker; returns the temporary directory
/// with the embedded run's data in `embedded/`.
fn fault_test(env: &[(String, String)], dbs: Databases) -> tempfile::TempDir {
    // Each run starts a dozen processes: one run at a time on a small machine.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
    set_up(&dir, &watchlist, env);
    set_up(&embedded, &watchlist, &[]);

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
        .map(|(stage, n)| {
            (0..*n)
                .map(|_| worker(stage, &brokers, &dir, env))
                .collect()
        })
        .collect();
    // Mid-stream: once some alerts are through every stage.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while objects(&dir, dbs.main) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        objects(&dir, dbs.main) > 0,
        "the workers made no progress\n{}",
        worker_logs(&tmp.path().join("logs"))
    );
    for workers in &mut stages {
        workers[0].kill().unwrap(); // SIGKILL
        workers[0].wait().unwrap();
    }
    for ((stage, _), workers) in plan.iter().zip(&mut stages) {
        workers[0] = worker(stage, &brokers, &dir, env);
    }
    send(half..files.len());
    // Stage by stage, once a stage's group has finished its input (which is whole once the
    // stage before has stopped), its workers are told to stop as `systemctl stop` does
    // (SIGTERM), and must stop as cleanly as on Ctrl-C: SIGTERM used to kill them (143). (An idle limit could stop a stage while the one before it still waits
    // for a killed member's partitions.)
    let logs = tmp.path().join("logs");
    for ((stage, _), workers) in plan.iter().zip(stages) {
        let group = stage.command[0];
        wait_for_group(&brokers, group, stage.topic, &logs);
        for mut c in workers {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let status = wait_with_deadline(&mut c, &logs);
            assert!(
                status.success(),
                "a {group} worker failed: {status}\n{}",
                worker_logs(&logs)
            );
        }
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

    let (want, got) = (learned(&embedded, Databases::default()), learned(&dir, dbs));
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
    tmp
}

/// Wait until `group` has committed every partition of `topic` to its end (its members
/// have finished everything published so far).
fn wait_for_group(brokers: &str, group: &str, topic: &str, logs: &Path) {
    // Not subscribed: asking for the group's offsets does not join it.
    let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !solas_pipeline::source::kafka::group_done(&consumer, topic) {
        assert!(
            std::time::Instant::now() < deadline,
            "group {group} did not finish {topic}\n{}",
            worker_logs(logs)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A worker's exit status; a worker that does not stop within minutes is a failure (a
/// hang), not a reason to wait for ever.
fn wait_with_deadline(c: &mut Child, logs: &Path) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = c.kill();
            panic!("a worker did not stop\n{}", worker_logs(logs));
        }
        std::thread::sleep(Duration::from_millis(200));
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

/// Mining: a stored filter's objects fanned out over a Kafka topic to two `solas mine work`
/// processes of one group; one is killed with SIGKILL mid-run. Every object the filter picks
/// is answered once, by the program's own answer for that object's lightcurve (here: its
/// detections counted, with a pause so that the kill lands mid-run).
#[test]
fn a_mining_run_answers_every_object_once_though_a_worker_is_killed() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("mine", 4, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let data = dir.to_str().unwrap();
    let alerts = data::shared().join("ztf/alerts");
    solas(&["run", "-q", "--data", data, alerts.to_str().unwrap()]);
    solas(&[
        "filter",
        "add",
        "--data",
        data,
        "--name",
        "bright",
        "--survey",
        "ztf",
        "--owner",
        "5",
        "--selected",
        "objects.objectId",
        "--conditions",
        "objects.ncand >= 1",
    ]);
    let out = solas(&[
        "mine", "start", "--filter", "1", "--kafka", &brokers, "--topic", "mine", "--data", data,
    ]);
    let conn = rusqlite::Connection::open(dir.join("solas.db")).unwrap();
    let objects: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM ztf_objects WHERE ncand >= 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(objects > 100, "{objects}");
    assert!(out.contains(&format!("{objects} objects")), "{out}");

    let program = "sleep 0.05; python3 -c 'import json, sys; d = json.load(sys.stdin); \
                   print(json.dumps({\"object\": d[\"object\"], \"n\": len(d[\"detections\"])}))'";
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let start = |n: usize| -> Child {
        Command::new(env!("CARGO_BIN_EXE_solas"))
            .env("RUST_LOG", "solas_pipeline=info,warn")
            .args(["mine", "work", "--kafka", &brokers, "--topic", "mine"])
            .args(["--group", "miners", "--program", program, "--data", data])
            .args(["--idle-exit", "8"])
            .args(["--kafka-option", "session.timeout.ms=6000"])
            .args(["--kafka-option", "heartbeat.interval.ms=500"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.join(format!("mine-{n}.log"))).unwrap())
            .spawn()
            .unwrap()
    };
    let answered = || -> i64 {
        conn.query_row("SELECT COUNT(*) FROM mining_results", [], |r| r.get(0))
            .unwrap_or(0)
    };
    let mut workers = [start(0), start(1)];
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while answered() < 10 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(answered() < objects, "the kill must land mid-run");
    workers[0].kill().unwrap(); // SIGKILL
    let _ = workers[0].wait();
    let status = workers[1].wait().unwrap();
    let log = |n: usize| std::fs::read_to_string(logs.join(format!("mine-{n}.log"))).unwrap();
    assert!(status.success(), "{}", log(1));

    // Every object answered, once, with the program's answer for its own lightcurve.
    let mut stmt = conn
        .prepare(
            "SELECT m.objectId, m.result, m.error,
               (SELECT COUNT(*) FROM ztf_objects o WHERE o.objectId = m.objectId)
             FROM mining_results m WHERE m.run_id = 1 ORDER BY m.objectId",
        )
        .unwrap();
    let rows: Vec<(String, Option<String>, Option<String>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len() as i64, objects, "{}\n{}", log(0), log(1));
    let lightcurves = rusqlite::Connection::open(dir.join("lightcurves.db")).unwrap();
    for (object, result, error, known) in &rows {
        assert_eq!(*known, 1, "{object} is a stored ZTF object");
        assert_eq!(error, &None, "{object}");
        let answer: serde_json::Value = serde_json::from_str(result.as_deref().unwrap()).unwrap();
        let key = solas_core::ObjectKey::ztf(object).unwrap();
        let detections: i64 = lightcurves
            .query_row(
                "SELECT COUNT(*) FROM detections WHERE survey = 1 AND object_id = ?1",
                [key.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(answer["object"], object.as_str());
        assert_eq!(answer["n"], detections, "{object}");
    }
    let runs = solas(&["mine", "runs", "--data", data]);
    assert!(runs.contains(&format!("{objects} / {objects}")), "{runs}");

    // The answers are a table filters join: `mining:1` for the run's owner, no one else.
    let rich = rows
        .iter()
        .filter(|r| {
            let a: serde_json::Value = serde_json::from_str(r.1.as_deref().unwrap()).unwrap();
            a["n"].as_i64().unwrap() >= 5
        })
        .count();
    assert!(rich > 0 && (rich as i64) < objects);
    solas(&[
        "filter",
        "add",
        "--data",
        data,
        "--name",
        "mined",
        "--survey",
        "ztf",
        "--owner",
        "5",
        "--selected",
        "objects.objectId, mining.result",
        "--tables",
        "objects, mining:1",
        "--conditions",
        "json_extract(mining.result, '$.n') >= 5",
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_solas"))
        .args(["filter", "test", "2", "--limit", "100000", "--data", data])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(found, rich);
    let refused = Command::new(env!("CARGO_BIN_EXE_solas"))
        .args([
            "filter", "add", "--data", data, "--name", "theirs", "--survey", "ztf",
        ])
        .args([
            "--owner",
            "6",
            "--selected",
            "objects.objectId",
            "--tables",
            "objects, mining:1",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("another user's"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
