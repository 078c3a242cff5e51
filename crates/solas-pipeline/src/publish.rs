//! The ingest stage's output when stages run as separate processes (`solas ingest`): each
//! stored, cutout-free alert is published as JSON to an internal Kafka topic, keyed by its
//! object so that one object's alerts stay in one partition, in order, for one downstream
//! worker. A batch's source positions are acknowledged only once the broker has every
//! message of the batch, so a crash re-publishes rather than loses (downstream writes are
//! idempotent).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use crate::message::{InFlight, Origin};
use crate::stats::Stats;

#[derive(Debug, Clone)]
pub struct PublishConfig {
    pub brokers: String,
    pub topic: String,
    pub extra: Vec<(String, String)>,
}

/// What goes on the internal topics: the cutout-free alert and, after the context stage,
/// its classification (the `sherlock_classifications` row). Read back as
/// [`crate::message::Published`].
#[derive(serde::Serialize)]
struct Published<'a> {
    alert: &'a solas_core::Alert,
    context: Option<&'a serde_json::Value>,
}

#[derive(Default)]
struct Failures(AtomicU64);

impl ClientContext for Failures {}

impl ProducerContext for Failures {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            log::error!("publishing an alert failed: {e}");
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub struct Publisher {
    producer: ThreadedProducer<Failures>,
    topic: String,
    pub stats: Arc<Stats>,
}

impl Publisher {
    pub fn new(config: &PublishConfig, stats: Arc<Stats>) -> Result<Publisher, String> {
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
            .map_err(|e| format!("kafka producer: {e}"))?;
        Ok(Publisher {
            producer,
            topic: config.topic.clone(),
            stats,
        })
    }

    /// Publish until the input closes. A batch the broker did not take ends the stage with
    /// an error, its alerts unacknowledged.
    pub fn run(self, input: Receiver<InFlight>, acks: Sender<Origin>) -> Result<(), String> {
        while let Some(batch) = crate::batch::next_batch(
            &input,
            1000,
            Duration::from_millis(20),
            Duration::from_millis(200),
        ) {
            let before = self.producer.context().0.load(Ordering::SeqCst);
            for msg in &batch {
                let envelope = Published {
                    alert: &msg.alert,
                    context: msg.context.as_ref().map(|c| &c.row),
                };
                let payload = serde_json::to_vec(&envelope).map_err(|e| e.to_string())?;
                let key = msg.alert.object.name.as_bytes();
                let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic)
                    .key(key)
                    .payload(&payload);
                loop {
                    match self.producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err((e, _)) => return Err(format!("publishing to {}: {e}", self.topic)),
                    }
                }
            }
            self.producer
                .flush(Duration::from_secs(60))
                .map_err(|e| format!("publishing to {}: {e}", self.topic))?;
            if self.producer.context().0.load(Ordering::SeqCst) > before {
                return Err(format!("the broker refused alerts for {}", self.topic));
            }
            Stats::add(&self.stats.published, batch.len() as u64);
            for msg in batch {
                if msg.last_of_payload {
                    let _ = acks.send(msg.origin);
                }
            }
        }
        Ok(())
    }
}
