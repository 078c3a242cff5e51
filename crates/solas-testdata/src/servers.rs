//! The real servers some tests need on loopback: a PostgreSQL database of their own (the
//! server at 127.0.0.1:5432 that scripts/test.sh starts) and an S3-compatible server (moto,
//! started by scripts/s3-server.sh). Both are removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

/// A PostgreSQL database of its own, dropped at the end.
pub struct TempDb {
    name: String,
}

impl TempDb {
    /// A fresh database named after this process and `suffix`. None (the test is skipped)
    /// when the server is not there, unless SOLAS_REQUIRE_POSTGRES is set (scripts/test.sh
    /// sets it where the server runs).
    pub fn create(suffix: &str) -> Option<TempDb> {
        let mut admin = match postgres::Client::connect(PG_ADMIN, postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("SOLAS_REQUIRE_POSTGRES").is_none(),
                    "PostgreSQL at 127.0.0.1:5432 not reachable: {e}"
                );
                eprintln!("PostgreSQL not reachable: skipped");
                return None;
            }
        };
        // Unique per call too: two tests of one binary may ask for the same suffix at once
        // (both dropped and made one name, and one failed).
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("solas_test_{}_{n}_{suffix}", std::process::id());
        // One statement per call: several in one string run as a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Some(TempDb { name })
    }

    /// The connection string.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port=5432 user=postgres dbname={}",
            self.name
        )
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(PG_ADMIN, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// An S3-compatible server (moto) on a free loopback port, with one bucket.
pub struct S3Server {
    port: u16,
}

impl S3Server {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/s3-server.sh")
    }

    /// Start the server with `bucket` made; panics with the script's output if it fails.
    pub fn start(bucket: &str) -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = Command::new(S3Server::script())
            .args(["start", &port.to_string(), bucket])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "S3 server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        S3Server { port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The object_store settings for it (the AWS_* variables without the prefix).
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("endpoint", self.endpoint()),
            ("allow_http", "true".into()),
            ("access_key_id", "test".into()),
            ("secret_access_key", "test".into()),
            ("region", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The same as environment variables, for a `solas` process.
    pub fn env(&self) -> Vec<(String, String)> {
        self.options()
            .into_iter()
            .map(|(k, v)| (format!("AWS_{}", k.to_uppercase()), v))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = Command::new(S3Server::script())
            .args(["stop", &self.port.to_string()])
            .output();
    }
}

/// A TCP proxy on loopback in front of a server, which a test cuts (every open connection
/// closed, new ones closed at once) and restores: an outage of the service as its clients
/// see it, while the server behind keeps its data.
pub struct TcpProxy {
    addr: std::net::SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl TcpProxy {
    /// Listen on a free loopback port and forward each connection to `target`.
    pub fn start(target: std::net::SocketAddr) -> TcpProxy {
        use std::io::copy;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (is_cut, opened) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if is_cut.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                if let Ok(mut list) = opened.lock() {
                    list.extend(client.try_clone().ok());
                    list.extend(server.try_clone().ok());
                }
                let (mut c_read, mut s_write) = (client, s2);
                std::thread::spawn(move || {
                    let _ = copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(std::net::Shutdown::Both);
                });
                let (mut s_read, mut c_write) = (server, c2);
                std::thread::spawn(move || {
                    let _ = copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        TcpProxy { addr, cut, open }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The service is gone: open connections are closed and new ones refused.
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut list) = self.open.lock() {
            for s in list.drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// The service is back.
    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A local HTTP endpoint that keeps the body of every POST (an operator's alert hook, a
/// webhook), answering 200.
pub struct HookSink {
    addr: std::net::SocketAddr,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HookSink {
    pub fn start() -> HookSink {
        use std::io::{BufRead, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(stream);
                let mut length = 0usize;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok() {
                    if let Ok(mut b) = kept.lock() {
                        b.push(String::from_utf8_lossy(&body).into_owned());
                    }
                }
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        HookSink { addr, bodies }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every body received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

/// Restart the PostgreSQL server at 127.0.0.1:5432 (the cluster scripts/test.sh starts),
/// down for `down` in between: every open connection is ended, as in a real restart.
pub fn restart_postgres(down: std::time::Duration) {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|d| d.flatten().map(|e| e.file_name()).max())
        .expect("a PostgreSQL cluster under /etc/postgresql");
    let version = version.to_string_lossy().into_owned();
    // `-m fast` ends the open connections at once, as a restart under load does.
    let ctl = |options: &[&str], action: &str| {
        let out = Command::new("pg_ctlcluster")
            .arg("--skip-systemctl-redirect")
            .args(options)
            .args([version.as_str(), "main", action])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctlcluster {action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ctl(&["-m", "fast"], "stop");
    std::thread::sleep(down);
    ctl(&[], "start");
    for _ in 0..100 {
        if postgres::Client::connect(PG_ADMIN, postgres::NoTls).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("PostgreSQL did not come back after the restart");
}

/// A real Kafka-protocol broker process (tansu, from `scripts/kafka-broker.sh`) on a free
/// loopback port. On S3 storage its topics, messages and committed offsets outlive the
/// process, so a test can crash it and start it again mid-run.
pub struct KafkaBroker {
    port: u16,
    env: Vec<(String, String)>,
}

impl KafkaBroker {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka-broker.sh")
    }

    /// A broker keeping its log in memory (lost when it stops).
    pub fn start() -> KafkaBroker {
        KafkaBroker::start_with(Vec::new())
    }

    /// A broker keeping its log in `bucket` of `s3`.
    pub fn start_on(s3: &S3Server, bucket: &str) -> KafkaBroker {
        let mut env = s3.env();
        env.push(("TANSU_STORAGE".into(), format!("s3://{bucket}/")));
        KafkaBroker::start_with(env)
    }

    fn start_with(env: Vec<(String, String)>) -> KafkaBroker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let broker = KafkaBroker { port, env };
        broker.up();
        broker
    }

    fn up(&self) {
        let out = Command::new(KafkaBroker::script())
            .args(["start", &self.port.to_string()])
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "broker did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Kill the process (SIGKILL, as a crash), wait `down`, start it again on the same port.
    pub fn crash_and_restart(&self, down: std::time::Duration) {
        let _ = Command::new(KafkaBroker::script())
            .args(["stop", &self.port.to_string()])
            .env("SIGNAL", "KILL")
            .output();
        std::thread::sleep(down);
        self.up();
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Create `topic` with tansu's own CLI (tansu does not create topics on first use).
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let tansu = Command::new(KafkaBroker::script())
            .arg("path")
            .output()
            .unwrap();
        let tansu = String::from_utf8(tansu.stdout).unwrap();
        let out = Command::new(tansu.trim())
            .args(["topic", "create", topic, "--partitions"])
            .arg(partitions.to_string())
            .args(["--broker", &format!("tcp://{}", self.address())])
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        let _ = Command::new(KafkaBroker::script())
            .args(["stop", &self.port.to_string()])
            .output();
    }
}

/// A PostgreSQL server of its own (a cluster made with `initdb` in a temporary directory)
/// on a free loopback port, with trust auth for `postgres`; stopped and removed at the end.
/// For tests that need several servers (the sharded lightcurve store). Run as the
/// `postgres` user when the tests run as root, since the server refuses root.
pub struct PgCluster {
    dir: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
    bin: std::path::PathBuf,
}

impl PgCluster {
    /// None (the test is skipped) when PostgreSQL's server programs are not installed,
    /// unless SOLAS_REQUIRE_POSTGRES is set.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = pg_bindir() else {
            assert!(
                std::env::var_os("SOLAS_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL's initdb and pg_ctl were not found"
            );
            eprintln!("PostgreSQL's server programs not found: skipped");
            return None;
        };
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("solas-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = PgCluster {
            dir,
            port,
            as_postgres: root,
            bin,
        };
        if root {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown of {}", cluster.dir.display());
        }
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c shared_buffers=32MB",
            cluster.dir.display()
        );
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &cluster.dir.join("log").display().to_string(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
        Some(cluster)
    }

    /// A connection string to its `postgres` database.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// One of the server's programs, run as the `postgres` user when the tests are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where PostgreSQL's server programs are: `pg_config --bindir`, else the newest
/// /usr/lib/postgresql/*/bin (Debian keeps them off the PATH).
fn pg_bindir() -> Option<std::path::PathBuf> {
    let has = |dir: &std::path::Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&dir) {
            return Some(dir);
        }
    }
    let mut found: Vec<std::path::PathBuf> = glob::glob("/usr/lib/postgresql/*/bin")
        .ok()?
        .flatten()
        .filter(|d| has(d))
        .collect();
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}
