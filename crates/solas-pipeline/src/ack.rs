//! Acknowledgements: which source positions are finished, so that a Kafka source commits
//! an offset only when every message before it has been written durably, even when
//! parallel workers finish them out of order.

use std::collections::{BTreeSet, HashMap};

/// Tracks in-flight offsets per (topic, partition).
#[derive(Debug, Default)]
pub struct AckTracker {
    pending: HashMap<(String, i32), BTreeSet<i64>>,
    highest_done: HashMap<(String, i32), i64>,
}

impl AckTracker {
    /// A message has been handed to the pipeline.
    pub fn started(&mut self, topic: &str, partition: i32, offset: i64) {
        self.pending
            .entry((topic.to_string(), partition))
            .or_default()
            .insert(offset);
    }

    /// A message is finished (stored, or rejected and set aside). A message this member no
    /// longer tracks (its partition was revoked) is ignored: the partition's new owner
    /// commits it, and a commit from here would overwrite the owner's.
    pub fn done(&mut self, topic: &str, partition: i32, offset: i64) {
        let key = (topic.to_string(), partition);
        let Some(set) = self.pending.get_mut(&key) else {
            return;
        };
        if !set.remove(&offset) {
            return;
        }
        let high = self.highest_done.entry(key).or_insert(offset);
        *high = (*high).max(offset);
    }

    /// The partitions with messages in flight.
    pub fn partitions(&self) -> Vec<(String, i32)> {
        self.pending.keys().cloned().collect()
    }

    /// Messages still unfinished in these partitions.
    pub fn in_flight_of(&self, partitions: &[(String, i32)]) -> usize {
        partitions
            .iter()
            .filter_map(|k| self.pending.get(k))
            .map(BTreeSet::len)
            .sum()
    }

    /// Stop tracking these partitions (revoked from this member); returns what can still be
    /// committed for them, to be committed before they move on.
    pub fn forget(&mut self, partitions: &[(String, i32)]) -> Vec<(String, i32, i64)> {
        let out = self
            .committable()
            .into_iter()
            .filter(|(t, p, _)| partitions.iter().any(|(pt, pp)| pt == t && pp == p))
            .collect();
        for k in partitions {
            self.pending.remove(k);
            self.highest_done.remove(k);
        }
        out
    }

    /// The offset to commit per partition (Kafka's "next offset to read"): everything
    /// below it is finished.
    pub fn committable(&self) -> Vec<(String, i32, i64)> {
        let mut out = Vec::new();
        for (key, &high) in &self.highest_done {
            let next = match self.pending.get(key).and_then(|s| s.first()) {
                Some(&lowest_pending) => lowest_pending,
                None => high + 1,
            };
            out.push((key.0.clone(), key.1, next));
        }
        out.sort();
        out
    }

    pub fn in_flight(&self) -> usize {
        self.pending.values().map(BTreeSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_below_the_oldest_unfinished_message() {
        let mut t = AckTracker::default();
        for o in 10..15 {
            t.started("a", 0, o);
        }
        t.done("a", 0, 12);
        t.done("a", 0, 13);
        assert_eq!(t.committable(), vec![("a".into(), 0, 10)]);
        t.done("a", 0, 10);
        t.done("a", 0, 11);
        assert_eq!(t.committable(), vec![("a".into(), 0, 14)]);
        t.done("a", 0, 14);
        assert_eq!(t.committable(), vec![("a".into(), 0, 15)]);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn a_revoked_partition_is_committed_once_then_ignored() {
        let mut t = AckTracker::default();
        for o in 0..4 {
            t.started("a", 0, o);
            t.started("a", 1, o);
        }
        t.done("a", 0, 0);
        t.done("a", 0, 1);
        t.done("a", 1, 0);
        let revoked = [("a".to_string(), 0)];
        assert_eq!(t.in_flight_of(&revoked), 2);
        assert_eq!(t.forget(&revoked), vec![("a".into(), 0, 2)]);
        // Late acks of the revoked partition must not bring it back into the commits.
        t.done("a", 0, 2);
        t.done("a", 0, 3);
        assert_eq!(t.committable(), vec![("a".into(), 1, 1)]);
        assert_eq!(t.in_flight(), 3);
    }
}
