//! Decode workers: payload → alerts, cutouts to the blob store, bad input set aside. A
//! store that is unavailable is waited for ([`Retrier`]), never taken for a bad alert: a
//! payload is acknowledged only once every record of it is stored or set aside.

use std::sync::Arc;

use crossbeam_channel::Receiver;
use solas_decode::Decoder;
use solas_store::{BlobStore, ErrorKind};

use super::rejected::Rejected;
use crate::context::ContextResult;
use crate::message::{InFlight, RawAlert};
use crate::retry::{GaveUp, Retrier};
use crate::stage::{Output, Stage, Status};
use crate::stats::Stats;
use solas_store::main_db::ledger::Step;

/// What a role's input payloads are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A survey's alerts: Avro container files or Confluent wire-format messages.
    Survey,
    /// Alerts an upstream Solas worker published ([`crate::message::Published`], JSON).
    Published,
}

pub struct DecodeWorker {
    pub payload: Payload,
    pub decoder: Arc<Decoder>,
    pub blobs: Arc<dyn BlobStore>,
    pub rejected: Arc<Rejected>,
    pub stats: Arc<Stats>,
    pub retry: Arc<Retrier>,
}

/// A payload's good alerts (with their record offsets and any context they came with),
/// and the reason the last of its bad records was set aside for.
#[derive(Default)]
struct Decoded {
    alerts: Vec<(u64, solas_core::Alert, Option<Arc<ContextResult>>)>,
    rejected: Option<&'static str>,
}

/// The payload could not be finished: the run is stopping while a store is unavailable (or
/// the rejected-alert folder refuses for good). Nothing of it is passed on nor
/// acknowledged, so it is read again.
struct Unfinished;

impl Stage for DecodeWorker {
    const NAME: &'static str = "decode";
    type In = RawAlert;
    type Out = InFlight;
    /// Bad input is set aside and an unavailable store waited for: nothing fails the stage.
    type Error = std::convert::Infallible;

    /// Run until the input channel closes. Payloads with nothing to pass on are
    /// acknowledged here; the others when the filter stage has written them.
    fn run(self, input: Receiver<RawAlert>, output: Output<InFlight>) -> Result<(), Self::Error> {
        for raw in input {
            Stats::add(&self.stats.payloads, 1);
            let started = std::time::Instant::now();
            let decoded = match self.decode(&raw) {
                Ok(decoded) => decoded,
                Err(Unfinished) => {
                    Stats::add(&self.stats.abandoned, 1);
                    log::warn!(
                        "alert from {} left unacknowledged: a store is unavailable",
                        raw.origin
                    );
                    continue;
                }
            };
            Stats::busy(&self.stats.busy_decode_ns, started);
            if decoded.alerts.is_empty() {
                let status = match decoded.rejected {
                    Some(reason) => Status::Permanent { reason },
                    None => Status::Delivered, // a container file with no records
                };
                output.ack(raw.origin, status);
                continue;
            }
            let n = decoded.alerts.len();
            for (i, (record_offset, alert, context)) in decoded.alerts.into_iter().enumerate() {
                let msg = InFlight {
                    alert,
                    origin: raw.origin.clone(),
                    record_offset,
                    last_of_payload: i + 1 == n,
                    received: raw.received,
                    context,
                };
                if output.pass_on(msg).is_err() {
                    return Ok(()); // downstream stopped; the runner reports why
                }
            }
        }
        Ok(())
    }
}

