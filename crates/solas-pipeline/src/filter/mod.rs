//! The filter stage, run once per batch (as in Lasair's filter nodes): compute each
//! object's features from its whole stored lightcurve ([`features`]), match the objects
//! against watchlists, watchmaps and events ([`watch`]), and write the batch's objects
//! rows, context classifications ([`classification`]) and hits to the main database in
//! one transaction; then run every active user filter over the batch ([`user_filters`])
//! and hand the results, with the batch's source positions, to the delivery stage. While
//! no alerts come it follows the annotation log, re-running filters that name an
//! annotator for the objects it annotated.

pub mod classification;
pub mod features;
pub mod models;
pub mod user_filters;
pub mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use solas_features::DustMap;
use solas_store::{LightcurveStore, MainDb, StoreError};

use crate::batch::Next;
use crate::delivery::DeliveryWork;
use crate::message::InFlight;
use crate::stage::{Output, Stage};
use crate::stats::Stats;
use solas_store::main_db::ledger::Step;
use solas_store::main_db::object_view::NoticeContext;

/// How often the annotation log is looked at (between batches, or while idle).
const ANNOTATION_POLL: Duration = Duration::from_secs(1);

pub struct FilterStage {
    /// A read handle on the lightcurve store.
    pub lightcurves: Box<dyn LightcurveStore>,
    /// More read handles, one per further features worker: a batch's objects are shared
    /// out among all the handles, so features use every core.
    pub more_lightcurves: Vec<Box<dyn LightcurveStore>>,
    pub main: Box<dyn MainDb>,
    pub dust: Option<Arc<DustMap>>,
    pub stats: Arc<Stats>,
    pub max_batch: usize,
    pub idle: Duration,
    pub max_age: Duration,
    /// Watchlist, watchmap, TNS and GW-event matching (None: none).
    pub watch: Option<watch::WatchMatcher>,
    /// Users' filters, run on each committed batch (None: no filters).
    pub filters: Option<Box<dyn user_filters::FilterEngine>>,
    /// Trained classifiers scoring each alert (None: none).
    pub models: Option<Arc<solas_classify::ModelSet>>,
    /// Waits out an unavailable database (the batch is written again when it is back).
    pub retry: Arc<crate::retry::Retrier>,
}

impl Stage for FilterStage {
    const NAME: &'static str = "filter";
    type In = InFlight;
    type Out = DeliveryWork;
    type Error = StoreError;

    fn run(
        mut self,
        input: Receiver<InFlight>,
        output: Output<DeliveryWork>,
    ) -> Result<(), StoreError> {
        let mut polled = std::time::Instant::now();
        loop {
            match crate::batch::next_or_tick(
                &input,
                self.max_batch,
                self.idle,
                self.max_age,
                ANNOTATION_POLL,
            ) {
                Next::Closed => break,
                Next::Tick => {}
                Next::Batch(batch) => {
                    let started = std::time::Instant::now();
                    let Some(work) = self.run_batch(&batch)? else {
                        break; // stopped during an outage: nothing of it is acknowledged
                    };
                    Stats::busy(&self.stats.busy_filter_ns, started);
                    self.stats
                        .record_latencies(batch.iter().map(|m| m.received));
                    if output.pass_on(work).is_err() {
                        break;
                    }
                }
            }
            if polled.elapsed() >= ANNOTATION_POLL {
                polled = std::time::Instant::now();
                let work = self.run_annotation_filters();
                if !work.outcomes.is_empty() && output.pass_on(work).is_err() {
                    break;
                }
            }
        }
        // Annotations made while the last batches ran still get their filters run.
        let work = self.run_annotation_filters();
        if !work.outcomes.is_empty() {
            let _ = output.pass_on(work);
        }
        Ok(())
    }
}

impl FilterStage {
    fn count_outcomes(&self, outcomes: &[user_filters::FilterOutcome]) {
        for outcome in outcomes {
            Stats::add(&self.stats.filter_runs, 1);
            match &outcome.result {
                Ok(rows) => Stats::add(&self.stats.filter_rows, rows.len() as u64),
                Err(_) => Stats::add(&self.stats.filter_failures, 1),
            }
        }
    }

