//! The per-filter Kafka topic: each result row is produced as one JSON message (the row plus
//! `"UTC"`, and the `alert` the caller attached for lite/full), keyed by the object id as a
//! decimal string so every record of an object lands in the same partition, in order. Plain
//! JSON means any Kafka client (kcat, confluent-kafka, Java) can read the topics.
//!
//! A blocking `BaseProducer` polled by the caller's thread: the filter stage is synchronous,
//! and counting delivery reports after `flush` tells exactly what reached the broker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use rdkafka::ClientContext;

use crate::{utc_string, DeliveryError, DeliveryReport, FilterTarget, Record, Sink};

/// How to reach the broker that serves the users' topics.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    pub bootstrap_servers: String,
    /// How long one delivery may wait for the broker to acknowledge everything
    /// (Lasair's final flush is 10 s).
    pub flush_timeout: Duration,
    /// Extra librdkafka properties (security, compression, ...), applied last.
    pub extra: Vec<(String, String)>,
}

impl KafkaConfig {
    pub fn new(bootstrap_servers: &str) -> Self {
        KafkaConfig {
            bootstrap_servers: bootstrap_servers.to_string(),
            flush_timeout: Duration::from_secs(10),
            extra: Vec::new(),
        }
    }
}

/// Delivery reports arrive on the polling thread; counters let `deliver` read them after the
/// flush without channels.
#[derive(Default)]
struct Reports {
    ok: AtomicU64,
    ok_bytes: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Reports {
    fn reset(&self) {
        self.ok.store(0, Ordering::SeqCst);
        self.ok_bytes.store(0, Ordering::SeqCst);
        self.failed.store(0, Ordering::SeqCst);
        if let Ok(mut e) = self.first_error.lock() {
            *e = None;
        }
    }
}

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(msg) => {
                self.ok.fetch_add(1, Ordering::SeqCst);
                self.ok_bytes
                    .fetch_add(msg.payload_len() as u64, Ordering::SeqCst);
            }
            Err((err, _)) => {
                self.failed.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| err.to_string());
                }
            }
        }
    }
}

/// Produces filter results to their topics.
pub struct KafkaSink {
    producer: BaseProducer<Reports>,
    flush_timeout: Duration,
    clock: fn() -> SystemTime,
}

impl KafkaSink {
    /// Creating the producer does not contact the broker; an unreachable broker shows up as
    /// an error from `deliver`.
    pub fn new(config: &KafkaConfig) -> Result<Self, DeliveryError> {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &config.bootstrap_servers)
            // Undelivered messages fail within the flush window instead of lingering in the
            // queue and being counted against a later delivery.
            .set(
                "message.timeout.ms",
                config.flush_timeout.as_millis().max(1).to_string(),
            )
            .set("linger.ms", "5");
        for (k, v) in &config.extra {
            cc.set(k, v);
        }
        let producer = cc
            .create_with_context(Reports::default())
            .map_err(|e| DeliveryError::Kafka(format!("cannot create producer: {e}")))?;
        Ok(KafkaSink {
            producer,
            flush_timeout: config.flush_timeout,
            clock: SystemTime::now,
        })
    }

    /// Replaces the clock that stamps `UTC` (tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    fn fail(&self, target: &FilterTarget, reason: String) -> DeliveryError {
        // Drop whatever is still queued so it is not sent (and miscounted) later.
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        self.producer.poll(Duration::from_millis(100));
        DeliveryError::target(target, format!("kafka topic {}: {reason}", target.topic))
    }
}

impl Sink for KafkaSink {
    fn deliver(
        &mut self,
        target: &FilterTarget,
        records: &[Record],
    ) -> Result<DeliveryReport, DeliveryError> {
        if records.is_empty() {
            return Ok(DeliveryReport::default());
        }
        if target.topic.is_empty() {
            return Err(DeliveryError::target(target, "empty Kafka topic name"));
        }
        let reports = self.producer.context();
        reports.reset();
        let utc = utc_string((self.clock)());
        for r in records {
            let payload = r.to_json_with_utc(&utc);
            let key = r.object_id();
            let id = r.record_id(target.filter_id);
            let headers = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                key: "solas-record-id",
                value: Some(id.as_str()),
            });
            let mut message: BaseRecord<'_, str, [u8]> = BaseRecord::to(&target.topic)
                .payload(&payload[..])
                .headers(headers);
            if let Some(k) = &key {
                message = message.key(k.as_str());
            }
            loop {
                match self.producer.send(message) {
                    Ok(()) => break,
                    // The local queue is full: serve delivery reports to make room, then retry.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), m)) => {
                        message = m;
                        self.producer.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => return Err(self.fail(target, e.to_string())),
                }
            }
            self.producer.poll(Duration::ZERO);
        }
        if let Err(e) = self.producer.flush(self.flush_timeout) {
            return Err(self.fail(
                target,
                format!("not acknowledged within {:?}: {e}", self.flush_timeout),
            ));
        }
        let reports = self.producer.context();
        let failed = reports.failed.load(Ordering::SeqCst);
        if failed > 0 {
            let first = reports
                .first_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_default();
            return Err(self.fail(
                target,
                format!("{failed} of {} record(s) failed: {first}", records.len()),
            ));
        }
        Ok(DeliveryReport {
            delivered: reports.ok.load(Ordering::SeqCst),
            bytes: reports.ok_bytes.load(Ordering::SeqCst),
            rejected_quota: 0,
        })
    }
}
