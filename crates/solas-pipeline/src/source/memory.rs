//! Payloads held in memory, replayed up to a total count: the benchmark's source. Copy `k`
//! of a payload is marked as replica `k`, so ingest gives it ids of its own.

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::{Source, SourceError};
use crate::message::{Origin, RawAlert};

pub struct MemorySource {
    payloads: Vec<(String, Vec<u8>)>,
    total: usize,
}

impl MemorySource {
    /// Replay `payloads` (name, bytes) in order, round and round, `total` payloads in all.
    pub fn new(payloads: Vec<(String, Vec<u8>)>, total: usize) -> MemorySource {
        MemorySource { payloads, total }
    }
}

impl Source for MemorySource {
    fn run(
        &mut self,
        out: Sender<RawAlert>,
        _acks: Receiver<Origin>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        if self.payloads.is_empty() {
            return Err(SourceError::Input("no payloads to replay".into()));
        }
        for i in 0..self.total {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let (name, bytes) = &self.payloads[i % self.payloads.len()];
            let mut raw = RawAlert::new(Origin::File { path: name.clone() }, bytes.clone());
            raw.replica = u32::try_from(i / self.payloads.len()).unwrap_or(u32::MAX);
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