    /// Filters run on annotations made since the last call. While the database is
    /// unavailable they wait for the next poll, which reads the same annotations again.
    fn run_annotation_filters(&mut self) -> DeliveryWork {
        let Some(engine) = self.filters.as_mut() else {
            return DeliveryWork::default();
        };
        let started = std::time::Instant::now();
        let outcomes = match engine.run_annotations() {
            Ok(outcomes) => outcomes,
            Err(e) => {
                log::warn!("annotation filters wait for the next poll: {e}");
                Vec::new()
            }
        };
        Stats::add(&self.stats.annotation_runs, outcomes.len() as u64);
        self.count_outcomes(&outcomes);
        Stats::busy(&self.stats.busy_user_filters_ns, started);
        DeliveryWork {
            outcomes,
            ..Default::default()
        }
    }

    /// Every active filter over the batch's objects, now that their rows are committed,
    /// with the alerts that lite/full deliveries will attach. While the database is
    /// unavailable the filters wait (and the stages before them); None when the run
    /// stopped meanwhile.
    fn run_user_filters(&mut self, batch: &[InFlight]) -> Option<DeliveryWork> {
        let Some(engine) = self.filters.as_mut() else {
            return Some(DeliveryWork::default());
        };
        let started = std::time::Instant::now();
        let mut objects = user_filters::BatchObjects::default();
        for msg in batch {
            match msg.alert.survey {
                solas_core::Survey::Lsst => objects.lsst.push(msg.alert.object.id),
                solas_core::Survey::Ztf => objects.ztf.push(msg.alert.object.name.clone()),
            }
        }
        let outcomes = match self
            .retry
            .run("main database", || engine.run_batch(&objects))
        {
            Ok(outcomes) => outcomes,
            Err(crate::retry::GaveUp::Failed(e)) => {
                // Not the database being away: the batch tables could not be filled
                // (a schema fault the operator must see); the pipeline goes on.
                log::error!("filters skipped for this batch: {e}");
                Vec::new()
            }
            Err(crate::retry::GaveUp::Stopped { .. }) => return None,
        };
        self.count_outcomes(&outcomes);
        let alerts = alerts_for(&outcomes, batch);
        let notices = self.notices_for(&outcomes, &alerts)?;
        Stats::busy(&self.stats.busy_user_filters_ns, started);
        Some(DeliveryWork {
            outcomes,
            alerts,
            notices,
            acks: Vec::new(),
            visits: Vec::new(),
        })
    }

    /// What the GCN notices of `kafka-gcn` filters say of their objects besides the
    /// alerts (events, classifiers' probabilities), read now that the batch is committed;
    /// None when the run stopped while the database was unavailable.
    fn notices_for(
        &mut self,
        outcomes: &[user_filters::FilterOutcome],
        alerts: &HashMap<String, solas_core::Alert>,
    ) -> Option<HashMap<String, NoticeContext>> {
        let mut notices = HashMap::new();
        for o in outcomes {
            let gcn = o
                .filter
                .output
                .parse::<solas_delivery::OutputMode>()
                .is_ok_and(|m| m == solas_delivery::OutputMode::KafkaGcn);
            let (true, Ok(rows)) = (gcn, &o.result) else {
                continue;
            };
            for id in rows.iter().filter_map(solas_delivery::object_id_of) {
                let Some(alert) = alerts.get(&id) else {
                    continue;
                };
                if notices.contains_key(&id) {
                    continue;
                }
                let main = &mut self.main;
                let context = match self.retry.run("main database", || {
                    main.notice_context(alert.survey, &alert.object)
                }) {
                    Ok(c) => c,
                    Err(crate::retry::GaveUp::Failed(e)) => {
                        log::error!("GCN notice of {id} without its events and scores: {e}");
                        NoticeContext::default()
                    }
                    Err(crate::retry::GaveUp::Stopped { .. }) => return None,
                };
                notices.insert(id, context);
            }
        }
        Some(notices)
    }

