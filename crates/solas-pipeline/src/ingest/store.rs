//! The ingest writer: lightcurve rows of a batch in one transaction, cutouts flushed, then
//! the alerts passed on. Nothing is passed on before it is durable; while the store is
//! unavailable the batch waits ([`Retrier`]), and so, through the queues, does ingest.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use solas_core::{Alert, Survey};
use solas_store::main_db::ledger::Step;
use solas_store::{BlobStore, LightcurveStore, StoreError};

use crate::batch::Next;
use crate::message::InFlight;
use crate::retry::{GaveUp, Retrier};
use crate::stage::{Output, Stage};
use crate::stats::Stats;

pub struct StoreWriter {
    pub lightcurves: Box<dyn LightcurveStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub stats: Arc<Stats>,
    pub max_batch: usize,
    /// How long to wait for more alerts before writing a partial batch...
    pub linger: Duration,
    /// ...and the longest the batch's first alert waits.
    pub max_age: Duration,
    pub retry: Arc<Retrier>,
    /// Sources the ledger's look back need not check again: triggers this writer stored
    /// and history sources it checked lately (a lost alert's source recurs in every later
    /// history of its object).
    pub accounted: solas_core::recent::RecentSet<(Survey, i64)>,
    /// Gather the next batch while the one before is written (one batch ahead, on a
    /// thread of the stage's own; writes stay one at a time and in order). For a server
    /// store, whose writes mostly wait on the server: gathering only between writes left
    /// the decoders stalled behind a full queue for every write. An in-process store's
    /// write is work on the same cores, where overlapping gains nothing.
    pub gather_ahead: bool,
}

/// How many sources [`StoreWriter::accounted`] remembers per generation (two are kept:
/// about 40 MB at most).
pub const ACCOUNTED_SOURCES: usize = 500_000;

/// How often the gatherer, while no alerts come, checks that the writer still runs.
const WRITER_CHECK: Duration = Duration::from_millis(200);

impl Stage for StoreWriter {
    const NAME: &'static str = "store";
    type In = InFlight;
    type Out = InFlight;
    type Error = StoreError;

    fn run(self, input: Receiver<InFlight>, output: Output<InFlight>) -> Result<(), StoreError> {
        let (max, linger, max_age) = (self.max_batch, self.linger, self.max_age);
        if !self.gather_ahead {
            let batches =
                std::iter::from_fn(|| crate::batch::next_batch(&input, max, linger, max_age));
            return self.write_batches(batches, output);
        }
        let stats = self.stats.clone();
        // A rendezvous: the batch being gathered is the only one ahead of the one being written.
        let (gathered, to_write) = crossbeam_channel::bounded::<Vec<InFlight>>(0);
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || self.write_batches(to_write, output));
            loop {
                match crate::batch::next_or_tick(&input, max, linger, max_age, WRITER_CHECK) {
                    Next::Batch(batch) => {
                        if let Err(unsent) = gathered.send(batch) {
                            // The writer has stopped (an outage while stopping, or a
                            // failure): this batch is neither written nor acknowledged.
                            Stats::add(&stats.abandoned, crate::message::payloads_in(&unsent.0));
                            break;
                        }
                    }
                    // A writer that failed is reported even while no alerts come.
                    Next::Tick if writer.is_finished() => break,
                    Next::Tick => {}
                    Next::Closed => break,
                }
            }
            drop(gathered);
            writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl StoreWriter {
    /// Writes each batch in turn: lightcurves, then cutouts synced, then passed on.
    fn write_batches(
        mut self,
        batches: impl IntoIterator<Item = Vec<InFlight>>,
        output: Output<InFlight>,
    ) -> Result<(), StoreError> {
        for batch in batches {
            let started = std::time::Instant::now();
            let alerts: Vec<&solas_core::Alert> = batch.iter().map(|m| &m.alert).collect();
            let written = self
                .retry
                .run("lightcurve store", || self.lightcurves.write(&alerts))
                .and_then(|counts| {
                    self.retry.run("cutout store", || self.blobs.sync())?;
                    Ok(counts)
                });
            let counts = match written {
                Ok(counts) => counts,
                Err(GaveUp::Failed(e)) => return Err(e),
                // Stopping during an outage: the batch is neither passed on nor acknowledged.
                Err(GaveUp::Stopped { .. }) => {
                    Stats::add(&self.stats.abandoned, crate::message::payloads_in(&batch));
                    return Ok(());
                }
            };
            Stats::add(&self.stats.detections, counts.detections);
            Stats::add(&self.stats.forced, counts.forced);
            Stats::add(&self.stats.non_detections, counts.non_detections);
            Stats::add(&self.stats.stored, batch.len() as u64);
            self.stats
                .ledger
                .count(Step::Stored, alerts.iter().copied());
            self.check_histories(&alerts);
            self.stats.batch_committed();
            Stats::busy(&self.stats.busy_store_ns, started);
            for msg in batch {
                if output.pass_on(msg).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The completeness ledger's look back: recent sources in the batch's histories whose
    /// own alerts the store does not have. A store that cannot answer costs the ledger this
    /// batch's look, not the batch (it is already written).
    fn check_histories(&mut self, alerts: &[&Alert]) {
        let mut candidates = crate::ledger::history_candidates(alerts);
        for a in alerts {
            self.accounted.insert((a.survey, a.alert_id));
        }
        candidates.retain(|c| !self.accounted.contains(&(c.survey, c.source_id)));
        if candidates.is_empty() {
            return;
        }
        let mut asked: HashMap<Survey, Vec<(i64, i64)>> = HashMap::new();
        for c in &candidates {
            asked
                .entry(c.survey)
                .or_default()
                .push((c.object_id, c.source_id));
        }
        let mut triggered = HashSet::new();
        for (survey, sources) in asked {
            match self.lightcurves.triggered(survey, &sources) {
                Ok(ids) => triggered.extend(ids.into_iter().map(|id| (survey, id))),
                Err(e) => {
                    log::warn!(
                        "completeness ledger: {} history sources not checked: {e}",
                        sources.len()
                    );
                    return;
                }
            }
        }
        for c in &candidates {
            self.accounted.insert((c.survey, c.source_id));
        }
        candidates.retain(|c| !triggered.contains(&(c.survey, c.source_id)));
        self.stats.ledger.missing(candidates);
    }
}
