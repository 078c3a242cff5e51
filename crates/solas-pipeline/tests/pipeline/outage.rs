//! Outages lose nothing (audit finding F3). A store that is unavailable mid-run (S3 cut off
//! for longer than its client's own retries, a full disk) must hold the run, never turn the
//! alerts into rejections; when it is back the run goes on by itself and ends with exactly
//! what a clean run of the same alerts stores. The operator's hook hears of the outage.
//! The tests run one at a time: each one's timing matters.

use crate::common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use solas_pipeline::stats::Stats;
use solas_testdata::servers::{HookSink, S3Server, TcpProxy};

/// Waits (at most a minute) until `ready` holds.
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The alerts of both surveys: enough that the run is still going when the outage starts.
fn alerts() -> Vec<std::path::PathBuf> {
    solas_testdata::real_alert_files()
}

/// The alerts offered at a steady `rate` a second, as a survey's stream comes: the run is
/// still going when the outage starts.
fn steady(rate: f64) -> solas_pipeline::runner::Input {
    let payloads: Vec<(String, Vec<u8>)> = alerts()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    solas_pipeline::runner::Input::Memory(solas_pipeline::source::memory::MemorySource::once(
        payloads,
        Some(rate),
    ))
}

/// A clean embedded run of the same alerts, for comparison.
fn clean_run(dir: &Path) -> solas_pipeline::Summary {
    common::run(common::config(dir, common::files(&alerts())))
}

/// Start a run on its own thread, with its counters to watch.
fn start(
    mut config: solas_pipeline::RunConfig,
) -> (
    Arc<Stats>,
    std::thread::JoinHandle<Result<solas_pipeline::Summary, solas_pipeline::runner::RunError>>,
) {
    let stats = Arc::new(Stats::default());
    config.stats = Some(stats.clone());
    let run =
        std::thread::spawn(move || solas_pipeline::run(config, Arc::new(AtomicBool::new(false))));
    (stats, run)
}

/// The run's summary once it ended by itself, having rejected nothing.
fn finished(
    run: std::thread::JoinHandle<Result<solas_pipeline::Summary, solas_pipeline::runner::RunError>>,
) -> solas_pipeline::Summary {
    let summary = run
        .join()
        .unwrap()
        .expect("the run goes on after the outage");
    assert_eq!(
        summary.rejected_total(),
        0,
        "rejected: {:?}",
        summary.rejected
    );
    summary
}

/// Every cutout a pack store indexes, as (survey, source id, kind).
fn cutout_keys(
    packs: &solas_store::blob::PackBlobStore,
) -> Vec<(solas_core::Survey, i64, solas_core::CutoutKind)> {
    packs
        .list()
        .unwrap()
        .into_iter()
        .map(|(survey, source_id, kind, _)| {
            let survey = if survey == 1 {
                solas_core::Survey::Ztf
            } else {
                solas_core::Survey::Lsst
            };
            (
                survey,
                source_id,
                solas_core::CutoutKind::parse(&kind).unwrap(),
            )
        })
        .collect()
}

/// The main database and the lightcurves of two runs hold the same rows (the first row
/// that differs is shown).
fn assert_same_store(got: &Path, want: &Path) {
    for db in ["solas.db", "lightcurves.db"] {
        let (a, b) = (common::dump(&got.join(db)), common::dump(&want.join(db)));
        for ((table, rows), (_, want_rows)) in a.iter().zip(&b) {
            let differ = rows.iter().zip(want_rows).find(|(x, y)| x != y);
            assert!(
                rows.len() == want_rows.len() && differ.is_none(),
                "{db} {table}: {} rows vs {} in a clean run; first difference {differ:?}",
                rows.len(),
                want_rows.len()
            );
        }
        assert_eq!(a.len(), b.len(), "{db}: tables");
    }
}

fn assert_hook_told(hook: &HookSink, store: &str) {
    let bodies = hook.bodies();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains(&format!("cannot write to the {store}"))),
        "hook not told of the outage: {bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains(&format!("writes to the {store} again"))),
        "hook not told of the recovery: {bodies:?}"
    );
}

