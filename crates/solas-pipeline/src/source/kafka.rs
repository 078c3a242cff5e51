//! A Kafka topic read by a consumer group, at least once.
//!
//! Auto-commit is off. Each message's offset is tracked from the moment it is handed to the
//! pipeline until the filter stage has committed the batch that holds it (or ingest has set
//! it aside as undecodable); only offsets below the oldest unfinished message are committed.
//! A restart therefore resumes after the last durable alert, and anything re-read is
//! harmless because every store write is idempotent.
//!
//! When the group takes partitions away (a member joined or died), the member first waits a
//! little for what it holds from them to finish, commits that, and forgets them: a member
//! never commits a partition it no longer owns, which would rewind its new owner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::{Source, SourceError};
use crate::ack::AckTracker;
use crate::message::{Origin, RawAlert};
use crate::stage::{Ack, Status};

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
    consumer: BaseConsumer<Group>,
    /// Where the consumer lag is reported (messages behind the partitions' ends).
    lag: Option<std::sync::Arc<crate::stats::Stats>>,
    /// The operator's alert hook, told when the brokers stay unreachable this long.
    hook: Option<(String, Duration)>,
    /// Since when the brokers have not answered, and whether the hook was told.
    unreachable: Option<(Instant, bool)>,
}

const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// How often the consumer lag is measured (it asks the brokers for the partitions' ends).
const LAG_EVERY: Duration = Duration::from_secs(5);
/// How long to wait at shutdown for the pipeline to finish what it holds.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a member losing partitions waits for their alerts in flight. The whole group
/// waits with it, so this is short; what is not finished by then is re-read by the new owner.
const REVOKE_WAIT: Duration = Duration::from_secs(20);
/// With an idle limit, the longest a member waits for its group to finish the topic.
const GROUP_TIMEOUT: Duration = Duration::from_secs(60);

/// When a member with an idle limit (`--idle-exit`, for batch runs and tests) stops: after
/// the limit without a message, once its group has committed the whole topic. A member
/// that is merely caught up on its own partitions must not stop: a dead member's
/// partitions, or those of a rebalance under way, may be about to come to it. If the group
/// never finishes (a stuck member, brokers gone), it stops after [`GROUP_TIMEOUT`].
pub(crate) struct IdleClock {
    pub(crate) idle: Duration,
    quiet_since: Instant,
    checked: Option<Instant>,
}

impl IdleClock {
    pub(crate) fn new(idle: Duration) -> IdleClock {
        IdleClock {
            idle,
            quiet_since: Instant::now(),
            checked: None,
        }
    }

    pub(crate) fn message(&mut self) {
        self.quiet_since = Instant::now();
    }

    pub(crate) fn should_stop(&mut self, group_done: impl FnOnce() -> bool) -> bool {
        let quiet = self.quiet_since.elapsed();
        if quiet < self.idle {
            return false;
        }
        if quiet >= self.idle.max(GROUP_TIMEOUT) {
            log::warn!(
                "stopping after {quiet:?} idle though the group has not committed the whole topic"
            );
            return true;
        }
        // The check asks the brokers: at most once a second.
        if self
            .checked
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return false;
        }
        self.checked = Some(Instant::now());
        group_done()
    }
}

/// The consumer's side of group membership: the offsets in flight, and the rebalance hooks.
/// The hooks run inside `poll`, on the source's own thread, so the lock is never contended.
pub struct Group {
    name: String,
    state: Mutex<GroupState>,
}

#[derive(Default)]
struct GroupState {
    tracker: AckTracker,
    /// The pipeline's acknowledgements, read while waiting on a revocation.
    acks: Option<Receiver<Ack>>,
}

/// Client settings shared by every consumer-group member in Solas: offsets committed by
/// hand, the log read from its start, cooperative rebalancing; then `defaults`, then the
/// operator's `extra` settings (which win).
pub(crate) fn group_config(
    brokers: &str,
    group: &str,
    defaults: &[(&str, &str)],
    extra: &[(String, String)],
) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // Members keep their partitions through a rebalance and give up only those that
        // move, after committing them (an eager rebalance stops the whole group, and a
        // commit made while the group is re-forming is refused).
        .set("partition.assignment.strategy", "cooperative-sticky");
    for (k, v) in defaults {
        client.set(*k, *v);
    }
    for (k, v) in extra {
        client.set(k, v);
    }
    client
}

