//! The context stage (Lasair's Sherlock): what is each new object next to?
//!
//! Each alert's object is looked up in the cache (memory, then the main database's
//! `context_cache`); only objects never classified with the current classifier and
//! catalogue version are classified ([`classifier`]), at the position of their earliest
//! alert (by detection time, then alert id). Alerts usually come in time order, so that is
//! the alert that first brings the object; when an earlier one comes late, the object is
//! classified again at its position. So the answer does not depend on the order alerts
//! arrive in, nor on which worker handled them. The answer travels on with the alert to
//! the filter stage, which writes it to `sherlock_classifications` and uses the host's
//! distance for absMag and the blackbody fit.

pub mod classifier;
pub mod reclassify;
pub mod result;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use solas_core::Survey;
use solas_store::{ContextCache, StoreError};

pub use classifier::{CatalogueClassifier, Classifier};
pub use result::{Classified, ContextResult};

use crate::message::InFlight;
use crate::stage::{Output, Stage};
use crate::stats::Stats;
use solas_store::main_db::ledger::Step;

/// Was `a` detected before `b` (or is it the same alert)?
fn not_later(a: (f64, i64), b: (f64, i64)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 <= b.1)
}

/// Objects kept in memory; beyond this the database cache answers.
const MEMORY_ENTRIES: usize = 20_000;

pub struct ContextStage {
    pub classifier: Box<dyn Classifier>,
    pub cache: Box<dyn ContextCache>,
    pub stats: Arc<Stats>,
    pub max_batch: usize,
    pub linger: Duration,
    /// Waits out an unavailable cache database.
    pub retry: Arc<crate::retry::Retrier>,
}

impl Stage for ContextStage {
    const NAME: &'static str = "context";
    type In = InFlight;
    type Out = InFlight;
    type Error = StoreError;

