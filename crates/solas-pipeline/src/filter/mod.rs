//! The filter stage, run once per batch (as in Lasair's filter nodes): compute each
//! object's features from its whole stored lightcurve ([`features`]) and write the batch's
//! objects rows and context classifications ([`classification`]) to the main database in
//! one transaction; then acknowledge the batch's alerts to their source.
//!
//! Context classification, watchlist and watchmap matching and user filters join this
//! stage as further steps over the same batch.

pub mod classification;
pub mod features;
pub mod user_filters;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use solas_features::DustMap;
use solas_store::{LightcurveStore, MainDb, StoreError};

use crate::message::{InFlight, Origin};
use crate::stats::Stats;

pub struct FilterStage {
    /// A read handle on the lightcurve store.
    pub lightcurves: Box<dyn LightcurveStore>,
    pub main: Box<dyn MainDb>,
    pub dust: Option<Arc<DustMap>>,
    pub stats: Arc<Stats>,
    pub max_batch: usize,
    pub idle: Duration,
    pub max_age: Duration,
    /// Users' filters, run on each committed batch (None: no filters).
    pub filters: Option<Box<dyn user_filters::FilterEngine>>,
}

impl FilterStage {
    pub fn run(
        mut self,
        input: Receiver<InFlight>,
        acks: Sender<Origin>,
    ) -> Result<(), StoreError> {
        while let Some(batch) =
            crate::batch::next_batch(&input, self.max_batch, self.idle, self.max_age)
        {
            let started = std::time::Instant::now();
            self.run_batch(&batch)?;
            Stats::busy(&self.stats.busy_filter_ns, started);
            self.stats
                .record_latencies(batch.iter().map(|m| m.received));
            for msg in batch {
                if msg.last_of_payload {
                    let _ = acks.send(msg.origin);
                }
            }
        }
        Ok(())
    }

    /// Every active filter over the batch's objects, now that their rows are committed.
    fn run_user_filters(&mut self, batch: &[InFlight]) {
        let Some(engine) = self.filters.as_mut() else {
            return;
        };
        let started = std::time::Instant::now();
        let mut objects = solas_query::run_sqlite::BatchObjects::default();
        for msg in batch {
            match msg.alert.survey {
                solas_core::Survey::Lsst => objects.lsst.push(msg.alert.object.id),
                solas_core::Survey::Ztf => objects.ztf.push(msg.alert.object.name.clone()),
            }
        }
        for outcome in engine.run_batch(&objects) {
            Stats::add(&self.stats.filter_runs, 1);
            match &outcome.result {
                Ok(rows) => Stats::add(&self.stats.filter_rows, rows.len() as u64),
                Err(_) => Stats::add(&self.stats.filter_failures, 1),
            }
        }
        Stats::busy(&self.stats.busy_user_filters_ns, started);
    }

    fn run_batch(&mut self, batch: &[InFlight]) -> Result<(), StoreError> {
        // One row per object, however many of its alerts the batch holds: the features
        // come from the stored lightcurve, which already has all of them.
        let mut objects: HashMap<(solas_core::Survey, i64), &InFlight> = HashMap::new();
        for msg in batch {
            objects
                .entry((msg.alert.survey, msg.alert.object.id))
                .or_insert(msg);
        }
        let mut rows = Vec::with_capacity(objects.len() * 2);
        let mut object_rows = 0u64;
        for msg in objects.into_values() {
            let host = msg.context.as_ref().map(|c| c.host.clone());
            let Some(row) = features::object_row(
                self.lightcurves.as_mut(),
                self.dust.as_deref(),
                &msg.alert,
                host,
            )?
            else {
                continue;
            };
            rows.push(row);
            object_rows += 1;
            if let Some(context) = &msg.context {
                rows.push(classification::row(&msg.alert, &context.row));
            }
        }
        self.main.upsert_objects(&rows)?;
        let solar = batch
            .iter()
            .filter(|m| matches!(m.alert.survey_object, solas_core::SurveyObject::Lsst(None)))
            .count();
        Stats::add(&self.stats.solar_system, solar as u64);
        Stats::add(&self.stats.object_writes, object_rows);
        self.run_user_filters(batch);
        Stats::add(&self.stats.filtered, batch.len() as u64);
        Stats::add(&self.stats.batches, 1);
        Ok(())
    }
}
