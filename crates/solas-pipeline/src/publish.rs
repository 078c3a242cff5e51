//! The ingest stage's output when stages run as separate processes (`solas ingest`): each
//! stored, cutout-free alert is published as JSON to an internal Kafka topic, keyed by its
//! object so that one object's alerts stay in one partition, in order, for one downstream
//! worker. A batch's source positions are acknowledged only once the broker has every
//! message of the batch, so a crash re-publishes rather than loses (downstream writes are
//! idempotent). A broker that is down or restarting is waited for ([`Retrier`]): the batch
//! is sent again until the broker has it, and upstream stages wait meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use solas_store::ErrorKind;

use crate::message::{InFlight, Published, PUBLISHED_VERSION};
use crate::retry::{Failure, GaveUp, Retrier};
use crate::stage::{Never, Output, Stage, Status};
use crate::stats::Stats;

/// Why a publish to a Kafka topic failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker has not taken every message yet (down, restarting, unreachable).
    #[error("topic {topic}: the broker has not taken the batch: {source}")]
    NotFlushed { topic: String, source: KafkaError },
    /// Messages the producer gave up on (timed out, refused by the broker).
    #[error("topic {topic}: {failed} messages not delivered ({last})")]
    NotDelivered {
        topic: String,
        failed: u64,
        last: RDKafkaErrorCode,
    },
    /// The producer refused the message outright.
    #[error("topic {topic}: {source}")]
    Refused { topic: String, source: KafkaError },
    #[error("encoding the alert: {0}")]
    Encode(#[from] serde_json::Error),
    /// The producer could not be made (a bad setting).
    #[error("kafka producer: {0}")]
    Client(KafkaError),
}

/// Delivery errors that no retry mends: the message itself is at fault.
fn permanent(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
    )
}

impl Failure for PublishError {
    fn kind(&self) -> ErrorKind {
        match self {
            PublishError::NotFlushed { .. } => ErrorKind::Transient,
            PublishError::NotDelivered { last, .. } if permanent(*last) => ErrorKind::Permanent,
            PublishError::NotDelivered { .. } => ErrorKind::Transient,
            PublishError::Refused { source, .. } => match source.rdkafka_error_code() {
                Some(code) if permanent(code) => ErrorKind::Permanent,
                // A full queue, an unknown topic not yet created: wait for the operator.
                _ => ErrorKind::Transient,
            },
            PublishError::Encode(_) | PublishError::Client(_) => ErrorKind::Permanent,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PublishConfig {
    pub brokers: String,
    pub topic: String,
    pub extra: Vec<(String, String)>,
}

#[derive(Default)]
struct Failures {
    count: AtomicU64,
    last: std::sync::Mutex<Option<RDKafkaErrorCode>>,
}

impl ClientContext for Failures {}

impl ProducerContext for Failures {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            log::warn!("publishing an alert failed (it will be sent again): {e}");
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = e.rdkafka_error_code();
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub struct Publisher {
    producer: ThreadedProducer<Failures>,
    topic: String,
    pub stats: Arc<Stats>,
    /// Waits out the broker while it does not take a batch.
    pub retry: Arc<Retrier>,
}

impl Publisher {
    pub fn new(
        config: &PublishConfig,
        stats: Arc<Stats>,
        retry: Arc<Retrier>,
    ) -> Result<Publisher, PublishError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("message.max.bytes", "10485760");
        for (k, v) in &config.extra {
            client.set(k, v);
        }
        let producer = client
            .create_with_context(Failures::default())
            .map_err(PublishError::Client)?;
        Ok(Publisher {
            producer,
            topic: config.topic.clone(),
            stats,
            retry,
        })
    }
}

impl Stage for Publisher {
    const NAME: &'static str = "publish";
    type In = InFlight;
    type Out = Never;
    type Error = PublishError;

    /// Publish until the input closes. A batch the broker does not take is sent again
    /// (with backoff) until it does; its alerts are acknowledged only then. A stop during
    /// the wait leaves them unacknowledged.
    fn run(self, input: Receiver<InFlight>, output: Output<Never>) -> Result<(), PublishError> {
        let retry = self.retry.clone();
        while let Some(batch) = crate::batch::next_batch(
            &input,
            1000,
            Duration::from_millis(20),
            Duration::from_millis(200),
        ) {
            let payloads = batch
                .iter()
                .map(|msg| {
                    serde_json::to_vec(&Published {
                        version: PUBLISHED_VERSION,
                        alert: &msg.alert,
                        context: msg.context.as_ref().map(|c| &c.classified),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(PublishError::Encode)?;
            // Sent once; after a flush that timed out the messages are still queued, so
            // only a delivery failure sends the batch again.
            let mut queued = false;
            let published = retry.run("Kafka topic", || {
                if !queued {
                    self.send(&batch, &payloads)?;
                    queued = true;
                }
                let result = self.flush();
                if matches!(result, Err(PublishError::NotDelivered { .. })) {
                    queued = false;
                }
                result
            });
            match published {
                Ok(()) => {}
                Err(GaveUp::Failed(e)) => return Err(e),
                // Stopping while the broker is down: the batch stays unacknowledged (read
                // again after the restart), and the run says how many alerts that was.
                Err(GaveUp::Stopped { .. }) => {
                    Stats::add(&self.stats.abandoned, crate::message::payloads_in(&batch));
                    return Ok(());
                }
            }
            Stats::add(&self.stats.published, batch.len() as u64);
            for msg in batch {
                if msg.last_of_payload {
                    output.ack(msg.origin, Status::Delivered);
                }
            }
        }
        Ok(())
    }
}

impl Publisher {
    /// Queue every message of the batch, keyed by object (waiting while the queue is full).
    fn send(&self, batch: &[InFlight], payloads: &[Vec<u8>]) -> Result<(), PublishError> {
        self.producer.context().count.store(0, Ordering::SeqCst);
        for (msg, payload) in batch.iter().zip(payloads) {
            let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic)
                .key(msg.alert.object.name.as_bytes())
                .payload(payload);
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err((source, _)) => {
                        return Err(PublishError::Refused {
                            topic: self.topic.clone(),
                            source,
                        })
                    }
                }
            }
        }
        Ok(())
    }

    /// Wait until the broker has taken everything queued, or say why not.
    fn flush(&self) -> Result<(), PublishError> {
        self.producer
            .flush(Duration::from_secs(30))
            .map_err(|source| PublishError::NotFlushed {
                topic: self.topic.clone(),
                source,
            })?;
        let context = self.producer.context();
        let failed = context.count.load(Ordering::SeqCst);
        if failed > 0 {
            let last = context
                .last
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or(RDKafkaErrorCode::Fail);
            return Err(PublishError::NotDelivered {
                topic: self.topic.clone(),
                failed,
                last,
            });
        }
        Ok(())
    }
}
