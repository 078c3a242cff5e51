//! Decode workers: payload → alerts, cutouts to the blob store, failures set aside.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use solas_decode::Decoder;
use solas_store::BlobStore;

use super::rejected::Rejected;
use crate::context::ContextResult;
use crate::message::{InFlight, Origin, RawAlert};
use crate::stats::Stats;

pub struct DecodeWorker {
    pub decoder: Arc<Decoder>,
    pub blobs: Arc<dyn BlobStore>,
    pub rejected: Arc<Rejected>,
    pub stats: Arc<Stats>,
}

impl DecodeWorker {
    /// Run until the input channel closes. Payloads with nothing to pass on are
    /// acknowledged here; the others when the filter stage has written them.
    pub fn run(&self, input: Receiver<RawAlert>, output: Sender<InFlight>, acks: Sender<Origin>) {
        for raw in input {
            Stats::add(&self.stats.payloads, 1);
            let started = std::time::Instant::now();
            let alerts = self.decode(&raw);
            Stats::busy(&self.stats.busy_decode_ns, started);
            if alerts.is_empty() {
                let _ = acks.send(raw.origin);
                continue;
            }
            let n = alerts.len();
            for (i, (record_offset, alert, context)) in alerts.into_iter().enumerate() {
                let msg = InFlight {
                    alert,
                    origin: raw.origin.clone(),
                    record_offset,
                    last_of_payload: i + 1 == n,
                    received: raw.received,
                    context,
                };
                if output.send(msg).is_err() {
                    return; // downstream stopped; the runner reports why
                }
            }
        }
    }

    fn decode(&self, raw: &RawAlert) -> Vec<(u64, solas_core::Alert, Option<Arc<ContextResult>>)> {
        // An alert published by an upstream worker (`solas ingest` or `solas context`):
        // stored already, as JSON, with its context classification if it has one.
        if raw.payload.first() == Some(&b'{') {
            return match serde_json::from_slice::<crate::message::Published>(&raw.payload) {
                Ok(p) => {
                    Stats::add(&self.stats.alerts, 1);
                    let context = p.context.map(|row| Arc::new(ContextResult::from_json(row)));
                    vec![(0, p.alert, context)]
                }
                Err(e) => {
                    self.reject(raw, None, "bad_published_alert", &e.to_string());
                    Vec::new()
                }
            };
        }
        let decoded = match self.decoder.decode(&raw.payload) {
            Ok(d) => d,
            Err(e) => {
                self.reject(raw, None, e.reason(), &e.to_string());
                return Vec::new();
            }
        };
        let mut good = Vec::with_capacity(decoded.records.len());
        for (offset, result) in decoded.records {
            match result {
                Ok(mut alert) => {
                    if raw.replica > 0 {
                        crate::message::replicate(&mut alert, raw.replica);
                    }
                    match self.store_cutouts(&mut alert) {
                        Ok(()) => good.push((offset, alert, None)),
                        Err(e) => self.reject(raw, Some(offset), "bad_cutout", &e.to_string()),
                    }
                }
                Err(e) => self.reject(raw, Some(offset), e.reason(), &e.to_string()),
            }
        }
        Stats::add(&self.stats.alerts, good.len() as u64);
        good
    }

    /// Cutouts leave the alert here: what travels on is cutout-free.
    fn store_cutouts(&self, alert: &mut solas_core::Alert) -> Result<(), solas_store::StoreError> {
        for cutout in std::mem::take(&mut alert.cutouts) {
            let bytes =
                self.blobs
                    .put_cutout(alert.survey, cutout.source_id, cutout.kind, &cutout.data)?;
            Stats::add(&self.stats.cutouts, 1);
            Stats::add(&self.stats.cutout_bytes, bytes);
        }
        Ok(())
    }

    fn reject(&self, raw: &RawAlert, offset: Option<u64>, reason: &'static str, detail: &str) {
        log::warn!("rejected alert from {} ({reason}): {detail}", raw.origin);
        self.stats.reject(reason);
        self.rejected
            .set_aside(&raw.origin, offset, reason, detail, &raw.payload);
    }
}