/// A follower's next message (`solas annotator follow`, `solas gcn follow`): polls until
/// one comes, and None once `stop` is set or the follower has been idle for its
/// [`IdleClock`] with the group committed to the end of every topic. The clock is told of
/// the message.
pub(crate) fn next_followed<'c>(
    consumer: &'c BaseConsumer,
    topics: &[&str],
    idle: &mut Option<IdleClock>,
    stop: &AtomicBool,
) -> Option<rdkafka::error::KafkaResult<rdkafka::message::BorrowedMessage<'c>>> {
    while !stop.load(Ordering::Relaxed) {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            let done = || topics.iter().all(|t| group_done(consumer, t));
            if idle.as_mut().is_some_and(|clock| clock.should_stop(done)) {
                return None;
            }
            continue;
        };
        if let Some(clock) = idle {
            clock.message();
        }
        return Some(result);
    }
    None
}

/// Whether the group has committed every partition of `topic` to its end (false when the
/// brokers do not say).
pub fn group_done<C: ConsumerContext>(consumer: &BaseConsumer<C>, topic: &str) -> bool {
    let timeout = Duration::from_secs(3);
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), timeout) else {
        return false;
    };
    let mut all = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            all.add_partition(topic, p.id());
        }
    }
    let Ok(committed) = consumer.committed_offsets(all, timeout) else {
        return false;
    };
    committed.elements().iter().all(|e| {
        match consumer.fetch_watermarks(topic, e.partition(), timeout) {
            Ok((low, high)) => match e.offset() {
                Offset::Offset(c) => c >= high,
                _ => low >= high,
            },
            Err(_) => false,
        }
    })
}

/// Leave the group and serve the rebalance until nothing is assigned, before the consumer
/// is closed: librdkafka can hang for good closing a cooperative consumer that is handed
/// partitions while it closes (confluentinc/librdkafka#4884).
pub(crate) fn leave_group<C: ConsumerContext>(consumer: &BaseConsumer<C>, group: &str) {
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        // A message now was never handed on, so never committed: its partition's next
        // owner reads it.
        let _ = consumer.poll(Duration::from_millis(100));
        if consumer.assignment().is_ok_and(|a| a.count() == 0) {
            return;
        }
    }
    log::warn!("group {group}: still assigned partitions after leaving");
}