    /// Store the batch (waiting out an outage), run the filters on it; None when the run
    /// stopped while the database was still unavailable.
    fn run_batch(&mut self, batch: &[InFlight]) -> Result<Option<DeliveryWork>, StoreError> {
        let retry = self.retry.clone();
        // Scored once, before the write that may be tried again.
        let scores = match &self.models {
            Some(models) => models::score_batch(models, batch, &self.stats),
            None => Vec::new(),
        };
        match retry.run("main database", || self.store_batch(batch, &scores)) {
            Ok(()) => {}
            Err(crate::retry::GaveUp::Failed(e)) => return Err(e),
            Err(crate::retry::GaveUp::Stopped { .. }) => {
                Stats::add(&self.stats.abandoned, crate::message::payloads_in(batch));
                return Ok(None);
            }
        }
        let solar = batch
            .iter()
            .filter(|m| matches!(m.alert.survey_object, solas_core::SurveyObject::Lsst(None)))
            .count();
        Stats::add(&self.stats.solar_system, solar as u64);
        let Some(mut work) = self.run_user_filters(batch) else {
            Stats::add(&self.stats.abandoned, crate::message::payloads_in(batch));
            return Ok(None);
        };
        work.acks = batch
            .iter()
            .filter(|m| m.last_of_payload)
            .map(|m| m.origin.clone())
            .collect();
        Stats::add(&self.stats.filtered, batch.len() as u64);
        self.stats
            .ledger
            .count(Step::Filtered, batch.iter().map(|m| &m.alert));
        work.visits = batch
            .iter()
            .map(|m| crate::ledger::visit_of(&m.alert))
            .collect();
        Stats::add(&self.stats.batches, 1);
        self.stats.batch_committed();
        Ok(Some(work))
    }

    /// Features, watch matches, the batch's rows and its classifiers' scores in one
    /// transaction: all or nothing, so it can be run again after a failure.
    fn store_batch(
        &mut self,
        batch: &[InFlight],
        scores: &[solas_store::main_db::annotations::scores::ModelScore],
    ) -> Result<(), StoreError> {
        // One row per object, however many of its alerts the batch holds: the features
        // come from the stored lightcurve, which already has all of them. The newest alert
        // stands for the object in matching (its time for events' windows, its magnitude
        // for watchlists' magnitude triggers).
        let mut objects: HashMap<(solas_core::Survey, i64), &InFlight> = HashMap::new();
        for msg in batch {
            objects
                .entry((msg.alert.survey, msg.alert.object.id))
                .and_modify(|kept| {
                    if msg.alert.mjd > kept.alert.mjd {
                        *kept = msg;
                    }
                })
                .or_insert(msg);
        }
        let objects: Vec<&InFlight> = objects.into_values().collect();
        let started = std::time::Instant::now();
        let computed = self.object_rows(&objects)?;
        let features_ns = started.elapsed().as_nanos() as u64;
        let mut rows = Vec::with_capacity(objects.len() * 2);
        let mut object_rows = 0u64;
        let mut positions = Vec::with_capacity(objects.len());
        for (msg, row) in objects.into_iter().zip(computed) {
            // Watchlists and maps match the object's position from its whole lightcurve
            // (the objects row), not this alert's: then the last match stored agrees with
            // the objects row whichever of the object's alerts came last.
            let (ra, dec) = row
                .as_ref()
                .and_then(row_position)
                .unwrap_or((msg.alert.ra, msg.alert.dec));
            positions.push(watch::Position {
                object: solas_store::main_db::watch::ObjectRef {
                    survey: msg.alert.survey,
                    key: msg.alert.object.name.clone(),
                },
                ra,
                dec,
                mjd: Some(msg.alert.mjd),
                distance_mpc: msg.context.as_ref().and_then(|c| c.host.best_distance_mpc),
                mag: msg.alert.trigger().and_then(|d| d.mag),
            });
            let Some(row) = row else {
                continue;
            };
            rows.push(row);
            object_rows += 1;
            if let Some(context) = &msg.context {
                rows.push(classification::row(&msg.alert, context.row()));
            }
        }
        let started = std::time::Instant::now();
        let hits = match self.watch.as_mut() {
            Some(matcher) => matcher.find_current(&positions)?,
            None => Default::default(),
        };
        let watch_ns = started.elapsed().as_nanos() as u64;
        // The batch's objects rows, classifications, hits and scores: one transaction, committed
        // before the filters run and long before the batch's offsets are.
        let started = std::time::Instant::now();
        self.main.write_batch(&rows, &hits, scores)?;
        let write_ns = started.elapsed().as_nanos() as u64;
        // Counted once the batch is written (a failed try is tried again).
        Stats::add(
            &self.stats.watch_hits,
            (hits.cones.len() + hits.areas.len() + hits.mma.len()) as u64,
        );
        Stats::add_nanos(&self.stats.busy_watch_ns, watch_ns);
        Stats::add_nanos(&self.stats.busy_features_ns, features_ns);
        Stats::add_nanos(&self.stats.busy_write_ns, write_ns);
        Stats::add(&self.stats.object_writes, object_rows);
        Ok(())
    }

