//! The stage contract (`solas_pipeline::stage`), held against every stage, as Vector's
//! `assert_sink_compliance` holds its sinks: on real alerts, each input is passed on or
//! acknowledged exactly once, never before its writes are made, and never while its store
//! fails (transiently); when the run stops during an outage, what was not written is
//! neither passed on nor acknowledged.
//!
//! Each stage runs three times, with its stores healthy, flaky (the first tries fail as an
//! unreachable service does) and down until the run stops. Fake stores write down what
//! they were asked to write, in order, in one journal with what the stage passed on and
//! acknowledged; the checks read that journal.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use solas_core::{Alert, CutoutKind, ObjectKey, Survey};
use solas_pipeline::context::{Classifier, ContextStage};
use solas_pipeline::delivery::{DeliveryStage, DeliveryWork};
use solas_pipeline::filter::user_filters::{FilterOutcome, Trigger};
use solas_pipeline::filter::FilterStage;
use solas_pipeline::ingest::decode::{DecodeWorker, Payload};
use solas_pipeline::ingest::rejected::Rejected;
use solas_pipeline::ingest::store::StoreWriter;
use solas_pipeline::message::{InFlight, Origin, RawAlert};
use solas_pipeline::retry::Retrier;
use solas_pipeline::stage::{Output, Stage, Status};
use solas_pipeline::stats::Stats;
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::{BlobStore, ContextCache, Lightcurve, LightcurveStore, MainDb, StoreError};

/// What happened to an input (by its key), in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// A fake store made a write of it.
    Wrote(i64),
    /// A fake store failed a write of it (transiently).
    Failed(i64),
    PassedOn(i64),
    Acked(i64, Status),
}

#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<Event>>>);

impl Journal {
    fn push(&self, e: Event) {
        self.0.lock().unwrap().push(e);
    }
    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
    fn failures(&self) -> usize {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| matches!(e, Event::Failed(_)))
            .count()
    }
}

/// The weather a stage's stores run in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Weather {
    Healthy,
    /// The first writes fail, as a service that is restarting does.
    Flaky,
    /// Every write fails until the run is stopped.
    DownUntilStop,
}

const WEATHERS: [Weather; 3] = [Weather::Healthy, Weather::Flaky, Weather::DownUntilStop];

/// The fault a fake store injects: transient, as an unreachable server's.
#[derive(Clone)]
struct Faults {
    fail_next: Arc<AtomicUsize>,
    down: bool,
}

impl Faults {
    fn new(weather: Weather) -> Faults {
        Faults {
            fail_next: Arc::new(AtomicUsize::new(if weather == Weather::Flaky {
                3
            } else {
                0
            })),
            down: weather == Weather::DownUntilStop,
        }
    }

