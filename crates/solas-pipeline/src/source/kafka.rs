//! A Kafka topic read by a consumer group, at least once.
//!
//! Auto-commit is off. Each message's offset is tracked from the moment it is handed to the
//! pipeline until the filter stage has committed the batch that holds it (or ingest has set
//! it aside as undecodable); only offsets below the oldest unfinished message are committed.
//! A restart therefore resumes after the last durable alert, and anything re-read is
//! harmless because every store write is idempotent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::{Source, SourceError};
use crate::ack::AckTracker;
use crate::message::{Origin, RawAlert};

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    /// Stop after this long without a message (None: run until stopped).
    pub idle_exit: Option<Duration>,
    /// Stop after this many messages (None: no limit).
    pub max_messages: Option<u64>,
    /// Extra librdkafka settings (`key=value`).
    pub extra: Vec<(String, String)>,
}

pub struct KafkaSource {
    config: KafkaConfig,
    consumer: BaseConsumer,
    tracker: AckTracker,
    /// Where the consumer lag is reported (messages behind the partitions' ends).
    lag: Option<std::sync::Arc<crate::stats::Stats>>,
    /// The operator's alert hook, told when the brokers stay unreachable this long.
    hook: Option<(String, Duration)>,
    /// Since when the brokers have not answered, and whether the hook was told.
    unreachable: Option<(Instant, bool)>,
}

/// With an idle limit, how long to wait for the group to assign partitions at all.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// How often the consumer lag is measured (it asks the brokers for the partitions' ends).
const LAG_EVERY: Duration = Duration::from_secs(5);
/// How long to wait at shutdown for the pipeline to finish what it holds.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

impl KafkaSource {
    pub fn new(config: KafkaConfig) -> Result<KafkaSource, SourceError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("group.id", &config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("fetch.message.max.bytes", "10485760");
        for (k, v) in &config.extra {
            client.set(k, v);
        }
        let consumer: BaseConsumer = client
            .create()
            .map_err(|e| SourceError::Kafka(e.to_string()))?;
        consumer
            .subscribe(&[config.topic.as_str()])
            .map_err(|e| SourceError::Kafka(e.to_string()))?;
        Ok(KafkaSource {
            config,
            consumer,
            tracker: AckTracker::default(),
            lag: None,
            hook: None,
            unreachable: None,
        })
    }

    /// Report the consumer lag into `stats` (every few seconds while running).
    pub fn with_lag_stats(mut self, stats: std::sync::Arc<crate::stats::Stats>) -> Self {
        self.lag = Some(stats);
        self
    }

    /// Tell the alert hook at `url` when the brokers have not answered for `after`, and
    /// again when they answer.
    pub fn with_alert_hook(mut self, url: String, after: Duration) -> Self {
        self.hook = Some((url, after));
        self
    }

    /// Ask the brokers for the topic's metadata; post to the hook when they have been
    /// unreachable for its delay, and when they come back.
    fn check_brokers(&mut self) {
        let Some((url, after)) = &self.hook else {
            return;
        };
        let answer = self
            .consumer
            .fetch_metadata(Some(&self.config.topic), Duration::from_secs(3));
        match (answer, self.unreachable) {
            (Ok(_), Some((since, told))) => {
                self.unreachable = None;
                if told {
                    crate::alert_hook::post(
                        url,
                        &format!(
                            "Solas reaches Kafka at {} again (topic {}), after {:.0} s",
                            self.config.brokers,
                            self.config.topic,
                            since.elapsed().as_secs_f64()
                        ),
                    );
                }
            }
            (Ok(_), None) => {}
            (Err(_), None) => self.unreachable = Some((Instant::now(), false)),
            (Err(e), Some((since, false))) if since.elapsed() >= *after => {
                let text = format!(
                    "Solas cannot reach Kafka at {} (topic {}, group {}) for {:.0} s: {e}",
                    self.config.brokers,
                    self.config.topic,
                    self.config.group,
                    since.elapsed().as_secs_f64()
                );
                log::error!("{text}");
                crate::alert_hook::post(url, &text);
                self.unreachable = Some((since, true));
            }
            (Err(_), Some(_)) => {}
        }
    }