impl DecodeWorker {
    fn decode(&self, raw: &RawAlert) -> Result<Decoded, Unfinished> {
        // An alert published by an upstream worker (`solas ingest` or `solas context`):
        // stored already, as JSON, with its context classification if it has one.
        if self.payload == Payload::Published {
            return match serde_json::from_slice::<crate::message::Published>(&raw.payload) {
                Ok(p) if p.version > crate::message::PUBLISHED_VERSION => {
                    let detail = format!(
                        "message version {} is newer than this worker's {}: upgrade it",
                        p.version,
                        crate::message::PUBLISHED_VERSION
                    );
                    self.reject(raw, None, "bad_published_alert", &detail)
                }
                Ok(p) => {
                    Stats::add(&self.stats.alerts, 1);
                    self.stats.saw_alert(p.alert.survey, p.alert.mjd);
                    let context = p.context.map(|c| Arc::new(ContextResult::from(c)));
                    Ok(Decoded {
                        alerts: vec![(0, p.alert, context)],
                        rejected: None,
                    })
                }
                Err(e) => self.reject(raw, None, "bad_published_alert", &e.to_string()),
            };
        }
        let decoded = match self.decoder.decode(&raw.payload) {
            Ok(d) => d,
            Err(e) => return self.reject(raw, None, e.reason(), &e.to_string()),
        };
        let mut good = Decoded {
            alerts: Vec::with_capacity(decoded.records.len()),
            rejected: None,
        };
        for (offset, result) in decoded.records {
            match result {
                Ok(mut alert) => {
                    if raw.replica > 0 {
                        crate::message::replicate(&mut alert, raw.replica, raw.object_replica);
                    }
                    if raw.without_cutouts {
                        alert.cutouts.clear();
                    }
                    if raw.without_records {
                        alert.drop_records();
                    }
                    match self.store_cutouts(&mut alert) {
                        Ok(()) => good.alerts.push((offset, alert, None)),
                        // A cutout that is itself bad, or that the store refuses for good,
                        // goes to the dead letter; an unavailable store was waited for.
                        Err(GaveUp::Failed(e)) => {
                            let reason = match e.kind() {
                                ErrorKind::BadInput => "bad_cutout",
                                _ => "store_refused",
                            };
                            good.rejected = self
                                .reject(raw, Some(offset), reason, &e.to_string())?
                                .rejected;
                        }
                        Err(GaveUp::Stopped { .. }) => return Err(Unfinished),
                    }
                }
                Err(e) => {
                    good.rejected = self
                        .reject(raw, Some(offset), e.reason(), &e.to_string())?
                        .rejected;
                }
            }
        }
        Stats::add(&self.stats.alerts, good.alerts.len() as u64);
        for (_, alert, _) in &good.alerts {
            self.stats.saw_alert(alert.survey, alert.mjd);
        }
        // The ledger counts a survey's alerts where they enter, once.
        let alerts = || good.alerts.iter().map(|(_, a, _)| a);
        self.stats.ledger.count(Step::Decoded, alerts());
        self.stats.ledger.sky(alerts());
        Ok(good)
    }

    /// Cutouts leave the alert here: what travels on is cutout-free.
    fn store_cutouts(&self, alert: &mut solas_core::Alert) -> Result<(), GaveUp> {
        for cutout in std::mem::take(&mut alert.cutouts) {
            let bytes = self.retry.run("cutout store", || {
                self.blobs
                    .put_cutout(alert.survey, cutout.source_id, cutout.kind, &cutout.data)
            })?;
            Stats::add(&self.stats.cutouts, 1);
            Stats::add(&self.stats.cutout_bytes, bytes);
        }
        Ok(())
    }

    /// Count and keep a bad payload (on the dead-letter topic and under `rejected/`), waiting
    /// for either while it is unavailable: a rejection is acknowledged only once kept.
    /// Returns nothing decoded, with the reason.
    fn reject(
        &self,
        raw: &RawAlert,
        offset: Option<u64>,
        reason: &'static str,
        detail: &str,
    ) -> Result<Decoded, Unfinished> {
        log::warn!("rejected alert from {} ({reason}): {detail}", raw.origin);
        // Queued once (a dead letter never expires in the producer), flushed until the
        // broker has it.
        let mut queued = false;
        self.retry
            .run("dead-letter topic", || {
                if !queued {
                    self.rejected
                        .publish(&raw.origin, reason, detail, &raw.payload)?;
                    queued = true;
                }
                self.rejected.flush()
            })
            .map_err(|_| Unfinished)?;
        self.retry
            .run("rejected-alert folder", || {
                self.rejected
                    .set_aside(&raw.origin, offset, reason, detail, &raw.payload)
            })
            .map_err(|_| Unfinished)?;
        self.stats.reject(reason);
        Ok(Decoded {
            alerts: Vec::new(),
            rejected: Some(reason),
        })
    }
}