/// "topic[0,2]" for a log line.
fn describe(tpl: &TopicPartitionList) -> String {
    let parts: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| format!("{}[{}]", e.topic(), e.partition()))
        .collect();
    parts.join(" ")
}

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, GroupState> {
        // A poisoned lock only means a panic elsewhere; the offsets are still right.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl GroupState {
    fn take_acks(&mut self) {
        // A handle of its own (a cheap clone): each ack updates the tracker beside it.
        let Some(acks) = self.acks.clone() else {
            return;
        };
        while let Ok(ack) = acks.try_recv() {
            self.finished(ack);
        }
    }

    /// An input is finished: delivered, or kept with the reason it was refused for.
    fn finished(&mut self, ack: Ack) {
        let Origin::Kafka {
            topic,
            partition,
            offset,
        } = ack.origin
        else {
            return;
        };
        if let Status::Permanent { reason } = ack.status {
            log::debug!("{topic}[{partition}]@{offset} set aside ({reason}), committed");
        }
        self.tracker.done(&topic, partition, offset);
    }

    /// Wait (up to `limit`) until nothing of `partitions` is in flight.
    fn wait_for(&mut self, partitions: &[(String, i32)], limit: Duration) {
        let deadline = Instant::now() + limit;
        self.take_acks();
        while self.tracker.in_flight_of(partitions) > 0 && Instant::now() < deadline {
            let Some(acks) = self.acks.clone() else {
                return;
            };
            match acks.recv_timeout(Duration::from_millis(100)) {
                Ok(ack) => self.finished(ack),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

impl ClientContext for Group {}

impl ConsumerContext for Group {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let partitions: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let mut state = self.state();
        state.wait_for(&partitions, REVOKE_WAIT);
        let unfinished = state.tracker.in_flight_of(&partitions);
        let last = state.tracker.forget(&partitions);
        drop(state);
        log::info!(
            "group {}: revoked {}, committing {last:?}",
            self.name,
            describe(tpl)
        );
        if unfinished > 0 {
            log::warn!(
                "group {}: {unfinished} alerts of revoked partitions unfinished: their new owner re-reads them",
                self.name
            );
        }
        if let Err(e) = commit(consumer, &last) {
            log::warn!("offset commit on revocation failed: {e}");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            log::info!("group {}: assigned {}", self.name, describe(tpl));
        }
    }
}

/// Commit `positions` (topic, partition, next offset to read) synchronously.
fn commit(
    consumer: &BaseConsumer<Group>,
    positions: &[(String, i32, i64)],
) -> Result<(), rdkafka::error::KafkaError> {
    if positions.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, offset) in positions {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&tpl, CommitMode::Sync)
}

impl KafkaSource {
    pub fn new(config: KafkaConfig) -> Result<KafkaSource, SourceError> {
        let client = group_config(
            &config.brokers,
            &config.group,
            &[
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "false"),
                ("fetch.message.max.bytes", "10485760"),
            ],
            &config.extra,
        );
        let consumer: BaseConsumer<Group> = client
            .create_with_context(Group::new(&config.group))
            .map_err(|e| SourceError::Kafka(e.to_string()))?;
        consumer
            .subscribe(&[config.topic.as_str()])
            .map_err(|e| SourceError::Kafka(e.to_string()))?;
        Ok(KafkaSource {
            config,
            consumer,
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
        if let Some(lag) = self.lag() {
            stats.kafka_lag.set(lag);
        }
    }

    /// Messages between this member's read positions and the ends of its partitions, or
    /// None when the brokers do not say (a partial figure would mislead).
    fn lag(&self) -> Option<i64> {
        let positions = self.consumer.position().ok()?;
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
                    return None;
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
        Some(lag)
    }

    fn commit(&mut self) -> Result<(), SourceError> {
        let positions = self.consumer.context().state().tracker.committable();
        match commit(&self.consumer, &positions) {
            Ok(()) => Ok(()),
            // A commit during a rebalance fails; the next one, or the revocation's, follows.
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
        acks: Receiver<Ack>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        self.consumer.context().state().acks = Some(acks.clone());
        let mut idle = self.config.idle_exit.map(IdleClock::new);
        let mut last_commit = Instant::now();
        let mut last_lag = Instant::now() - LAG_EVERY;
        let mut read = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if self.config.max_messages.is_some_and(|m| read >= m) {
                break;
            }
            if let Some(clock) = &mut idle {
                if clock.should_stop(|| group_done(&self.consumer, &self.config.topic)) {
                    log::info!(
                        "group {}: idle for {:?}, stopping after {read} messages",
                        self.config.group,
                        clock.idle
                    );
                    break;
                }
            }
            self.consumer.context().state().take_acks();
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
            if let Some(clock) = &mut idle {
                clock.message();
            }
            read += 1;
            let origin = Origin::Kafka {
                topic: message.topic().to_string(),
                partition: message.partition(),
                offset: message.offset(),
            };
            self.consumer.context().state().tracker.started(
                message.topic(),
                message.partition(),
                message.offset(),
            );
            let payload = message.payload().map(<[u8]>::to_vec).unwrap_or_default();
            drop(message);
            if out.send(RawAlert::new(origin, payload)).is_err() {
                break;
            }
        }
        // No more input: let the pipeline finish what it holds, then commit it.
        self.measure_lag();
        drop(out);
        let unfinished = {
            let mut state = self.consumer.context().state();
            let all: Vec<(String, i32)> = state.tracker.partitions();
            state.wait_for(&all, DRAIN_TIMEOUT);
            state.tracker.in_flight()
        };
        if unfinished > 0 {
            log::warn!(
                "{unfinished} messages unfinished at shutdown: their offsets are not committed and will be re-read"
            );
        }
        log::info!(
            "group {}: committing {:?} at shutdown",
            self.config.group,
            self.consumer.context().state().tracker.committable()
        );
        let result = self.commit();
        leave_group(&self.consumer, &self.config.group);
        result
    }

    fn describe(&self) -> String {
        format!(
            "kafka {} topic {} group {}",
            self.config.brokers, self.config.topic, self.config.group
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_member_stops_only_once_its_group_has_finished_the_topic() {
        let tick = Duration::from_millis(30);
        let mut clock = IdleClock::new(tick);
        assert!(!clock.should_stop(|| true), "not idle yet");
        std::thread::sleep(tick * 2);
        assert!(
            !clock.should_stop(|| false),
            "idle, but the group is behind"
        );
        assert!(
            !clock.should_stop(|| true),
            "the brokers are asked at most once a second"
        );
        std::thread::sleep(Duration::from_secs(1));
        assert!(clock.should_stop(|| true));
        clock.message();
        assert!(!clock.should_stop(|| true), "a message restarts the clock");
    }
}