    /// Each object's features from its stored lightcurve, in `objects`' order. Reading
    /// and computing dominate the stage, and objects are independent: the batch is cut
    /// into one slice per read handle, each worked on its own thread (a small batch
    /// stays on this one).
    fn object_rows(
        &mut self,
        objects: &[&InFlight],
    ) -> Result<Vec<Option<solas_features::ObjectRow>>, StoreError> {
        let dust = self.dust.as_deref();
        let one = |lightcurves: &mut Box<dyn LightcurveStore>, slice: &[&InFlight]| {
            let batch: Vec<_> = slice
                .iter()
                .map(|msg| (&msg.alert, msg.context.as_ref().map(|c| c.host.clone())))
                .collect();
            features::object_rows(lightcurves.as_mut(), dust, &batch)
        };
        let handles = 1 + self.more_lightcurves.len();
        let workers = handles.min(objects.len() / MIN_OBJECTS_PER_WORKER);
        if workers <= 1 {
            return one(&mut self.lightcurves, objects);
        }
        let per = objects.len().div_ceil(workers);
        let readers =
            std::iter::once(&mut self.lightcurves).chain(self.more_lightcurves.iter_mut());
        let parts = std::thread::scope(|scope| {
            let running: Vec<_> = readers
                .zip(objects.chunks(per))
                .map(|(lightcurves, slice)| scope.spawn(move || one(lightcurves, slice)))
                .collect();
            // A worker's panic is a bug, not bad data: it goes on as this thread's.
            running
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Vec<_>>()
        });
        let mut rows = Vec::with_capacity(objects.len());
        for part in parts {
            rows.extend(part?);
        }
        Ok(rows)
    }
}

/// Below this many objects per worker a batch's features stay on one thread: starting a
/// thread costs more than it saves.
const MIN_OBJECTS_PER_WORKER: usize = 32;

/// The object's position in its objects row: Rubin's `ra`/`decl`, ZTF's `ramean`/`decmean`.
fn row_position(row: &solas_features::ObjectRow) -> Option<(f64, f64)> {
    let float = |name: &str| match row.get(name) {
        Some(solas_features::Value::Float(v)) if v.is_finite() => Some(*v),
        _ => None,
    };
    float("ra")
        .zip(float("decl"))
        .or_else(|| float("ramean").zip(float("decmean")))
}

/// The newest alert in the batch of each object that a lite/full filter returned.
fn alerts_for(
    outcomes: &[user_filters::FilterOutcome],
    batch: &[InFlight],
) -> HashMap<String, solas_core::Alert> {
    let mut wanted = std::collections::HashSet::new();
    for o in outcomes {
        let wants = o
            .filter
            .output
            .parse::<solas_delivery::OutputMode>()
            .is_ok_and(|m| m.wants_alert());
        if let (true, Ok(rows)) = (wants, &o.result) {
            for row in rows {
                if let Some(id) = solas_delivery::object_id_of(row) {
                    wanted.insert(id);
                }
            }
        }
    }
    let mut alerts: HashMap<String, solas_core::Alert> = HashMap::new();
    if wanted.is_empty() {
        return alerts;
    }
    for msg in batch {
        let name = &msg.alert.object.name;
        if !wanted.contains(name) {
            continue;
        }
        let newer = alerts.get(name).is_none_or(|a| msg.alert.mjd >= a.mjd);
        if newer {
            alerts.insert(name.clone(), msg.alert.clone());
        }
    }
    alerts
}