    fn run(
        mut self,
        input: Receiver<InFlight>,
        output: Output<InFlight>,
    ) -> Result<(), StoreError> {
        let mut version = self.classifier.version();
        let mut memory: HashMap<(Survey, i64), Arc<ContextResult>> = HashMap::new();
        while let Some(mut batch) =
            crate::batch::next_batch(&input, self.max_batch, self.linger, self.linger * 10)
        {
            if self.classifier.refresh() {
                // Answers of the old version are not reused: memory is dropped, and the
                // database cache is keyed by version.
                version = self.classifier.version();
                memory.clear();
            }
            let started = std::time::Instant::now();
            let mut fresh: Vec<(Survey, i64, String)> = Vec::new();
            // The stored answers of the batch's objects not in memory, read at once.
            let mut asked: Vec<(Survey, i64)> = batch
                .iter()
                .map(|msg| (msg.alert.survey, msg.alert.object.id))
                .filter(|key| !memory.contains_key(key))
                .collect();
            asked.sort_unstable();
            asked.dedup();
            let stored = match self
                .retry
                .run("main database", || self.cache.get_many(&asked, &version))
            {
                Ok(stored) => stored,
                Err(crate::retry::GaveUp::Failed(e)) => return Err(e),
                Err(crate::retry::GaveUp::Stopped { .. }) => {
                    // Stopping during an outage: the batch is neither passed on nor
                    // acknowledged.
                    Stats::add(&self.stats.abandoned, crate::message::payloads_in(&batch));
                    return Ok(());
                }
            };
            // An entry that does not read (written by another version) is classified again.
            let stored: HashMap<(Survey, i64), Arc<ContextResult>> = stored
                .into_iter()
                .filter_map(|(key, json)| {
                    let classified = serde_json::from_str::<Classified>(&json).ok()?;
                    Some((key, Arc::new(ContextResult::from(classified))))
                })
                .collect();
            // Each object's answer as it stands after the whole batch.
            let mut answers: HashMap<(Survey, i64), Arc<ContextResult>> = HashMap::new();
            for msg in &batch {
                let key = (msg.alert.survey, msg.alert.object.id);
                let at = (msg.alert.mjd, msg.alert.alert_id);
                let known = answers
                    .get(&key)
                    .or_else(|| memory.get(&key))
                    .or_else(|| stored.get(&key))
                    .cloned();
                let result = match known {
                    Some(r) if r.classified.classified_at.is_none_or(|a| not_later(a, at)) => {
                        Stats::add(&self.stats.context_cache_hits, 1);
                        r
                    }
                    _ => {
                        let row = self
                            .classifier
                            .classify(msg.alert.ra, msg.alert.dec, Some(at.0));
                        let result = ContextResult::from(Classified {
                            row,
                            classified_at: Some(at),
                        });
                        Stats::add(&self.stats.classified, 1);
                        let json = serde_json::to_string(&result.classified).map_err(|e| {
                            StoreError::Backend(format!("encoding a context row: {e}"))
                        })?;
                        fresh.push((key.0, key.1, json));
                        Arc::new(result)
                    }
                };
                answers.insert(key, result);
            }
            if memory.len() + answers.len() > MEMORY_ENTRIES {
                memory.clear();
            }
            for msg in &mut batch {
                let key = (msg.alert.survey, msg.alert.object.id);
                msg.context = answers.get(&key).cloned();
            }
            memory.extend(answers);
            if !fresh.is_empty() {
                match self
                    .retry
                    .run("main database", || self.cache.put(&fresh, &version))
                {
                    Ok(()) => {}
                    Err(crate::retry::GaveUp::Failed(e)) => return Err(e),
                    Err(crate::retry::GaveUp::Stopped { .. }) => {
                        Stats::add(&self.stats.abandoned, crate::message::payloads_in(&batch));
                        return Ok(());
                    }
                }
            }
            Stats::busy(&self.stats.busy_context_ns, started);
            self.stats
                .ledger
                .count(Step::Classified, batch.iter().map(|m| &m.alert));
            for msg in batch {
                if output.pass_on(msg).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solas_context::SherlockRow;
    use solas_core::{Alert, ObjectKey, SurveyObject};
    use std::sync::Mutex;

    /// Answers with the position it was asked about, and counts the questions.
    struct Echo(Arc<Mutex<u32>>);

    impl Classifier for Echo {
        fn version(&self) -> String {
            "echo".into()
        }
        fn classify(&self, ra: f64, dec: f64, _mjd: Option<f64>) -> SherlockRow {
            *self.0.lock().unwrap() += 1;
            SherlockRow {
                classification: "SN".into(),
                ra_deg: Some(ra),
                dec_deg: Some(dec),
                ..SherlockRow::default()
            }
        }
    }

    #[derive(Default)]
    struct MemoryCache(HashMap<(Survey, i64), String>);

    impl ContextCache for MemoryCache {
        fn get_many(
            &mut self,
            keys: &[(Survey, i64)],
            _: &str,
        ) -> Result<HashMap<(Survey, i64), String>, StoreError> {
            Ok(keys
                .iter()
                .filter_map(|k| Some((*k, self.0.get(k)?.clone())))
                .collect())
        }
        fn put(&mut self, e: &[(Survey, i64, String)], _: &str) -> Result<(), StoreError> {
            for (s, id, json) in e {
                self.0.insert((*s, *id), json.clone());
            }
            Ok(())
        }
    }

    fn msg(alert_id: i64, mjd: f64) -> InFlight {
        InFlight {
            alert: Alert {
                survey: Survey::Lsst,
                schema_version: "9.0".into(),
                alert_id,
                object: ObjectKey::lsst(169298432598474793),
                ra: mjd - 60000.0,
                dec: -10.0,
                mjd,
                visit: None,
                detections: vec![],
                forced: vec![],
                non_detections: vec![],
                cutouts: vec![],
                survey_object: SurveyObject::Lsst(None),
                object_records: vec![],
                trigger_records: vec![],
                envelope: None,
            },
            origin: crate::message::Origin::File { path: "t".into() },
            record_offset: 0,
            last_of_payload: true,
            received: std::time::Instant::now(),
            context: None,
        }
    }

    /// Runs the stage over `batches` (each sent, then waited for) and returns each alert's
    /// answered RA, and how many classifications were made.
    fn run(batches: &[&[(i64, f64)]]) -> (Vec<f64>, u32) {
        let calls = Arc::new(Mutex::new(0));
        let (tx, input) = crossbeam_channel::unbounded();
        let (output, rx) = crossbeam_channel::unbounded();
        let stage = ContextStage {
            classifier: Box::new(Echo(calls.clone())),
            cache: Box::new(MemoryCache::default()),
            stats: Default::default(),
            max_batch: 100,
            linger: Duration::from_millis(5),
            retry: Arc::new(crate::retry::Retrier::new(
                Default::default(),
                Default::default(),
            )),
        };
        let (acks, _) = crossbeam_channel::unbounded();
        let output = crate::stage::Output::new(output, acks);
        let handle = std::thread::spawn(move || stage.run(input, output));
        let mut ras = Vec::new();
        for batch in batches {
            for (id, mjd) in *batch {
                tx.send(msg(*id, *mjd)).unwrap();
            }
            for _ in 0..batch.len() {
                let m: InFlight = rx.recv().unwrap();
                ras.push(m.context.unwrap().row().ra_deg.unwrap());
            }
        }
        drop(tx);
        handle.join().unwrap().unwrap();
        let n = *calls.lock().unwrap();
        (ras, n)
    }

    #[test]
    fn an_object_is_classified_at_its_earliest_alert_whatever_the_order() {
        // In time order: classified once, at the first alert.
        let (ras, calls) = run(&[&[(1, 60001.0), (2, 60002.0)], &[(3, 60003.0)]]);
        assert_eq!((ras, calls), (vec![1.0, 1.0, 1.0], 1));
        // The earliest alert arrives last: classified again there, and from then on its
        // answer stands.
        let (ras, calls) = run(&[
            &[(3, 60003.0)],
            &[(2, 60002.0)],
            &[(1, 60001.0), (4, 60004.0)],
        ]);
        assert_eq!((ras, calls), (vec![3.0, 2.0, 1.0, 1.0], 3));
        // Within one batch, every alert of the object carries the batch's final answer.
        let (ras, _) = run(&[&[(2, 60002.0), (1, 60001.0)]]);
        assert_eq!(ras, vec![1.0, 1.0]);
    }
}