    /// Make (or fail) a write of `keys`, writing it down.
    fn write(&self, journal: &Journal, keys: &[i64]) -> Result<(), StoreError> {
        let fail = self.down
            || self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        for &k in keys {
            journal.push(if fail {
                Event::Failed(k)
            } else {
                Event::Wrote(k)
            });
        }
        if fail {
            Err(StoreError::Backend(
                "injected outage: connection refused".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// Real alerts, one per payload, each keyed by its alert id (and its source position
/// named after it), with what the fakes need to find the key of what they are given.
struct Fixture {
    payloads: Vec<(i64, Vec<u8>)>,
    alerts: Vec<Alert>,
    /// Key of each cutout's source id, and of each object (by survey and name).
    by_source: HashMap<i64, i64>,
    by_object: HashMap<(Survey, String), Vec<i64>>,
    decoder: Arc<solas_decode::Decoder>,
}

fn fixture() -> Fixture {
    let decoder = Arc::new(
        solas_decode::Decoder::configured(Some(&solas_testdata::lsst_schema_dir()), None)
            .expect("schemas"),
    );
    let files = solas_testdata::real_alert_files();
    let (ztf, lsst): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|p| p.display().to_string().contains("/ztf/"));
    let mut fx = Fixture {
        payloads: Vec::new(),
        alerts: Vec::new(),
        by_source: HashMap::new(),
        by_object: HashMap::new(),
        decoder,
    };
    for path in ztf.iter().take(6).chain(lsst.iter().take(6)) {
        let bytes = std::fs::read(path).unwrap();
        let mut records = fx.decoder.decode(&bytes).unwrap().records;
        if records.len() != 1 {
            continue;
        }
        let alert = records.remove(0).1.unwrap();
        let key = alert.alert_id;
        for c in &alert.cutouts {
            fx.by_source.insert(c.source_id, key);
        }
        fx.by_object
            .entry((alert.survey, alert.object.name.clone()))
            .or_default()
            .push(key);
        fx.payloads.push((key, bytes));
        fx.alerts.push(alert);
    }
    assert!(fx.alerts.len() >= 10, "real alerts of both surveys");
    assert!(fx.alerts.iter().any(|a| a.survey == Survey::Lsst));
    fx
}

fn origin(key: i64) -> Origin {
    Origin::File {
        path: key.to_string(),
    }
}

fn key_of(origin: &Origin) -> i64 {
    match origin {
        Origin::File { path } => path.parse().unwrap(),
        other => panic!("unexpected origin {other}"),
    }
}

fn in_flight(fx: &Fixture) -> Vec<InFlight> {
    fx.alerts
        .iter()
        .map(|a| {
            let mut alert = a.clone();
            alert.cutouts.clear();
            InFlight {
                origin: origin(a.alert_id),
                alert,
                record_offset: 0,
                last_of_payload: true,
                received: Instant::now(),
                context: None,
            }
        })
        .collect()
}

fn retrier(stop: &Arc<AtomicBool>) -> Arc<Retrier> {
    Arc::new(
        Retrier::new(stop.clone(), Arc::new(Stats::default()))
            .with_max_backoff(Duration::from_millis(20)),
    )
}

/// Runs `stage` over `inputs`, writing what it passes on (by `keys_out`) and acknowledges
/// in the journal. When the stores are down, stops the run once they have failed a few
/// times. Returns the stage's result.
fn run_stage<S: Stage>(
    stage: S,
    inputs: Vec<S::In>,
    keys_out: fn(&S::Out) -> Vec<i64>,
    journal: &Journal,
    weather: Weather,
    stop: &Arc<AtomicBool>,
) -> Result<(), S::Error> {
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let (ack_tx, ack_rx) = crossbeam_channel::unbounded();
    for msg in inputs {
        in_tx.send(msg).unwrap();
    }
    drop(in_tx);
    let running = std::thread::spawn(move || stage.run(in_rx, Output::new(out_tx, ack_tx)));
    let collected = {
        let journal = journal.clone();
        std::thread::spawn(move || collect(out_rx, ack_rx, keys_out, &journal))
    };
    if weather == Weather::DownUntilStop {
        let until = Instant::now() + Duration::from_secs(30);
        while journal.failures() < 3 {
            assert!(Instant::now() < until, "the stores were never tried");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::SeqCst);
    }
    let result = running.join().expect("the stage does not panic");
    collected.join().unwrap();
    result
}

fn collect<T>(
    out: Receiver<T>,
    acks: Receiver<solas_pipeline::stage::Ack>,
    keys_out: fn(&T) -> Vec<i64>,
    journal: &Journal,
) {
    let (mut out_open, mut acks_open) = (true, true);
    while out_open || acks_open {
        crossbeam_channel::select! {
            recv(out) -> msg => match msg {
                Ok(msg) => keys_out(&msg).into_iter().for_each(|k| journal.push(Event::PassedOn(k))),
                Err(_) => { out_open = false; }
            },
            recv(acks) -> ack => match ack {
                Ok(ack) => journal.push(Event::Acked(key_of(&ack.origin), ack.status)),
                Err(_) => { acks_open = false; }
            },
        }
    }
}

/// The contract, read from the journal. `written`: the inputs the stage must write before
/// they leave it. `finished`: whether every input must have left (false when stopped
/// during an outage).
fn assert_contract(
    stage: &str,
    events: &[Event],
    inputs: &[i64],
    written: &HashSet<i64>,
    finished: bool,
) {
    for &k in inputs {
        let ends: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::PassedOn(x) | Event::Acked(x, _) if *x == k))
            .map(|(i, _)| i)
            .collect();
        if finished {
            assert_eq!(
                ends.len(),
                1,
                "{stage}: input {k} left the stage {} times, not once: {events:?}",
                ends.len()
            );
        } else {
            assert!(
                ends.len() <= 1,
                "{stage}: input {k} left the stage {} times: {events:?}",
                ends.len()
            );
        }
        if !written.contains(&k) {
            continue;
        }
        for &end in &ends {
            let last_write = events[..end]
                .iter()
                .rev()
                .find(|e| matches!(e, Event::Wrote(x) | Event::Failed(x) if *x == k));
            assert!(
                matches!(last_write, Some(Event::Wrote(_))),
                "{stage}: input {k} left the stage before it was written (last write: {last_write:?}): {events:?}"
            );
        }
    }
    if !finished {
        let never_written: Vec<i64> = written
            .iter()
            .copied()
            .filter(|k| !events.contains(&Event::Wrote(*k)))
            .collect();
        assert!(
            !never_written.is_empty(),
            "{stage}: the outage held something back"
        );
    }
}

/// The stage over every weather: `make` builds it around fake stores with these faults.
fn hold_to_contract<S: Stage>(
    name: &str,
    inputs: impl Fn() -> Vec<S::In>,
    keys_in: impl Fn(&S::In) -> i64,
    keys_out: fn(&S::Out) -> Vec<i64>,
    written: &HashSet<i64>,
    make: impl Fn(&Journal, Faults, Arc<Retrier>, &Arc<Stats>) -> S,
) {
    for weather in WEATHERS {
        let journal = Journal::default();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let stage = make(&journal, Faults::new(weather), retrier(&stop), &stats);
        let inputs = inputs();
        let keys: Vec<i64> = inputs.iter().map(&keys_in).collect();
        let result = run_stage(stage, inputs, keys_out, &journal, weather, &stop);
        let name = format!("{name} ({weather:?})");
        assert!(result.is_ok(), "{name}: {result:?}");
        let events = journal.events();
        assert_contract(
            &name,
            &events,
            &keys,
            written,
            weather != Weather::DownUntilStop,
        );
        if weather != Weather::Healthy {
            assert!(
                events.iter().any(|e| matches!(e, Event::Failed(_))),
                "{name}: faults injected"
            );
        }
        if weather == Weather::DownUntilStop {
            assert!(
                Stats::get(&stats.abandoned) > 0,
                "{name}: the run says what it left unfinished"
            );
        }
    }
}

// ---- fake stores ----

struct FakeBlobs {
    journal: Journal,
    faults: Faults,
    by_source: HashMap<i64, i64>,
}

impl BlobStore for FakeBlobs {
    fn put_cutout(
        &self,
        _: Survey,
        source_id: i64,
        _: CutoutKind,
        fits: &[u8],
    ) -> Result<u64, StoreError> {
        self.faults
            .write(&self.journal, &[self.by_source[&source_id]])?;
        Ok(fits.len() as u64)
    }
    fn get_cutout(&self, _: Survey, _: i64, _: CutoutKind) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    fn stored_size(&self, _: Survey, _: i64, _: CutoutKind) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

struct FakeLightcurves {
    journal: Journal,
    faults: Faults,
}

impl LightcurveStore for FakeLightcurves {
    fn write(&mut self, alerts: &[&Alert]) -> Result<solas_store::WriteCounts, StoreError> {
        let keys: Vec<i64> = alerts.iter().map(|a| a.alert_id).collect();
        self.faults.write(&self.journal, &keys)?;
        Ok(Default::default())
    }
    fn lightcurve(&mut self, _: Survey, _: &ObjectKey) -> Result<Lightcurve, StoreError> {
        Ok(Lightcurve::default())
    }
    fn triggered(&mut self, _: Survey, sources: &[(i64, i64)]) -> Result<Vec<i64>, StoreError> {
        Ok(sources.iter().map(|s| s.1).collect())
    }
    fn records(
        &mut self,
        _: Survey,
        _: &ObjectKey,
    ) -> Result<solas_store::records::ObjectRecords, StoreError> {
        Ok(Default::default())
    }
    fn source_schemas(
        &mut self,
        _: Survey,
        _: solas_store::records::SourceKind,
        _: &solas_store::records::Selection,
    ) -> Result<Vec<std::sync::Arc<solas_core::RecordSchema>>, StoreError> {
        Ok(Vec::new())
    }
    fn each_source(
        &mut self,
        _: Survey,
        _: solas_store::records::SourceKind,
        _: &solas_store::records::Selection,
        _: &mut dyn FnMut(i64, solas_core::RawRecord) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    fn alerts(
        &mut self,
        _: Survey,
        _: (f64, f64),
        _: Option<(f64, i64)>,
        _: usize,
    ) -> Result<Vec<solas_store::records::StoredAlert>, StoreError> {
        Ok(Vec::new())
    }
}

/// Answers every position with an orphan row: what matters here is the cache write.
struct Orphans;

impl Classifier for Orphans {
    fn version(&self) -> String {
        "contract-test".into()
    }
    fn classify(&self, ra_deg: f64, dec_deg: f64, _mjd: Option<f64>) -> solas_context::SherlockRow {
        solas_context::SherlockRow {
            classification: "ORPHAN".into(),
            ra_deg: Some(ra_deg),
            dec_deg: Some(dec_deg),
            ..Default::default()
        }
    }
}

struct FakeCache {
    journal: Journal,
    faults: Faults,
    by_object_id: HashMap<(Survey, i64), Vec<i64>>,
}

impl ContextCache for FakeCache {
    fn get_many(
        &mut self,
        _: &[(Survey, i64)],
        _: &str,
    ) -> Result<HashMap<(Survey, i64), String>, StoreError> {
        Ok(HashMap::new())
    }
    fn put(&mut self, entries: &[(Survey, i64, String)], _: &str) -> Result<(), StoreError> {
        let keys: Vec<i64> = entries
            .iter()
            .flat_map(|(s, id, _)| self.by_object_id[&(*s, *id)].clone())
            .collect();
        self.faults.write(&self.journal, &keys)
    }
}

struct FakeMain {
    journal: Journal,
    faults: Faults,
    by_object: HashMap<(Survey, String), Vec<i64>>,
}

impl MainDb for FakeMain {
    fn write_batch(
        &mut self,
        rows: &[solas_features::ObjectRow],
        _: &solas_store::main_db::watch::Hits,
        _: &[solas_store::main_db::annotations::scores::ModelScore],
    ) -> Result<(), StoreError> {
        let mut keys = Vec::new();
        for row in rows {
            let (survey, name) = match (row.get("diaObjectId"), row.get("objectId")) {
                (Some(solas_features::Value::Int(id)), _) => (Survey::Lsst, id.to_string()),
                (_, Some(solas_features::Value::Text(name))) => (Survey::Ztf, name.clone()),
                other => panic!("an objects row without its object: {other:?}"),
            };
            keys.extend(self.by_object[&(survey, name)].iter().copied());
        }
        self.faults.write(&self.journal, &keys)
    }
    fn counts(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(Vec::new())
    }
    fn notice_context(
        &mut self,
        _: Survey,
        _: &solas_core::ObjectKey,
    ) -> Result<solas_store::main_db::object_view::NoticeContext, StoreError> {
        Ok(Default::default())
    }
}

struct FakeSink {
    journal: Journal,
    faults: Faults,
}

impl solas_delivery::Sink for FakeSink {
    fn deliver(
        &mut self,
        target: &solas_delivery::FilterTarget,
        records: &[solas_delivery::Record],
    ) -> Result<solas_delivery::DeliveryReport, solas_delivery::DeliveryError> {
        // Each test filter delivers one input, named by its topic.
        let key: i64 = target.topic.parse().unwrap();
        self.faults.write(&self.journal, &[key]).map_err(|e| {
            solas_delivery::DeliveryError::Unavailable {
                filter_id: target.filter_id,
                name: target.name.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(solas_delivery::DeliveryReport {
            delivered: records.len() as u64,
            bytes: 0,
            rejected_quota: 0,
        })
    }
}

// ---- the stages ----

#[test]
fn the_decode_stage_keeps_the_contract() {
    let fx = fixture();
    let rejected = tempfile::tempdir().unwrap();
    // A corrupt payload besides the real ones: set aside, acknowledged as permanent.
    let corrupt = -1;
    let inputs = || {
        let mut raw: Vec<RawAlert> = fx
            .payloads
            .iter()
            .map(|(k, bytes)| RawAlert::new(origin(*k), bytes.clone()))
            .collect();
        raw.insert(
            3,
            RawAlert::new(origin(corrupt), b"Obj\x01 not an alert".to_vec()),
        );
        raw
    };
    let written: HashSet<i64> = fx.by_source.values().copied().collect();
    hold_to_contract(
        "decode",
        inputs,
        |raw: &RawAlert| key_of(&raw.origin),
        |msg: &InFlight| vec![key_of(&msg.origin)],
        &written,
        |journal, faults, retry, stats| DecodeWorker {
            payload: Payload::Survey,
            decoder: fx.decoder.clone(),
            blobs: Arc::new(FakeBlobs {
                journal: journal.clone(),
                faults,
                by_source: fx.by_source.clone(),
            }),
            rejected: Arc::new(Rejected::new(rejected.path())),
            stats: stats.clone(),
            retry,
        },
    );
    // Every run set the corrupt payload aside with its reason, and acknowledged it so.
    let kept = std::fs::read_dir(rejected.path()).unwrap().count();
    assert!(kept > 0, "the corrupt payload was kept");
}

#[test]
fn the_decode_stage_acknowledges_a_bad_payload_as_permanent_once_kept() {
    let fx = fixture();
    let rejected = tempfile::tempdir().unwrap();
    let journal = Journal::default();
    let stop = Arc::new(AtomicBool::new(false));
    let stage = DecodeWorker {
        payload: Payload::Survey,
        decoder: fx.decoder.clone(),
        blobs: Arc::new(FakeBlobs {
            journal: journal.clone(),
            faults: Faults::new(Weather::Healthy),
            by_source: fx.by_source.clone(),
        }),
        rejected: Arc::new(Rejected::new(rejected.path())),
        stats: Arc::new(Stats::default()),
        retry: retrier(&stop),
    };
    let inputs = vec![RawAlert::new(
        origin(-1),
        b"\x00\x00\x00\x00\x01 not an alert".to_vec(),
    )];
    run_stage(
        stage,
        inputs,
        |m: &InFlight| vec![key_of(&m.origin)],
        &journal,
        Weather::Healthy,
        &stop,
    )
    .unwrap();
    let events = journal.events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::Acked(-1, Status::Permanent { .. })]
        ),
        "{events:?}"
    );
    let kept: Vec<_> = walk(rejected.path());
    assert!(
        kept.iter().any(|p| p.ends_with(".txt")),
        "kept with its reason: {kept:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn the_store_stage_keeps_the_contract() {
    store_stage_keeps_the_contract(false);
}

/// The server stores' writer, which gathers the next batch while one is written.
#[test]
fn the_store_stage_gathering_ahead_keeps_the_contract() {
    store_stage_keeps_the_contract(true);
}

fn store_stage_keeps_the_contract(gather_ahead: bool) {
    let fx = fixture();
    let written: HashSet<i64> = fx.alerts.iter().map(|a| a.alert_id).collect();
    hold_to_contract(
        "store",
        || in_flight(&fx),
        |m: &InFlight| key_of(&m.origin),
        |m: &InFlight| vec![key_of(&m.origin)],
        &written,
        |journal, faults, retry, stats| StoreWriter {
            lightcurves: Box::new(FakeLightcurves {
                journal: journal.clone(),
                faults,
            }),
            blobs: Arc::new(FakeBlobs {
                journal: journal.clone(),
                faults: Faults::new(Weather::Healthy),
                by_source: fx.by_source.clone(),
            }),
            stats: stats.clone(),
            max_batch: 4,
            linger: Duration::from_millis(5),
            max_age: Duration::from_millis(50),
            retry,
            accounted: solas_core::recent::RecentSet::new(100, None),
            gather_ahead,
        },
    );
}

#[test]
fn the_context_stage_keeps_the_contract() {
    let fx = fixture();
    let mut by_object_id: HashMap<(Survey, i64), Vec<i64>> = HashMap::new();
    for a in &fx.alerts {
        by_object_id
            .entry((a.survey, a.object.id))
            .or_default()
            .push(a.alert_id);
    }
    let written: HashSet<i64> = fx.alerts.iter().map(|a| a.alert_id).collect();
    hold_to_contract(
        "context",
        || in_flight(&fx),
        |m: &InFlight| key_of(&m.origin),
        |m: &InFlight| vec![key_of(&m.origin)],
        &written,
        |journal, faults, retry, stats| ContextStage {
            classifier: Box::new(Orphans),
            cache: Box::new(FakeCache {
                journal: journal.clone(),
                faults,
                by_object_id: by_object_id.clone(),
            }),
            stats: stats.clone(),
            max_batch: 4,
            linger: Duration::from_millis(5),
            retry,
        },
    );
}

#[test]
fn the_filter_stage_keeps_the_contract() {
    let fx = fixture();
    // The features read the real lightcurves, stored beforehand.
    let dir = tempfile::tempdir().unwrap();
    let lightcurves = dir.path().join("lightcurves.db");
    let mut store = solas_store::open_lightcurves(None, &lightcurves).unwrap();
    store.write(&fx.alerts.iter().collect::<Vec<_>>()).unwrap();
    let written: HashSet<i64> = fx.alerts.iter().map(|a| a.alert_id).collect();
    hold_to_contract(
        "filter",
        || in_flight(&fx),
        |m: &InFlight| key_of(&m.origin),
        |work: &DeliveryWork| work.acks.iter().map(key_of).collect(),
        &written,
        |journal, faults, retry, stats| FilterStage {
            lightcurves: solas_store::open_lightcurves(None, &lightcurves).unwrap(),
            more_lightcurves: vec![solas_store::open_lightcurves(None, &lightcurves).unwrap()],
            main: Box::new(FakeMain {
                journal: journal.clone(),
                faults,
                by_object: fx.by_object.clone(),
            }),
            dust: None,
            stats: stats.clone(),
            max_batch: 4,
            idle: Duration::from_millis(5),
            max_age: Duration::from_millis(50),
            watch: None,
            filters: None,
            models: None,
            retry,
        },
    );
}

#[test]
fn the_delivery_stage_keeps_the_contract() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("solas.db");
    // One kafka filter per input, delivering that input's object: its topic names the input.
    let work = || {
        fx.alerts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut row = serde_json::Map::new();
                row.insert("objectId".into(), a.object.name.clone().into());
                DeliveryWork {
                    outcomes: vec![FilterOutcome {
                        filter: StoredFilter {
                            id: i as i64 + 1,
                            owner: 1,
                            name: format!("contract {i}"),
                            description: String::new(),
                            selected: "objects.objectId".into(),
                            tables: "objects".into(),
                            conditions: String::new(),
                            survey: "ztf".into(),
                            public: false,
                            active: "alerts".into(),
                            output: "kafka".into(),
                            topic: a.alert_id.to_string(),
                            email: None,
                            webhook_url: None,
                            byte_quota: -1,
                        },
                        trigger: Trigger::Alerts,
                        result: Ok(vec![row]),
                        elapsed: Duration::ZERO,
                    }],
                    alerts: HashMap::new(),
                    notices: HashMap::new(),
                    acks: vec![origin(a.alert_id)],
                    visits: Vec::new(),
                }
            })
            .collect()
    };
    let written: HashSet<i64> = fx.alerts.iter().map(|a| a.alert_id).collect();
    hold_to_contract(
        "delivery",
        work,
        |w: &DeliveryWork| key_of(&w.acks[0]),
        |never: &solas_pipeline::stage::Never| match *never {},
        &written,
        |journal, faults, retry, stats| DeliveryStage {
            sink: Box::new(FakeSink {
                journal: journal.clone(),
                faults,
            }),
            reports: FilterStore::open(&db).unwrap(),
            stats: stats.clone(),
            retry,
        },
    );
}

/// The publisher's store is a Kafka broker (librdkafka's mock cluster here): its writes
/// are read back from the topic, and its outage is the broker going down.
#[test]
fn the_publish_stage_keeps_the_contract() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::Message;

    let fx = fixture();
    for weather in WEATHERS {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("contract", 1, 1).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let retry = retrier(&stop);
        let config = solas_pipeline::publish::PublishConfig {
            brokers: cluster.bootstrap_servers(),
            topic: "contract".into(),
            extra: vec![("message.timeout.ms".into(), "1000".into())],
        };
        let publisher =
            solas_pipeline::publish::Publisher::new(&config, stats.clone(), retry.clone()).unwrap();
        if weather != Weather::Healthy {
            cluster.broker_down(1).unwrap();
        }
        let journal = Journal::default();
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let (ack_tx, ack_rx) = crossbeam_channel::unbounded();
        let inputs = in_flight(&fx);
        let keys: Vec<i64> = inputs.iter().map(|m| key_of(&m.origin)).collect();
        for msg in inputs {
            in_tx.send(msg).unwrap();
        }
        drop(in_tx);
        let running = std::thread::spawn(move || publisher.run(in_rx, Output::new(out_tx, ack_tx)));
        let collected = {
            let journal = journal.clone();
            std::thread::spawn(move || {
                collect(
                    out_rx,
                    ack_rx,
                    |n: &solas_pipeline::stage::Never| match *n {},
                    &journal,
                )
            })
        };
        // The broker stays down long enough for the publisher's tries to fail.
        match weather {
            Weather::Healthy => {}
            Weather::Flaky => {
                std::thread::sleep(Duration::from_secs(3));
                assert!(
                    journal.events().is_empty(),
                    "nothing acknowledged while the broker is down"
                );
                cluster.broker_up(1).unwrap();
            }
            Weather::DownUntilStop => {
                std::thread::sleep(Duration::from_secs(3));
                stop.store(true, Ordering::SeqCst);
            }
        }
        let name = format!("publish ({weather:?})");
        running
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        collected.join().unwrap();
        let events = journal.events();
        if weather == Weather::DownUntilStop {
            assert!(
                events.is_empty(),
                "{name}: nothing acknowledged: {events:?}"
            );
            assert!(Stats::get(&stats.abandoned) > 0, "{name}");
            continue;
        }
        // What the broker holds, read back: each acknowledged input is there.
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "contract-check")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&["contract"]).unwrap();
        let mut on_topic = HashSet::new();
        let until = Instant::now() + Duration::from_secs(20);
        while on_topic.len() < keys.len() && Instant::now() < until {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let published: serde_json::Value =
                    serde_json::from_slice(m.payload().unwrap()).unwrap();
                on_topic.insert(published["alert"]["alert_id"].as_i64().unwrap());
            }
        }
        let written: HashSet<i64> = keys.iter().copied().collect();
        assert_eq!(on_topic, written, "{name}: every input on the topic");
        assert_contract(&name, &events, &keys, &HashSet::new(), true);
    }
}
