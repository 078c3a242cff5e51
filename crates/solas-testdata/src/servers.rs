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
        let name = format!("solas_test_{}_{suffix}", std::process::id());
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
