//! Alerts that cannot be decoded are set aside, not lost: the raw bytes go to
//! `<dir>/<reason>/<name>` with a `.txt` beside them saying where they came from and why.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::message::Origin;

pub struct Rejected {
    dir: PathBuf,
    seq: AtomicU64,
}

impl Rejected {
    pub fn new(dir: &Path) -> Rejected {
        Rejected {
            dir: dir.to_path_buf(),
            seq: AtomicU64::new(0),
        }
    }

    /// Keep `payload`; failures to write are logged, since the rejection is already counted.
    pub fn set_aside(
        &self,
        origin: &Origin,
        record_offset: Option<u64>,
        reason: &str,
        detail: &str,
        payload: &[u8],
    ) {
        let dir = self.dir.join(reason);
        let name = match origin {
            Origin::File { path } => Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "alert".into()),
            Origin::Kafka {
                topic,
                partition,
                offset,
            } => format!("{topic}-{partition}-{offset}.avro"),
        };
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let base = dir.join(format!("{n:06}-{name}"));
        let note = format!(
            "origin: {origin}\nrecord offset: {}\nreason: {reason}\ndetail: {detail}\n",
            record_offset
                .map(|o| o.to_string())
                .unwrap_or_else(|| "-".into())
        );
        let result = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&base, payload))
            .and_then(|_| std::fs::write(base.with_extension("txt"), note));
        if let Err(e) = result {
            log::error!(
                "could not set aside rejected alert from {origin} in {}: {e}",
                dir.display()
            );
        }
    }
}