#[test]
fn f3_s3_unreachable_past_the_client_retry_budget_loses_nothing() {
    let _one = common::one_at_a_time();
    let server = S3Server::start("solas-outage");
    let target = server
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = TcpProxy::start(target);
    let hook = HookSink::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), steady(30.0));
    config.cutouts_url = Some("s3://solas-outage/night".into());
    config.cutouts_options = server
        .options()
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "endpoint" => (k, format!("http://{}", proxy.addr())),
            _ => (k, v),
        })
        .chain([
            // The client's own budget, shortened: one retry within a second.
            ("max_retries".to_string(), "1".to_string()),
            ("retry_timeout_secs".to_string(), "1".to_string()),
        ])
        .collect();
    config.alert_webhook = Some(hook.url());
    config.alert_after = Duration::from_secs(2);
    config.retry_max_backoff = Duration::from_millis(300);
    let (stats, run) = start(config);
    wait_for("the first cutouts", || Stats::get(&stats.cutouts) >= 20);
    proxy.cut();
    // Longer than the client's budget and than the hook's delay.
    std::thread::sleep(Duration::from_secs(6));
    let during = Stats::get(&stats.cutouts);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        Stats::get(&stats.cutouts),
        during,
        "no cutout stored while cut"
    );
    proxy.restore();
    let summary = finished(run);
    assert!(
        Stats::get(&stats.store_retries) > 0,
        "the outage was not met"
    );
    assert_hook_told(&hook, "cutout store");
    let clean = tempfile::tempdir().unwrap();
    let want = clean_run(clean.path());
    assert_eq!(summary.stored, want.stored);
    assert_eq!(summary.cutouts, want.cutouts);
    assert_same_store(dir.path(), clean.path());
    // Every cutout is in the bucket.
    let s3 = solas_store::blob::open(
        Some("s3://solas-outage/night"),
        &server.options(),
        Path::new("/nonexistent"),
    )
    .unwrap();
    let packs = solas_store::blob::PackBlobStore::open(&clean.path().join("cutouts")).unwrap();
    for (survey, source_id, kind) in cutout_keys(&packs) {
        assert!(
            s3.stored_size(survey, source_id, kind).unwrap().is_some(),
            "{survey:?} {source_id} {kind:?} missing from S3"
        );
    }
}

/// A tmpfs of `size` at `dir`, unmounted when dropped; None where mounting is not allowed.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| SmallDisk {
            dir: dir.to_path_buf(),
        })
    }

    fn grow(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
    }
}

#[test]
fn f3_a_full_disk_holds_the_run_until_there_is_room() {
    let _one = common::one_at_a_time();
    let root = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&root.path().join("disk"), "3m") else {
        // The audit reproduced it on a tmpfs; without the right to mount one there is
        // nothing real to fill here.
        assert!(
            std::env::var_os("SOLAS_REQUIRE_MOUNT").is_none(),
            "cannot mount a tmpfs"
        );
        eprintln!("cannot mount a tmpfs here: skipped");
        return;
    };
    let data = disk.dir.join("data");
    let hook = HookSink::start();
    let mut config = common::config(&data, common::files(&alerts()));
    config.alert_webhook = Some(hook.url());
    config.alert_after = Duration::from_secs(2);
    config.retry_max_backoff = Duration::from_millis(300);
    let (stats, run) = start(config);
    wait_for("the disk to fill", || Stats::get(&stats.store_retries) > 0);
    std::thread::sleep(Duration::from_secs(3));
    disk.grow("512m");
    let summary = finished(run);
    assert!(
        !data.join("rejected").exists(),
        "nothing was set aside as rejected"
    );
    let bodies = hook.bodies();
    assert!(
        bodies.iter().any(|b| b.contains("cannot write to the")),
        "hook not told: {bodies:?}"
    );
    let clean = tempfile::tempdir().unwrap();
    let want = clean_run(clean.path());
    assert_eq!(summary.stored, want.stored);
    assert_same_store(&data, clean.path());
    let packs = solas_store::blob::PackBlobStore::open(&data.join("cutouts")).unwrap();
    let want_packs = solas_store::blob::PackBlobStore::open(&clean.path().join("cutouts")).unwrap();
    assert_eq!(cutout_keys(&packs), cutout_keys(&want_packs));
    for (survey, source_id, kind) in cutout_keys(&packs) {
        use solas_store::BlobStore;
        assert_eq!(
            packs.get_cutout(survey, source_id, kind).unwrap(),
            want_packs.get_cutout(survey, source_id, kind).unwrap(),
            "{survey:?} {source_id} {kind:?}"
        );
    }
    // Unmounted at the end: nothing may still hold a file on it.
    drop(packs);
    drop(disk);
}

