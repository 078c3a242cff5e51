//! GCN notices in (`solas gcn follow`, `solas gcn add`): each notice read
//! ([`solas_watch::gcn`]) becomes an event with its skymap (LVK's, or the error circle's)
//! and time, stored as GW events are (`mma_areas`), so the filter stage tags objects
//! detected within the window inside its region and filters see them; a later notice of
//! the same event relocates it; a retraction removes the event and its tags. Objects
//! already stored are matched against the new region at once.
//!
//! From Kafka, a message's offset is committed once its notice is stored (or set aside):
//! a database that is unavailable is waited for. A notice that cannot be read is set
//! aside under `DATA/gcn-rejected/` with its reason, and the follower goes on.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::Message;
use solas_store::db::Target;
use solas_store::main_db::watch::WatchStore;
use solas_store::StoreError;
use solas_watch::gcn::{parse_notice, Action, Notice};

/// Why following stopped.
#[derive(Debug, thiserror::Error)]
pub enum GcnError {
    #[error("main database: {0}")]
    Store(#[from] StoreError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// What the follower does with notices.
#[derive(Debug, Clone)]
pub struct GcnPolicy {
    /// Objects detected this many days after an event are tagged with it.
    pub window_days: f64,
    /// Store test, mock and injected events too (skipped otherwise).
    pub accept_tests: bool,
}

/// What became of one notice.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A new event (its id), or a new localization of a known one.
    Located {
        mw_id: i64,
        new: bool,
    },
    Retracted {
        known: bool,
    },
    /// Nothing to store: no position, or a test the policy skips.
    Skipped(String),
}

/// Counts of a follow run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GcnSummary {
    pub messages: u64,
    pub located: u64,
    pub retracted: u64,
    pub skipped: u64,
    pub set_aside: u64,
    /// Event tags of stored objects found by matching them against new regions.
    pub stored_objects_tagged: u64,
}

/// Store what a notice says.
pub fn apply(
    store: &mut WatchStore,
    data_dir: &Path,
    notice: &Notice,
    policy: &GcnPolicy,
) -> Result<Applied, StoreError> {
    if notice.test && !policy.accept_tests {
        return Ok(Applied::Skipped(format!("{}: a test event", notice.name)));
    }
    match (&notice.action, notice.event_mjd) {
        (Action::Retract, _) => Ok(Applied::Retracted {
            known: store.remove_event(&notice.name)?.is_some(),
        }),
        (Action::Unlocated, _) => Ok(Applied::Skipped(format!(
            "{}: no position in the notice",
            notice.name
        ))),
        (Action::Locate { skymap }, Some(mjd)) => {
            let map = solas_watch::Skymap::from_fits(skymap).map_err(|e| {
                StoreError::Invalid(format!("{}: not a usable skymap: {e}", notice.name))
            })?;
            let (event, new) = store.save_event(
                data_dir,
                &notice.name,
                mjd,
                policy.window_days,
                skymap,
                &map,
            )?;
            Ok(Applied::Located {
                mw_id: event.mw_id,
                new,
            })
        }
        (Action::Locate { .. }, None) => {
            Ok(Applied::Skipped(format!("{}: no event time", notice.name)))
        }
    }
}

/// Where the follower reads.
#[derive(Debug, Clone)]
pub struct GcnKafka {
    pub brokers: String,
    pub topics: Vec<String>,
    pub group: String,
    /// Stop after this long without a message once the group has committed everything.
    pub idle_exit: Option<Duration>,
    /// librdkafka settings (GCN's brokers want OAuth client credentials).
    pub extra: Vec<(String, String)>,
}

