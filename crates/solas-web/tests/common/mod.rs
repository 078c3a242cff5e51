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

/// The catalogues loaded (≈10,800 rows: galaxies, blazars, bright stars).
pub const CATALOGUES: [&str; 3] = ["openngc", "3hsp", "hipparcos2"];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Load the catalogues and ingest every real alert file into `data`.
pub fn ingest(data: &Path) {
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
    let summary =
        solas_pipeline::run(config, Arc::new(AtomicBool::new(false))).expect("pipeline run");
    assert!(summary.alerts > 300, "{} alerts ingested", summary.alerts);
}

/// One data directory per test binary, ingested on first use.
pub fn shared_data() -> &'static Path {
    static DATA: OnceLock<tempfile::TempDir> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        ingest(dir.path());
        dir
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