/// Tables of the main database and of the lightcurve store, with their keys.
const MAIN_TABLES: &[(&str, &str)] = &[
    ("objects", "\"diaObjectId\""),
    ("ztf_objects", "\"objectId\""),
];
const LIGHTCURVE_TABLES: &[(&str, &str)] = &[
    ("detections", "survey, object_id, mjd, source_id"),
    ("forced_photometry", "survey, object_id, mjd, source_id"),
    ("non_detections", "survey, object_id, mjd, band"),
];

/// Row counts and distinct keys of `tables`, read through `count`.
fn counts(
    tables: &[(&'static str, &str)],
    mut count: impl FnMut(&str) -> (i64, i64),
) -> Vec<(&'static str, i64, i64)> {
    tables
        .iter()
        .map(|&(table, key)| {
            let (rows, distinct) = count(&format!(
                "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {key} FROM {table}) d) \
                 FROM {table}"
            ));
            (table, rows, distinct)
        })
        .collect()
}

#[test]
fn postgresql_restarted_mid_run_loses_nothing() {
    let _one = common::one_at_a_time();
    let (Some(main), Some(lc)) = (
        solas_testdata::servers::TempDb::create("outage_main"),
        solas_testdata::servers::TempDb::create("outage_lc"),
    ) else {
        assert!(
            std::env::var_os("SOLAS_REQUIRE_POSTGRES").is_none(),
            "PostgreSQL at 127.0.0.1:5432 not reachable"
        );
        eprintln!("PostgreSQL not reachable: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), steady(30.0));
    config.main_db = Some(solas_store::db::Target::Postgres(main.url()));
    config.lightcurves_url = Some(lc.url());
    config.retry_max_backoff = Duration::from_millis(300);
    let (stats, run) = start(config);
    wait_for("the first batches", || Stats::get(&stats.filtered) >= 20);
    solas_testdata::servers::restart_postgres(Duration::from_secs(3));
    let summary = finished(run);
    assert!(
        Stats::get(&stats.store_retries) > 0,
        "the restart was not met"
    );
    let clean = tempfile::tempdir().unwrap();
    let want = clean_run(clean.path());
    assert_eq!(summary.stored, want.stored);
    let sqlite = |path: &Path| {
        let conn = rusqlite::Connection::open(path).unwrap();
        move |sql: &str| {
            conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
        }
    };
    let mut want = counts(MAIN_TABLES, sqlite(&clean.path().join("solas.db")));
    want.extend(counts(
        LIGHTCURVE_TABLES,
        sqlite(&clean.path().join("lightcurves.db")),
    ));
    let pg = |url: String| {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        move |sql: &str| {
            let row = client.query_one(sql, &[]).unwrap();
            (row.get(0), row.get(1))
        }
    };
    let mut got = counts(MAIN_TABLES, pg(main.url()));
    got.extend(counts(LIGHTCURVE_TABLES, pg(lc.url())));
    assert_eq!(got, want, "PostgreSQL after the restart vs a clean run");
    for (table, rows, distinct) in &got {
        assert_eq!(rows, distinct, "{table}: a row twice");
        assert!(
            *rows > 0 || *table == "forced_photometry",
            "{table} is empty"
        );
    }
}

/// Every shared alert produced to `topic` on `brokers`, spread over `partitions`.
#[cfg(feature = "kafka")]
fn produce_all(brokers: &str, topic: &str, partitions: i32) -> i64 {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap();
    let files = alerts();
    for (i, f) in files.iter().enumerate() {
        let bytes = std::fs::read(f).unwrap();
        producer
            .send(
                BaseRecord::<str, [u8]>::to(topic)
                    .payload(&bytes)
                    .partition(i as i32 % partitions),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    files.len() as i64
}

/// A Kafka run of `topic` for `group`, stopping once the group has finished the topic.
#[cfg(feature = "kafka")]
fn kafka_input(brokers: &str, topic: &str, group: &str) -> solas_pipeline::runner::Input {
    solas_pipeline::runner::Input::Kafka(solas_pipeline::source::kafka::KafkaConfig {
        brokers: brokers.into(),
        topic: topic.into(),
        group: group.into(),
        idle_exit: Some(Duration::from_secs(4)),
        max_messages: None,
        extra: vec![
            ("session.timeout.ms".into(), "6000".into()),
            ("heartbeat.interval.ms".into(), "500".into()),
        ],
    })
}

/// The offsets `group` has committed on `topic`, summed over its partitions.
#[cfg(feature = "kafka")]
fn committed(brokers: &str, group: &str, topic: &str, partitions: i32) -> i64 {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}

/// The Kafka broker goes down mid-run (librdkafka's mock cluster, the real protocol on
/// loopback, keeps its log through it) and comes back: the run goes on by itself, every
/// offset is committed in the end, and the store equals a clean run's.
#[cfg(feature = "kafka")]
#[test]
fn the_kafka_broker_down_mid_run_loses_nothing() {
    let _one = common::one_at_a_time();
    const TOPIC: &str = "alerts";
    // The mock keeps 5 MB a partition (older messages are dropped): 29 MB of alerts need 8.
    const PARTITIONS: i32 = 8;
    let mock = rdkafka::mocking::MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, PARTITIONS, 1).unwrap();
    let brokers = mock.bootstrap_servers();
    let sent = produce_all(&brokers, TOPIC, PARTITIONS);

    let dir = tempfile::tempdir().unwrap();
    let (stats, run) = start(common::config(
        dir.path(),
        kafka_input(&brokers, TOPIC, "outage"),
    ));
    wait_for("the first alerts", || Stats::get(&stats.payloads) >= 30);
    mock.broker_down(1).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    mock.broker_up(1).unwrap();
    let summary = finished(run);
    eprintln!("{summary}");
    assert_eq!(
        committed(&brokers, "outage", TOPIC, PARTITIONS),
        sent,
        "every offset committed"
    );
    let clean = tempfile::tempdir().unwrap();
    clean_run(clean.path());
    assert_same_store(dir.path(), clean.path());
}

/// A real broker process (tansu, its log kept in an S3 server so that it outlives the
/// process) killed mid-run and started again on the same port: the run reconnects, rejoins
/// its group, re-reads what it had not committed, and ends with every offset committed and
/// the store equal to a clean run's (nothing lost, nothing doubled).
#[cfg(feature = "kafka")]
#[test]
fn the_kafka_broker_process_killed_and_restarted_mid_run_loses_nothing() {
    use solas_testdata::servers::KafkaBroker;

    let _one = common::one_at_a_time();
    const TOPIC: &str = "alerts";
    const PARTITIONS: i32 = 4;
    let s3 = S3Server::start("kafka-log");
    let broker = KafkaBroker::start_on(&s3, "kafka-log");
    broker.create_topic(TOPIC, PARTITIONS as u32);
    let brokers = broker.address();
    let sent = produce_all(&brokers, TOPIC, PARTITIONS);

    let dir = tempfile::tempdir().unwrap();
    let (stats, run) = start(common::config(
        dir.path(),
        kafka_input(&brokers, TOPIC, "outage-restart"),
    ));
    wait_for("the first alerts", || Stats::get(&stats.payloads) >= 30);
    let before = Stats::get(&stats.payloads);
    broker.crash_and_restart(Duration::from_secs(5));
    let summary = finished(run);
    eprintln!("{summary}");
    assert!(
        (before as i64) < sent,
        "the broker went down mid-run ({before} of {sent} read)"
    );
    assert_eq!(
        committed(&brokers, "outage-restart", TOPIC, PARTITIONS),
        sent,
        "every offset committed"
    );
    let clean = tempfile::tempdir().unwrap();
    clean_run(clean.path());
    assert_same_store(dir.path(), clean.path());
}

/// An ingest worker's output topic goes down mid-run (scale-out: `solas ingest` publishes
/// stored alerts for the process workers). Its producer is made to give up on messages
/// after a second, so the run sees deliveries fail: it sends the batch again until the
/// broker has it, and every alert reaches the topic.
#[cfg(feature = "kafka")]
#[test]
fn an_ingest_worker_waits_out_its_output_broker() {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;

    let _one = common::one_at_a_time();
    const TOPIC: &str = "solas-stored";
    let mock = rdkafka::mocking::MockCluster::new(1).unwrap();
    mock.create_topic(TOPIC, 8, 1).unwrap();
    let brokers = mock.bootstrap_servers();

    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), steady(60.0));
    config.role = solas_pipeline::runner::Role::Ingest(solas_pipeline::publish::PublishConfig {
        brokers: brokers.clone(),
        topic: TOPIC.into(),
        extra: vec![("message.timeout.ms".into(), "1000".into())],
    });
    config.retry_max_backoff = Duration::from_millis(200);
    let (stats, run) = start(config);
    wait_for("the first alerts published", || {
        Stats::get(&stats.published) >= 20
    });
    mock.broker_down(1).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    mock.broker_up(1).unwrap();
    let summary = finished(run);
    eprintln!("{summary}");
    assert_eq!(summary.published, summary.alerts, "every alert published");
    assert!(
        Stats::get(&stats.store_retries) > 0,
        "the outage was seen and waited out"
    );

    // Every alert is on the topic (a batch sent again may repeat some).
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "check")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(60);
    while (ids.len() as u64) < summary.published && Instant::now() < until {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let published: solas_pipeline::message::Published =
                serde_json::from_slice(m.payload().unwrap()).unwrap();
            ids.insert((published.alert.survey.as_str(), published.alert.alert_id));
        }
    }
    assert_eq!(
        ids.len() as u64,
        summary.published,
        "every published alert on the topic"
    );
}

/// Stopping (SIGTERM, Ctrl-C) an ingest worker while its output broker is down ends the
/// run with the outage named and the waiting alerts unacknowledged, not with an error that
/// looks like a crash.
#[cfg(feature = "kafka")]
#[test]
fn an_ingest_worker_stopped_during_an_output_outage_says_so() {
    let _one = common::one_at_a_time();
    let mock = rdkafka::mocking::MockCluster::new(1).unwrap();
    mock.create_topic("solas-stored", 2, 1).unwrap();
    mock.broker_down(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), steady(200.0));
    config.role = solas_pipeline::runner::Role::Ingest(solas_pipeline::publish::PublishConfig {
        brokers: mock.bootstrap_servers(),
        topic: "solas-stored".into(),
        extra: vec![("message.timeout.ms".into(), "1000".into())],
    });
    config.retry_max_backoff = Duration::from_millis(200);
    let stats = Arc::new(Stats::default());
    config.stats = Some(stats.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let run = {
        let stop = stop.clone();
        std::thread::spawn(move || solas_pipeline::run(config, stop))
    };
    wait_for("the publisher to wait on the broker", || {
        Stats::get(&stats.store_retries) > 0
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    match run.join().unwrap() {
        Err(solas_pipeline::runner::RunError::Outage(n)) => assert!(n > 0),
        other => panic!("expected the outage to be named, got {other:?}"),
    }
    assert_eq!(Stats::get(&stats.published), 0);
}
