//! Payloads held in memory, replayed up to a total count: the benchmark's source. Copy `k`
//! of a payload is marked as replica `first + k`, so ingest gives it ids of its own; with
//! `object_copies` its object is copy `k mod object_copies`, one stored before (history).

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::{Source, SourceError};
use crate::message::{Origin, RawAlert};

pub struct MemorySource {
    payloads: Vec<(String, bytes::Bytes)>,
    total: usize,
    /// Payloads per second to offer (None: as fast as the pipeline takes them).
    rate: Option<f64>,
    /// The replica number of the first copy (a history run follows a preload's copies).
    pub first_replica: u32,
    /// Copies of each object (None: a new object per copy).
    pub object_copies: Option<u32>,
    /// Drop the alerts' cutouts at ingest (a history benchmark's quicker preload).
    pub without_cutouts: bool,
    /// Drop the alerts' records at ingest (typed rows only: the archive's cost).
    pub without_records: bool,
}

impl MemorySource {
    /// Replay each of `payloads` once, in order.
    pub fn once(payloads: Vec<(String, Vec<u8>)>, rate: Option<f64>) -> MemorySource {
        let total = payloads.len();
        MemorySource::new(payloads, total, rate)
    }

    /// Replay `payloads` (name, bytes) in order, round and round, `total` payloads in all.
    pub fn new(payloads: Vec<(String, Vec<u8>)>, total: usize, rate: Option<f64>) -> MemorySource {
        MemorySource {
            payloads: payloads
                .into_iter()
                .map(|(name, bytes)| (name, bytes.into()))
                .collect(),
            total,
            rate: rate.filter(|r| *r > 0.0),
            first_replica: 0,
            object_copies: None,
            without_cutouts: false,
            without_records: false,
        }
    }
}

impl Source for MemorySource {
    fn run(
        &mut self,
        out: Sender<RawAlert>,
        acks: Receiver<crate::stage::Ack>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        // Nothing to commit: acknowledgements kept unread would pile up (see FileSource).
        drop(acks);
        if self.payloads.is_empty() {
            return Err(SourceError::Input("no payloads to replay".into()));
        }
        let started = std::time::Instant::now();
        for i in 0..self.total {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Some(rate) = self.rate {
                // Offer payload i at i/rate seconds, like a stream at a steady rate.
                let due = std::time::Duration::from_secs_f64(i as f64 / rate);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            let (name, bytes) = &self.payloads[i % self.payloads.len()];
            let mut raw = RawAlert::new(Origin::File { path: name.clone() }, bytes.clone());
            let copy = u32::try_from(i / self.payloads.len()).unwrap_or(u32::MAX);
            raw.replica = self.first_replica.saturating_add(copy);
            raw.object_replica = match self.object_copies {
                Some(n) => copy % n.max(1),
                None => raw.replica,
            };
            raw.without_cutouts = self.without_cutouts;
            raw.without_records = self.without_records;
            if out.send(raw).is_err() {
                break;
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "{} payloads replayed from memory ({} distinct)",
            self.total,
            self.payloads.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::files::FileSource;
    use crate::stage::{Ack, Status};

    /// While `source` is still running (blocked on a full output queue), can an
    /// acknowledgement still be queued for it?
    fn keeps_acks_while_running(mut source: Box<dyn Source + Send>) -> bool {
        let (out, raw) = crossbeam_channel::bounded(1);
        let (ack_tx, ack_rx) = crate::queues::acks();
        let running = std::thread::spawn(move || {
            let stop = AtomicBool::new(false);
            source.run(out, ack_rx, &stop)
        });
        // The first payload is queued; the source now waits to send the second.
        let first = raw.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let kept = ack_tx
            .send(Ack {
                origin: first.origin,
                status: Status::Delivered,
            })
            .is_ok();
        while raw.recv().is_ok() {}
        running.join().unwrap().unwrap();
        kept
    }

    /// Regression: the file and memory sources never read their acknowledgements, so the
    /// unbounded queue kept one per alert for the whole run (peak memory 662 MB after 1M
    /// alerts, 2 GB after 10M). A source with nothing to commit lets go of the queue.
    #[test]
    fn acknowledgements_do_not_pile_up_in_sources_without_offsets() {
        let memory = MemorySource::new(vec![("a".into(), vec![1])], 3, None);
        assert!(!keeps_acks_while_running(Box::new(memory)));

        let dir = tempfile::tempdir().unwrap();
        for name in ["a.avro", "b.avro", "c.avro"] {
            std::fs::write(dir.path().join(name), [1]).unwrap();
        }
        let files = FileSource::new(&[dir.path().display().to_string()]).unwrap();
        assert!(!keeps_acks_while_running(Box::new(files)));
    }
}
