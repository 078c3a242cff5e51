//! The context stage (Lasair's Sherlock): what is each new object next to?
//!
//! Each alert's object is looked up in the cache (memory, then the main database's
//! `context_cache`); only objects never classified with the current classifier and
//! catalogue version are classified ([`classifier`]), at the position of the alert that
//! first brings them. The answer travels on with the alert to the filter stage, which
//! writes it to `sherlock_classifications` and uses the host's distance for absMag and the
//! blackbody fit.

pub mod classifier;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;
use solas_core::Survey;
use solas_features::HostContext;
use solas_store::{ContextCache, StoreError};

pub use classifier::{CatalogueClassifier, Classifier};

use crate::message::InFlight;
use crate::stats::Stats;

/// A context classification as the later stages need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextResult {
    /// Lasair's `sherlock_classifications` columns plus `classification` and `description`.
    pub row: Value,
    /// What the features need: the class and the host's distance.
    pub host: HostContext,
}

impl ContextResult {
    /// From the classifier's answer. The ranked list of all crossmatches stays in the cache
    /// table (for whoever asks for it); what travels with alerts is the best match's row.
    pub fn from_json(mut row: Value) -> ContextResult {
        if let Some(map) = row.as_object_mut() {
            map.remove("crossmatches");
        }
        let num = |k: &str| row.get(k).and_then(Value::as_f64).filter(|v| v.is_finite());
        let host = HostContext {
            classification: row
                .get("classification")
                .and_then(Value::as_str)
                .unwrap_or("ORPHAN")
                .to_string(),
            best_distance_mpc: num("best_distance"),
            z: num("z"),
            photoz: num("photoZ"),
        };
        ContextResult { row, host }
    }
}

/// Objects kept in memory; beyond this the database cache answers.
const MEMORY_ENTRIES: usize = 20_000;

pub struct ContextStage {
    pub classifier: Box<dyn Classifier>,
    pub cache: Box<dyn ContextCache>,
    pub stats: Arc<Stats>,
    pub max_batch: usize,
    pub linger: Duration,
}

impl ContextStage {
    pub fn run(
        mut self,
        input: Receiver<InFlight>,
        output: Sender<InFlight>,
    ) -> Result<(), StoreError> {
        let version = self.classifier.version();
        let mut memory: HashMap<(Survey, i64), Arc<ContextResult>> = HashMap::new();
        while let Some(mut batch) =
            crate::batch::next_batch(&input, self.max_batch, self.linger, self.linger * 10)
        {
            let started = std::time::Instant::now();
            let mut fresh: Vec<(Survey, i64, String)> = Vec::new();
            for msg in &mut batch {
                let key = (msg.alert.survey, msg.alert.object.id);
                if let Some(hit) = memory.get(&key) {
                    msg.context = Some(hit.clone());
                    Stats::add(&self.stats.context_cache_hits, 1);
                    continue;
                }
                let cached = self.cache.get(key.0, key.1, &version)?;
                let result = match cached.and_then(|json| serde_json::from_str(&json).ok()) {
                    Some(row) => {
                        Stats::add(&self.stats.context_cache_hits, 1);
                        ContextResult::from_json(row)
                    }
                    None => {
                        let row = self.classifier.classify(msg.alert.ra, msg.alert.dec);
                        Stats::add(&self.stats.classified, 1);
                        fresh.push((key.0, key.1, row.to_string()));
                        ContextResult::from_json(row)
                    }
                };
                let result = Arc::new(result);
                if memory.len() >= MEMORY_ENTRIES {
                    memory.clear();
                }
                memory.insert(key, result.clone());
                msg.context = Some(result);
            }
            if !fresh.is_empty() {
                self.cache.put(&fresh, &version)?;
            }
            Stats::busy(&self.stats.busy_context_ns, started);
            for msg in batch {
                if output.send(msg).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