/// Follow GCN notices from Kafka until stopped.
pub fn follow(
    kafka: &GcnKafka,
    main_db: &Target,
    data_dir: &Path,
    policy: &GcnPolicy,
    stop: &Arc<AtomicBool>,
) -> Result<GcnSummary, GcnError> {
    let retry = crate::retry::Retrier::new(stop.clone(), Default::default());
    let mut store = WatchStore::connect(main_db)?;
    let client =
        crate::source::kafka::group_config(&kafka.brokers, &kafka.group, &[], &kafka.extra);
    let consumer: BaseConsumer = client.create()?;
    let topics: Vec<&str> = kafka.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    let mut summary = GcnSummary::default();
    let mut idle = kafka.idle_exit.map(crate::source::kafka::IdleClock::new);
    while let Some(result) =
        crate::source::kafka::next_followed(&consumer, &topics, &mut idle, stop)
    {
        let msg = result?;
        summary.messages += 1;
        let mut located = None;
        let place = format!("{}-{}-{}", msg.topic(), msg.partition(), msg.offset());
        let payload = msg.payload().unwrap_or_default();
        match parse_notice(payload) {
            Ok(notice) => {
                let stored = retry.run("main database", || {
                    apply(&mut store, data_dir, &notice, policy)
                });
                match stored {
                    Ok(applied) => {
                        if let Applied::Located { mw_id, .. } = applied {
                            located = Some(mw_id);
                        }
                        count(&mut summary, &applied, &place)
                    }
                    Err(crate::retry::GaveUp::Failed(e)) => {
                        // Not the database being away: a skymap that does not load.
                        set_aside(data_dir, &place, payload, &e.to_string());
                        summary.set_aside += 1;
                    }
                    Err(crate::retry::GaveUp::Stopped { .. }) => {
                        log::warn!(
                            "{place}: stopped while the database was unavailable; not committed"
                        );
                        break;
                    }
                }
            }
            Err(e) => {
                set_aside(data_dir, &place, payload, &e.to_string());
                summary.set_aside += 1;
            }
        }
        if let Some(mw_id) = located.take() {
            summary.stored_objects_tagged += retro(main_db, data_dir, mw_id);
        }
        // Stored or set aside: the offset moves on. A commit refused during a rebalance
        // only means the notice is read again (storing one is idempotent).
        if let Err(e) = consumer.commit_message(&msg, CommitMode::Sync) {
            log::warn!("offset commit failed: {e}");
        }
    }
    Ok(summary)
}

fn count(summary: &mut GcnSummary, applied: &Applied, place: &str) {
    match applied {
        Applied::Located { mw_id, new } => {
            summary.located += 1;
            log::info!(
                "{place}: event {mw_id} {}",
                if *new { "stored" } else { "relocated" }
            );
        }
        Applied::Retracted { known } => {
            summary.retracted += 1;
            log::info!(
                "{place}: retraction ({})",
                if *known {
                    "event removed"
                } else {
                    "event unknown"
                }
            );
        }
        Applied::Skipped(why) => {
            summary.skipped += 1;
            log::info!("{place}: {why}");
        }
    }
}

/// Stored objects matched against the new region: what it holds is tagged now, not only
/// objects detected from now on (that event alone: no cone index is built).
pub fn retro(main_db: &Target, data_dir: &Path, mw_id: i64) -> u64 {
    match solas_store::main_db::watch_matcher::retro_match_event(main_db, data_dir, mw_id) {
        Ok(hits) => hits.mma.len() as u64,
        Err(e) => {
            log::warn!("matching stored objects against the new events: {e}");
            0
        }
    }
}

/// The folder notices that cannot be used are kept in.
pub fn rejected_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("gcn-rejected")
}

/// Keep a notice that cannot be used, with why (`<place>.json` and `<place>.why`).
fn set_aside(data_dir: &Path, place: &str, payload: &[u8], why: &str) {
    log::warn!("{place}: set aside: {why}");
    let dir = rejected_dir(data_dir);
    let kept = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(dir.join(format!("{place}.json")), payload))
        .and_then(|_| std::fs::write(dir.join(format!("{place}.why")), why));
    if let Err(e) = kept {
        log::error!("{place}: could not keep the rejected notice: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notice whose skymap is not one is refused whole: nothing stored, no file left.
    #[test]
    fn a_notice_whose_skymap_is_not_one_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("solas.db");
        solas_store::main_db::MainDatabase::open(&db).unwrap();
        let mut store = WatchStore::open(&db).unwrap();
        let notice = Notice {
            name: "GRB 2".into(),
            messenger: "EM".into(),
            event_mjd: Some(60_000.0),
            action: Action::Locate {
                skymap: b"not fits".to_vec(),
            },
            test: false,
        };
        let policy = GcnPolicy {
            window_days: 14.0,
            accept_tests: false,
        };
        let stored = apply(&mut store, dir.path(), &notice, &policy);
        assert!(matches!(stored, Err(StoreError::Invalid(_))), "{stored:?}");
        assert!(store.events().unwrap().is_empty());
        assert!(!dir.path().join("skymaps").exists());
    }
}
