//! Alerts that cannot be decoded are set aside, not lost: the raw bytes go to
//! `<dir>/<reason>/<name>` with a `.txt` beside them saying where they came from and why,
//! and, when a dead-letter topic is configured, to that Kafka topic with the reason, detail
//! and origin as message headers (so a fleet of workers keeps them in one place).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use solas_store::StoreError;

use crate::message::Origin;
#[cfg(feature = "kafka")]
use crate::publish::PublishError;

pub struct Rejected {
    dir: PathBuf,
    seq: AtomicU64,
    #[cfg(feature = "kafka")]
    dead_letter: Option<(rdkafka::producer::BaseProducer, String)>,
}

impl Rejected {
    pub fn new(dir: &Path) -> Rejected {
        Rejected {
            dir: dir.to_path_buf(),
            seq: AtomicU64::new(0),
            #[cfg(feature = "kafka")]
            dead_letter: None,
        }
    }

    /// Also publish every rejected payload to `config.topic`.
    #[cfg(feature = "kafka")]
    pub fn with_dead_letter(
        mut self,
        config: &crate::publish::PublishConfig,
    ) -> Result<Rejected, PublishError> {
        let mut client = rdkafka::ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("message.max.bytes", "10485760")
            // Never dropped for taking long: a broker outage is waited out (the caller
            // flushes until delivered), not turned into a lost rejection.
            .set("message.timeout.ms", "0");
        for (k, v) in &config.extra {
            client.set(k, v);
        }
        let producer = client.create().map_err(PublishError::Client)?;
        self.dead_letter = Some((producer, config.topic.clone()));
        Ok(self)
    }

    /// Queue a rejected payload for the dead-letter topic, with the reason, detail and
    /// origin as headers. Rejections are rare: the caller flushes each ([`Self::flush`])
    /// before the payload is acknowledged.
    #[cfg(feature = "kafka")]
    pub fn publish(
        &self,
        origin: &Origin,
        reason: &str,
        detail: &str,
        payload: &[u8],
    ) -> Result<(), PublishError> {
        use rdkafka::message::{Header, OwnedHeaders};
        use rdkafka::producer::BaseRecord;
        let Some((producer, topic)) = &self.dead_letter else {
            return Ok(());
        };
        let origin = origin.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "detail",
                value: Some(detail),
            })
            .insert(Header {
                key: "origin",
                value: Some(origin.as_str()),
            });
        let record = BaseRecord::<(), [u8]>::to(topic)
            .payload(payload)
            .headers(headers);
        producer
            .send(record)
            .map_err(|(source, _)| PublishError::Refused {
                topic: topic.clone(),
                source,
            })
    }

    /// Wait until the broker has every queued dead letter; a timeout is transient (the
    /// messages stay queued, they never expire) and the caller flushes again.
    #[cfg(feature = "kafka")]
    pub fn flush(&self) -> Result<(), PublishError> {
        use rdkafka::producer::Producer;
        let Some((producer, topic)) = &self.dead_letter else {
            return Ok(());
        };
        producer
            .flush(std::time::Duration::from_secs(30))
            .map_err(|source| PublishError::NotFlushed {
                topic: topic.clone(),
                source,
            })
    }

    #[cfg(not(feature = "kafka"))]
    pub fn publish(&self, _: &Origin, _: &str, _: &str, _: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }

    #[cfg(not(feature = "kafka"))]
    pub fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Keep `payload` under the reason's folder. A failure (a full disk) is an I/O error,
    /// transient: the payload must not be acknowledged until it is kept.
    pub fn set_aside(
        &self,
        origin: &Origin,
        record_offset: Option<u64>,
        reason: &str,
        detail: &str,
        payload: &[u8],
    ) -> Result<(), StoreError> {
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
        std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&base, payload))
            .and_then(|_| std::fs::write(base.with_extension("txt"), note))
            .map_err(|source| StoreError::Io {
                path: base.display().to_string(),
                source,
            })
    }
}
