//! The email digest sent to a real SMTP server on loopback (aiosmtpd, started by
//! `scripts/smtp-sink.sh`), and the message it received checked.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use solas_delivery::{EmailQueue, FilterTarget, OutputMode, Record, Sink, SmtpConfig};
use solas_store::db::{Db, Target};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sink process, stopped when the test ends however it ends.
struct SmtpSink {
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(repo().join("scripts/smtp-sink.sh"))
            .args(["start", &port.to_string()])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "SMTP sink did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmtpSink { port, dir }
    }

    /// The messages received so far, waiting up to 10 s for `want` of them.
    fn messages(&self, want: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect();
            if files.len() >= want || Instant::now() > deadline {
                files.sort();
                return files
                    .iter()
                    .map(|p| std::fs::read_to_string(p).unwrap())
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/smtp-sink.sh"))
            .args(["stop", &self.port.to_string()])
            .status();
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Undoes quoted-printable soft line breaks and `=3D`, enough to search the body.
fn unfold(msg: &str) -> String {
    msg.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

#[test]
fn one_digest_per_filter_per_day_over_smtp() {
    let sink = SmtpSink::start();
    let db = tempfile::tempdir().unwrap();
    let conn = Db::open(&Target::Sqlite(db.path().join("main.db"))).unwrap();
    let smtp = SmtpConfig::new(
        "127.0.0.1",
        sink.port,
        "Solas <solas@broker.test>",
        "https://solas.test/",
    );
    let mut queue = EmailQueue::new(conn, smtp).unwrap();

    let mut alice = FilterTarget::new(21, 3, "Nearby SNe", OutputMode::Email);
    alice.email = Some("alice@example.org".into());
    let mut bob = FilterTarget::new(22, 4, "TDEs", OutputMode::Email);
    bob.email = Some("not an address".into());

    let ids = [169298432598474793_i64, 169298432598474794, 42];
    let rows: Vec<Record> = ids
        .iter()
        .map(|id| {
            Record(
                json!({"diaObjectId": id, "classification": "SN <Ia>", "mag": 19.5})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
        })
        .collect();
    assert_eq!(queue.deliver(&alice, &rows[..2]).unwrap().delivered, 2);
    assert_eq!(queue.deliver(&alice, &rows[2..]).unwrap().delivered, 1);
    // A bad address is refused when the filter runs, for that filter only.
    let err = queue.deliver(&bob, &rows).unwrap_err();
    assert!(err.to_string().contains("not an address"), "{err}");
    assert_eq!(queue.queued(21).unwrap(), 3);

    let day1 = at(1_767_323_045); // 2026-01-02 03:04:05
    let outcomes = queue.send_digests(&[alice.clone(), bob.clone()], day1);
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].result.as_ref().unwrap(), &3);
    assert_eq!(
        outcomes[1].result.as_ref().unwrap(),
        &0,
        "nothing queued for bob"
    );
    assert_eq!(queue.queued(21).unwrap(), 0);

    let msgs = sink.messages(1);
    assert_eq!(msgs.len(), 1);
    let m = unfold(&msgs[0]);
    assert!(m.contains("X-Envelope-To: alice@example.org"), "{m}");
    assert!(m.contains("To: alice@example.org"), "{m}");
    assert!(
        m.contains("Subject: Solas filter Nearby SNe: 3 row(s) on 2026-01-02"),
        "{m}"
    );
    assert!(m.contains("text/html"), "{m}");
    assert!(m.contains("text/plain"), "{m}");
    for id in ids {
        assert!(
            m.contains(&format!(
                "<a href=\"https://solas.test/objects/{id}\">{id}</a>"
            )),
            "{id} not linked in {m}"
        );
    }
    assert!(m.contains("SN &lt;Ia&gt;"), "HTML escaped: {m}");

    // Later the same day: new rows wait for tomorrow's digest.
    queue.deliver(&alice, &rows[..1]).unwrap();
    let again = queue.send_digests(std::slice::from_ref(&alice), at(1_767_350_000));
    assert_eq!(again[0].result.as_ref().unwrap(), &0);
    assert_eq!(queue.queued(21).unwrap(), 1);
    let day2 = at(1_767_323_045 + 86_400);
    let next = queue.send_digests(std::slice::from_ref(&alice), day2);
    assert_eq!(next[0].result.as_ref().unwrap(), &1);
    let msgs = sink.messages(2);
    assert_eq!(msgs.len(), 2);
    assert!(unfold(&msgs[1]).contains("2026-01-03"));
}

#[test]
fn unreachable_smtp_server_keeps_rows_queued() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let conn = Db::open(&Target::Sqlite(dir.path().join("main.db"))).unwrap();
    let mut smtp = SmtpConfig::new("127.0.0.1", port, "solas@broker.test", "https://solas.test");
    smtp.timeout = Duration::from_secs(2);
    let mut queue = EmailQueue::new(conn, smtp).unwrap();
    let mut t = FilterTarget::new(30, 1, "f", OutputMode::Email);
    t.email = Some("carol@example.org".into());
    queue
        .deliver(
            &t,
            &[Record(
                json!({"diaObjectId": 5}).as_object().unwrap().clone(),
            )],
        )
        .unwrap();
    let out = queue.send_digests(std::slice::from_ref(&t), at(1_767_323_045));
    let err = out[0].result.as_ref().unwrap_err();
    assert!(err.to_string().contains("SMTP"), "{err}");
    assert_eq!(queue.queued(30).unwrap(), 1, "retried on the next run");
}
