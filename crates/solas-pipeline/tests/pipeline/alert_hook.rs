//! The operator hears of trouble: the alert webhook receives a failed run's error, a
//! worker that stopped reporting without a clean exit (a stage killed and restarted), and
//! Kafka brokers that stay unreachable.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn text(v: &serde_json::Value) -> String {
    v["text"].as_str().unwrap().to_string()
}

#[test]
fn a_failed_run_is_posted_to_the_alert_webhook() {
    let (url, posts) = common::webhook_server();
    let tmp = tempfile::tempdir().unwrap();
    let files = solas_testdata::shared_glob("ztf/alerts/*/*.avro");
    let mut config = common::config(tmp.path(), common::files(&files[..3]));
    // A lightcurve database nobody listens for: the run cannot start.
    config.lightcurves_url = Some("host=127.0.0.1 port=1 user=solas connect_timeout=2".into());
    config.alert_webhook = Some(url);
    let err = solas_pipeline::run(config, Arc::new(AtomicBool::new(false))).unwrap_err();
    let posted = text(&posts.recv_timeout(Duration::from_secs(10)).unwrap());
    assert!(posted.contains("3 file input(s)"), "{posted}");
    assert!(posted.contains(&err.to_string()), "{posted}");
}

/// A worker killed mid-run leaves its status row marked running; the next run on the data
/// directory (the restarted stage) tells the operator, once.
#[test]
fn a_worker_that_stopped_reporting_is_told_once() {
    let (url, posts) = common::webhook_server();
    let tmp = tempfile::tempdir().unwrap();
    let files = solas_testdata::shared_glob("ztf/alerts/*/*.avro");
    common::run(common::config(tmp.path(), common::files(&files[..3])));
    let db = rusqlite::Connection::open(tmp.path().join("solas.db")).unwrap();
    // What a SIGKILLed ingest worker leaves behind: running, its last report minutes old.
    db.execute(
        "INSERT INTO worker_status (worker, role, started, updated, running, summary, metrics)
         VALUES ('ingest@node7:4242', 'ingest', datetime('now', '-1 hour'),
                 datetime('now', '-5 minutes'), 1, '{}', '')",
        [],
    )
    .unwrap();
    // And one that reported a moment ago is still alive: left alone.
    db.execute(
        "INSERT INTO worker_status (worker, role, started, updated, running, summary, metrics)
         VALUES ('filter@node8:99', 'filter', datetime('now', '-1 hour'),
                 datetime('now', '-2 seconds'), 1, '{}', '')",
        [],
    )
    .unwrap();

    for _ in 0..2 {
        let mut config = common::config(tmp.path(), common::files(&files[3..5]));
        config.alert_webhook = Some(url.clone());
        common::run(config);
    }
    let told: Vec<String> = posts.try_iter().map(|v| text(&v)).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("ingest worker ingest@node7:4242"),
        "{}",
        told[0]
    );
    assert!(told[0].contains("without a clean exit"), "{}", told[0]);
    let running: Vec<(String, bool)> = db
        .prepare(
            "SELECT worker, running FROM worker_status WHERE worker LIKE '%@node%' ORDER BY worker",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        running,
        vec![
            ("filter@node8:99".to_string(), true),
            ("ingest@node7:4242".to_string(), false)
        ]
    );
}

/// Brokers that do not answer: the hook hears of it after the configured delay, while the
/// run keeps waiting for them.
#[cfg(feature = "kafka")]
#[test]
fn unreachable_kafka_is_posted_to_the_alert_webhook() {
    let (url, posts) = common::webhook_server();
    let tmp = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let input = solas_pipeline::runner::Input::Kafka(solas_pipeline::source::kafka::KafkaConfig {
        brokers: "127.0.0.1:1".into(),
        topic: "alerts".into(),
        group: "solas-hook-test".into(),
        idle_exit: None,
        max_messages: None,
        extra: vec![],
    });
    let mut config = common::config(tmp.path(), input);
    config.alert_webhook = Some(url);
    config.alert_after = Duration::from_secs(1);
    let stop = Arc::new(AtomicBool::new(false));
    let run = {
        let stop = stop.clone();
        std::thread::spawn(move || solas_pipeline::run(config, stop))
    };
    let posted = posts.recv_timeout(Duration::from_secs(60));
    stop.store(true, Ordering::Relaxed);
    let posted = text(&posted.expect("the hook was told"));
    assert!(
        posted.contains("cannot reach Kafka at 127.0.0.1:1"),
        "{posted}"
    );
    assert!(posted.contains("group solas-hook-test"), "{posted}");
    run.join().unwrap().unwrap();
}
