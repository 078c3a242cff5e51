//! Shared set-up for the API tests: the shared real alerts (ZTF and Rubin) ingested by the
//! real pipeline into a temporary data directory, with three small real catalogues loaded
//! first so that the context stage classifies every object; and what the alerts say,
//! read independently of Solas's stores, to check the answers against.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use solas_pipeline::runner::{Input, RunConfig};
use solas_store::db::{Db, Target};
use solas_testdata::servers::TempDb;

/// The catalogues loaded (≈10,800 rows: galaxies, blazars, bright stars).
pub const CATALOGUES: [&str; 3] = ["openngc", "3hsp", "hipparcos2"];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// With `SOLAS_TEST_WEB_POSTGRES` set, the shared data's main database and lightcurves are
/// in PostgreSQL (two fresh databases), so the same API tests run on the scale-out
/// backends; `scripts/test.sh` runs the API tests both ways.
fn postgres() -> Option<&'static (TempDb, TempDb)> {
    static PG: OnceLock<Option<(TempDb, TempDb)>> = OnceLock::new();
    PG.get_or_init(|| {
        std::env::var_os("SOLAS_TEST_WEB_POSTGRES")?;
        sync(|| {
            let main = TempDb::create("web_main").expect("PostgreSQL for SOLAS_TEST_WEB_POSTGRES");
            let lightcurves = TempDb::create("web_lc").expect("PostgreSQL");
            Some((main, lightcurves))
        })
    })
    .as_ref()
}

/// Run `f` on a thread of its own: the synchronous PostgreSQL client may not block inside
/// the async tests' runtime.
pub fn sync<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("no panic"))
}

/// Work on the shared data's main database (off the async runtime).
pub fn with_main<T: Send>(f: impl FnOnce(&mut Db) -> T + Send) -> T {
    sync(|| f(&mut main_conn()))
}

/// Work on the shared data's users (off the async runtime).
pub fn with_users<T: Send>(f: impl FnOnce(&mut solas_web::UserStore) -> T + Send) -> T {
    sync(|| f(&mut users()))
}

/// The shared data's main database (ingested first, like the server's).
pub fn main_target() -> Target {
    shared_data();
    match postgres() {
        Some((main, _)) => Target::Postgres(main.url()),
        None => Target::Sqlite(shared_data().join("solas.db")),
    }
}

/// A connection to the shared data's main database.
pub fn main_conn() -> Db {
    solas_store::main_db::connect(&main_target()).expect("main database")
}

/// How a server over `data` (the shared data or a copy made the same way) is configured.
pub fn serve_config(data: &Path) -> solas_web::ServeConfig {
    let mut config = solas_web::ServeConfig::new(data, "127.0.0.1:0".parse().unwrap());
    if let Some((main, lightcurves)) = postgres() {
        config.main_db = Some(Target::Postgres(main.url()));
        config.lightcurves_url = Some(lightcurves.url());
    }
    config
}

/// The users of the shared data's server.
pub fn users() -> solas_web::UserStore {
    shared_data();
    let main = postgres().map(|(main, _)| Target::Postgres(main.url()));
    solas_web::UserStore::connect(&solas_web::users_target(shared_data(), main.as_ref()))
        .expect("users")
}

/// Load the catalogues and ingest every real alert file into `data`.
pub fn ingest(data: &Path) {
    ingest_into(data, None)
}

/// [`ingest`], with the main database and the lightcurves in PostgreSQL when given.
fn ingest_into(data: &Path, pg: Option<&(TempDb, TempDb)>) {
    let mut store =
        solas_catalogue::Store::open(&data.join("catalogues")).expect("catalogue store");
    for name in CATALOGUES {
        store
            .add(&repo().join(format!("catalogues/{name}.toml")))
            .unwrap_or_else(|e| panic!("loading catalogue {name}: {e}"));
    }
    drop(store);
    let files: Vec<String> = solas_testdata::real_alert_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut config = RunConfig::new(data, Input::Files(files));
    config.schema_dir = Some(solas_testdata::lsst_schema_dir());
    config.progress = false;
    config.filter_idle = std::time::Duration::from_millis(50);
    if let Some((main, lightcurves)) = pg {
        config.main_db = Some(Target::Postgres(main.url()));
        config.lightcurves_url = Some(lightcurves.url());
    }
    let summary =
        solas_pipeline::run(config, Arc::new(AtomicBool::new(false))).expect("pipeline run");
    assert!(summary.alerts > 300, "{} alerts ingested", summary.alerts);
}

/// One data directory per test binary, ingested on first use.
pub fn shared_data() -> &'static Path {
    static DATA: OnceLock<tempfile::TempDir> = OnceLock::new();
    DATA.get_or_init(|| {
        let pg = postgres();
        sync(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            ingest_into(dir.path(), pg);
            dir
        })
    })
    .path()
}