    /// Messages between this member's read positions and the ends of its partitions.
    fn measure_lag(&self) {
        let Some(stats) = &self.lag else { return };
        let Ok(positions) = self.consumer.position() else {
            return;
        };

        // A partition not read from yet has no position: it counts from the group's
        // committed offset, or from the start of the log (auto.offset.reset = earliest).
        // Asked for only when needed: it is a round trip to the group coordinator.
        let mut committed: Option<Option<TopicPartitionList>> = None;
        let mut lag = 0i64;
        for e in positions.elements() {
            let (low, high) = match self.consumer.fetch_watermarks(
                e.topic(),
                e.partition(),
                Duration::from_secs(2),
            ) {
                Ok(marks) => marks,
                Err(err) => {
                    log::debug!("consumer lag not measured: {err}");
                    return; // a partial figure would mislead: keep the last one
                }
            };
            let at = match e.offset() {
                Offset::Offset(o) => o,
                _ => committed
                    .get_or_insert_with(|| self.consumer.committed(Duration::from_secs(2)).ok())
                    .as_ref()
                    .and_then(|c| c.find_partition(e.topic(), e.partition()))
                    .and_then(|c| match c.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    })
                    .unwrap_or(low),
            };
            lag += (high - at).max(0);
        }
        stats
            .kafka_lag
            .store(lag as u64, std::sync::atomic::Ordering::Relaxed);
    }

    fn assigned(&self) -> bool {
        self.consumer.assignment().is_ok_and(|a| a.count() > 0)
    }

    fn take_acks(&mut self, acks: &Receiver<Origin>) {
        while let Ok(origin) = acks.try_recv() {
            if let Origin::Kafka {
                topic,
                partition,
                offset,
            } = origin
            {
                self.tracker.done(&topic, partition, offset);
            }
        }
    }

    fn commit(&mut self) -> Result<(), SourceError> {
        let positions = self.tracker.committable();
        if positions.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset) in positions {
            tpl.add_partition_offset(&topic, partition, Offset::Offset(offset))
                .map_err(|e| SourceError::Kafka(e.to_string()))?;
        }
        match self.consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => Ok(()),
            // After a rebalance the partition may belong to another member; its commit fails
            // and the other member re-reads from the last good commit (harmless).
            Err(e) => {
                log::warn!("offset commit failed (will retry): {e}");
                Ok(())
            }
        }
    }
}

impl Source for KafkaSource {
    fn run(
        &mut self,
        out: Sender<RawAlert>,
        acks: Receiver<Origin>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        let started = Instant::now();
        // The idle clock starts once the group has given this member partitions: joining a
        // group can itself take seconds.
        let mut last_message: Option<Instant> = None;
        let mut last_commit = Instant::now();
        let mut last_lag = Instant::now() - LAG_EVERY;
        let mut read = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if self.config.max_messages.is_some_and(|m| read >= m) {
                break;
            }
            if last_message.is_none() && self.assigned() {
                last_message = Some(Instant::now());
            }
            let limit = match (self.config.idle_exit, last_message) {
                (Some(d), Some(_)) => Some(d),
                (Some(d), None) => Some(d.max(JOIN_TIMEOUT)),
                (None, _) => None,
            };
            if limit.is_some_and(|d| last_message.unwrap_or(started).elapsed() >= d) {
                break;
            }
            self.take_acks(&acks);
            if last_commit.elapsed() >= COMMIT_EVERY {
                self.commit()?;
                last_commit = Instant::now();
            }
            if last_lag.elapsed() >= LAG_EVERY {
                self.check_brokers();
                self.measure_lag();
                last_lag = Instant::now();
            }
            let message = match self.consumer.poll(Duration::from_millis(100)) {
                None => continue,
                Some(Err(e)) => {
                    log::warn!("kafka: {e}");
                    continue;
                }
                Some(Ok(m)) => m,
            };
            last_message = Some(Instant::now());
            read += 1;
            let origin = Origin::Kafka {
                topic: message.topic().to_string(),
                partition: message.partition(),
                offset: message.offset(),
            };
            self.tracker
                .started(message.topic(), message.partition(), message.offset());
            let payload = message.payload().map(<[u8]>::to_vec).unwrap_or_default();
            drop(message);
            if out.send(RawAlert::new(origin, payload)).is_err() {
                break;
            }
        }
        // No more input: let the pipeline finish what it holds, then commit it.
        self.measure_lag();
        drop(out);
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while self.tracker.in_flight() > 0 && Instant::now() < deadline {
            match acks.recv_timeout(Duration::from_millis(200)) {
                Ok(Origin::Kafka {
                    topic,
                    partition,
                    offset,
                }) => self.tracker.done(&topic, partition, offset),
                Ok(_) => {}
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
        }
        self.take_acks(&acks);
        if self.tracker.in_flight() > 0 {
            log::warn!(
                "{} messages unfinished at shutdown: their offsets are not committed and will be re-read",
                self.tracker.in_flight()
            );
        }
        self.commit()
    }

    fn describe(&self) -> String {
        format!(
            "kafka {} topic {} group {}",
            self.config.brokers, self.config.topic, self.config.group
        )
    }
}
