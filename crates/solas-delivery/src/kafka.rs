//! The per-filter Kafka topic: each result row is produced as one JSON message (the row plus
//! `"UTC"`, and the `alert` the caller attached for lite/full; a GCN notice as it is, with
//! its `alert_datetime`), keyed by the object id as a
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
    /// The first failure's text and code.
    first_error: Mutex<Option<(String, Option<RDKafkaErrorCode>)>>,
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
                    first.get_or_insert_with(|| (err.to_string(), err.rdkafka_error_code()));
                }
            }
        }
    }
}

/// Failures that mean the brokers are down or moving (an outage the pipeline waits out),
/// as opposed to something wrong with one filter's topic (unknown, not allowed, too large).
fn outage(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        MessageTimedOut
            | AllBrokersDown
            | BrokerTransportFailure
            | NetworkException
            | RequestTimedOut
            | NotLeaderForPartition
            | LeaderNotAvailable
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | QueueFull
            | Resolve
            | OperationTimedOut
    )
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

    /// Whether a failure that looks like an outage is one: the brokers do not answer, or
    /// the topic is there (its leader moving). A broker that answers without the topic
    /// (never created, and not created on first use) is this filter's problem, reported to
    /// its owner, not an outage to hold the whole stream for.
    fn brokers_down_or_topic_there(&self, topic: &str) -> bool {
        match self
            .producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
        {
            Err(_) => true,
            Ok(metadata) => metadata
                .topics()
                .iter()
                .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()),
        }
    }

    fn fail(&self, target: &FilterTarget, reason: String, outage: bool) -> DeliveryError {
        let outage = outage && self.brokers_down_or_topic_there(&target.topic);
        // Drop whatever is still queued so it is not sent (and miscounted) later.
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        self.producer.poll(Duration::from_millis(100));
        let reason = format!("kafka topic {}: {reason}", target.topic);
        if outage {
            DeliveryError::Unavailable {
                filter_id: target.filter_id,
                name: target.name.clone(),
                reason,
            }
        } else {
            DeliveryError::target(target, reason)
        }
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
        let now = (self.clock)();
        let utc = utc_string(now);
        let gcn = target.mode == crate::OutputMode::KafkaGcn;
        for r in records {
            // A GCN notice is sent in its schema's shape (no `UTC` key: its time is
            // `alert_datetime`), keyed by its object.
            let (payload, key) = match gcn {
                true => (
                    crate::gcn::with_alert_datetime(r, now),
                    crate::gcn::event_name(r),
                ),
                false => (r.to_json_with_utc(&utc), r.object_id()),
            };
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
                    Err((e, _)) => {
                        let outage = e.rdkafka_error_code().is_some_and(outage);
                        return Err(self.fail(target, e.to_string(), outage));
                    }
                }
            }
            self.producer.poll(Duration::ZERO);
        }
        if let Err(e) = self.producer.flush(self.flush_timeout) {
            return Err(self.fail(
                target,
                format!("not acknowledged within {:?}: {e}", self.flush_timeout),
                true,
            ));
        }
        let reports = self.producer.context();
        let failed = reports.failed.load(Ordering::SeqCst);
        if failed > 0 {
            let (first, code) = reports
                .first_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_default();
            return Err(self.fail(
                target,
                format!("{failed} of {} record(s) failed: {first}", records.len()),
                code.is_some_and(outage),
            ));
        }
        Ok(DeliveryReport {
            delivered: reports.ok.load(Ordering::SeqCst),
            bytes: reports.ok_bytes.load(Ordering::SeqCst),
            rejected_quota: 0,
        })
    }
}
