//! Objects classified again after a new catalogue version, in the background.
//!
//! The context stage takes up a new version at once, but only for objects that get a new
//! alert. The rest keep the classification of the old version until this pass reaches them:
//! it finds where on the sky the two versions differ ([`solas_catalogue::store::changed_cells`],
//! 3.7° cells), classifies again every stored object there, at a bounded rate so that it
//! never competes with the live stream, and writes the new `sherlock_classifications` rows
//! and cache entries. Objects outside the changed cells are left alone: their answer cannot
//! have changed. The objects rows' host-dependent features (absolute magnitudes) follow at
//! the object's next alert.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use solas_catalogue::Store;
use solas_core::{ids::pack_ztf_name, Survey};
use solas_features::Value;
use solas_store::db::Target;
use solas_store::main_db::watch::{Hits, WatchStore};
use solas_store::main_db::{DbContextCache, MainDatabase};
use solas_store::{ContextCache, MainDb, StoreError};

use super::classifier::{CatalogueClassifier, Classifier};
use super::result::Classified;
use crate::filter::classification;
use crate::stats::Stats;

/// Objects written per transaction.
const BATCH: usize = 200;

pub struct Reclassifier {
    pub main: Target,
    /// At most this many objects a second.
    pub per_second: f64,
    pub stats: Arc<Stats>,
}

impl Reclassifier {
    /// Classifies again, against `new`, every stored object in the cells where `new`
    /// differs from `old`; stops early when `stop` is set. Returns how many it classified.
    pub fn reconcile(
        &self,
        old: &Store,
        new: Store,
        stop: &AtomicBool,
    ) -> Result<usize, StoreError> {
        let footprint = solas_catalogue::store::changed_cells(old, &new);
        if footprint.is_empty() {
            return Ok(0);
        }
        let Some(classifier) = CatalogueClassifier::new(new) else {
            return Ok(0);
        };
        let version = classifier.version();
        let objects: Vec<_> = WatchStore::connect(&self.main)?
            .positions()?
            .into_iter()
            .filter(|p| footprint.contains(p.ra, p.dec))
            .collect();
        log::info!(
            "context: {} objects in {} changed cells to classify again (catalogues {version})",
            objects.len(),
            footprint.cells()
        );
        let mut main = MainDatabase::connect(&self.main)?;
        let mut cache = DbContextCache::connect(&self.main)?;
        let started = Instant::now();
        let mut done = 0;
        for chunk in objects.chunks(BATCH) {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut entries = Vec::with_capacity(chunk.len());
            for p in chunk {
                if stop.load(Ordering::Relaxed) {
                    return Ok(done);
                }
                // Paced: object k not before k / rate seconds.
                let due = Duration::from_secs_f64(done as f64 / self.per_second.max(1e-3));
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
                let survey = p.object.survey;
                let (key, id) = match survey {
                    Survey::Lsst => match p.object.key.parse::<i64>() {
                        Ok(id) => (Value::Int(id), id),
                        Err(_) => continue,
                    },
                    Survey::Ztf => match pack_ztf_name(&p.object.key) {
                        Ok(id) => (Value::Text(p.object.key.clone()), id),
                        Err(_) => continue,
                    },
                };
                let row = classifier.classify(p.ra, p.dec, p.last_mjd);
                rows.push(classification::row_for(survey, key, &row));
                let classified = Classified {
                    row,
                    classified_at: None,
                };
                let json = serde_json::to_string(&classified)
                    .map_err(|e| StoreError::Backend(format!("encoding a context row: {e}")))?;
                entries.push((survey, id, json));
                done += 1;
            }
            main.write_batch(&rows, &Hits::default(), &[])?;
            cache.put(&entries, &version)?;
            Stats::add(&self.stats.reclassified, rows.len() as u64);
        }
        Ok(done)
    }

    /// Watches the store in `dir` until `done` is set; after each new version, classifies
    /// again the objects where it differs from the version before. A failed pass (the
    /// database unavailable) is tried again at the next look, against the same base.
    pub fn run(self, dir: std::path::PathBuf, done: Arc<AtomicBool>) {
        if !dir.is_dir() {
            return; // no catalogues, no context stage
        }
        let Ok(mut base) = Store::open(&dir) else {
            return;
        };
        // The list's time when `base` was opened: a new version rewrites the list.
        let mut seen = Store::list_modified_in(&dir);
        let mut retry_at = Instant::now();
        while !done.load(Ordering::Relaxed) {
            // Short naps: a run's end waits for this thread.
            std::thread::sleep(Duration::from_millis(100));
            let now = Store::list_modified_in(&dir);
            if now == seen || Instant::now() < retry_at {
                continue;
            }
            // Two handles on the same version: one to classify with, one to keep as the
            // next base (a version loaded between the two opens is caught next time).
            let (Ok(new), Ok(next)) = (Store::open(&dir), Store::open(&dir)) else {
                continue;
            };
            if new.version() != next.version() {
                continue;
            }
            match self.reconcile(&base, new, &done) {
                Ok(n) if !done.load(Ordering::Relaxed) => {
                    log::info!("context: {n} objects classified again");
                    base = next;
                    seen = now;
                }
                Ok(_) => {}
                Err(e) => {
                    // The database is unavailable: the same pass, later.
                    log::warn!("context: classifying objects again failed ({e}); retrying in 30 s");
                    retry_at = Instant::now() + Duration::from_secs(30);
                }
            }
        }
    }
}