/// What the Rubin alerts themselves say about one object.
#[derive(Debug, Clone, Default)]
pub struct RubinObject {
    pub ra: f64,
    pub dec: f64,
    /// Distinct diaSourceIds over all its alerts (trigger and history).
    pub sources: BTreeSet<i64>,
    /// Distinct forced-photometry ids.
    pub forced: BTreeSet<i64>,
    /// diaSourceIds that triggered an alert (these have cutouts).
    pub triggers: BTreeSet<i64>,
}

/// Every Rubin DIA object of the shared alerts, decoded here, apart from the pipeline.
pub fn rubin_objects() -> BTreeMap<i64, RubinObject> {
    let decoder = solas_decode::Decoder::configured(Some(&solas_testdata::lsst_schema_dir()), None)
        .expect("decoder");
    let mut out: BTreeMap<i64, RubinObject> = BTreeMap::new();
    for path in solas_testdata::shared_glob("lsst/real/*/*.avro") {
        let bytes = std::fs::read(&path).expect("alert file");
        for (_, alert) in decoder.decode(&bytes).expect("decodes").records {
            let alert = alert.expect("alert decodes");
            // Solar-system sources (keyed by ssObjectId) have no DIA object and no
            // objects row.
            if !matches!(alert.survey_object, solas_core::SurveyObject::Lsst(Some(_))) {
                continue;
            }
            let o = out.entry(alert.object.id).or_default();
            o.ra = alert.ra;
            o.dec = alert.dec;
            o.sources
                .extend(alert.detections.iter().map(|d| d.source_id));
            o.forced.extend(alert.forced.iter().map(|f| f.source_id));
            o.triggers.insert(alert.alert_id);
        }
    }
    out
}

/// The newest triggering-detection MJD (the survey's own time scale) among the shared
/// alerts matching `pattern` (under the shared data), decoded here, apart from the pipeline.
pub fn newest_alert_mjd(pattern: &str) -> f64 {
    let decoder = solas_decode::Decoder::configured(Some(&solas_testdata::lsst_schema_dir()), None)
        .expect("decoder");
    let mut newest = f64::MIN;
    for path in solas_testdata::shared_glob(pattern) {
        let bytes = std::fs::read(&path).expect("alert file");
        let Ok(decoded) = decoder.decode(&bytes) else {
            continue;
        };
        for alert in decoded.records.into_iter().filter_map(|(_, a)| a.ok()) {
            newest = newest.max(alert.mjd);
        }
    }
    newest
}

/// What the ZTF alerts themselves say about one object (by name, e.g. `ZTF21abiuvdk`):
/// its detections' candids over all its alerts, and the candids that triggered an alert.
pub fn ztf_object(name: &str) -> RubinObject {
    let decoder = solas_decode::Decoder::configured(None, None).expect("decoder");
    let mut o = RubinObject::default();
    for path in solas_testdata::shared_glob("ztf/alerts/*/*.avro") {
        let bytes = std::fs::read(&path).expect("alert file");
        let Ok(decoded) = decoder.decode(&bytes) else {
            continue;
        };
        for (_, alert) in decoded.records {
            let Ok(alert) = alert else { continue };
            if alert.object.name != name {
                continue;
            }
            o.ra = alert.ra;
            o.dec = alert.dec;
            o.sources
                .extend(alert.detections.iter().map(|d| d.source_id));
            o.triggers.insert(alert.alert_id);
        }
    }
    o
}

/// The Rubin object with the most detections (ties: the smallest id).
pub fn richest_rubin_object() -> (i64, RubinObject) {
    let objects = rubin_objects();
    let (id, o) = objects
        .iter()
        .max_by(|a, b| a.1.sources.len().cmp(&b.1.sources.len()).then(b.0.cmp(a.0)))
        .expect("Rubin objects in the shared data");
    (*id, o.clone())
}

pub use solas_testdata::python_with;

/// Where the shared data's lightcurves are (PostgreSQL or `lightcurves.db`).
pub fn lightcurve_target() -> Target {
    let data = shared_data();
    match postgres() {
        Some((_, lightcurves)) => Target::Postgres(lightcurves.url()),
        None => Target::Sqlite(data.join("lightcurves.db")),
    }
}

/// The lightcurve store the shared data's server reads.
pub fn lightcurves() -> Box<dyn solas_store::LightcurveStore> {
    let data = shared_data();
    let url = postgres().map(|(_, lightcurves)| lightcurves.url());
    sync(|| solas_store::open_lightcurves(url.as_deref(), &data.join("lightcurves.db")))
        .expect("lightcurves")
}

/// The text between `start` and the next `end` after it.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
}
