//! The embedded pipeline on the real shared alerts: what it stores, and that re-running or
//! re-ordering the alerts leaves the same rows.

use crate::common;

use std::collections::BTreeSet;

use solas_core::{CutoutKind, ObjectKey, Survey};
use solas_decode::{Decoder, DirRegistry};
use solas_pipeline::runner::Input;
use solas_store::blob::PackBlobStore;
use solas_store::sqlite::SqliteLightcurves;
use solas_store::{fits, BlobStore, LightcurveStore};
use solas_testdata as data;

fn decoder() -> Decoder {
    Decoder::with_registry(Box::new(
        DirRegistry::open(&data::lsst_schema_dir()).unwrap(),
    ))
}

#[test]
fn ztf21abiuvdk_lightcurve_is_the_union_of_its_34_alerts() {
    let files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    assert_eq!(files.len(), 34);
    // What the 34 alerts say, read directly.
    let decoder = decoder();
    let mut expected = BTreeSet::new();
    for f in &files {
        let alert = decoder
            .decode(&std::fs::read(f).unwrap())
            .unwrap()
            .records
            .remove(0)
            .1
            .unwrap();
        expected.extend(alert.detections.iter().map(|d| d.source_id));
    }

    let tmp = tempfile::tempdir().unwrap();
    let summary = common::run(common::config(tmp.path(), common::files(&files)));
    assert_eq!(summary.alerts, 34);
    assert_eq!(
        summary.detections as usize,
        expected.len(),
        "each candid stored once"
    );
    assert!(summary.rejected.is_empty());
    assert_eq!(
        summary.tables[..2],
        [("objects".into(), 0), ("ztf_objects".into(), 1)]
    );

    let mut store = SqliteLightcurves::open(&tmp.path().join("lightcurves.db")).unwrap();
    let lc = store
        .lightcurve(Survey::Ztf, &ObjectKey::ztf("ZTF21abiuvdk").unwrap())
        .unwrap();
    let stored: Vec<i64> = lc.detections.iter().map(|d| d.source_id).collect();
    let stored_set: BTreeSet<i64> = stored.iter().copied().collect();
    assert_eq!(stored.len(), stored_set.len(), "no candid twice");
    assert_eq!(stored_set, expected);
    assert!(
        lc.detections.windows(2).all(|w| w[0].mjd <= w[1].mjd),
        "sorted by time"
    );
    assert!(!lc.non_detections.is_empty(), "upper limits kept");

    // The objects row is computed from the whole union.
    let conn = rusqlite::Connection::open(tmp.path().join("solas.db")).unwrap();
    let (ncand, jdmin, jdmax): (i64, f64, f64) = conn
        .query_row(
            "SELECT ncand, jdmin, jdmax FROM ztf_objects WHERE objectId = 'ZTF21abiuvdk'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(ncand as usize, expected.len());
    assert!((jdmin - (lc.detections[0].mjd + 2_400_000.5)).abs() < 1e-6);
    assert!((jdmax - (lc.detections.last().unwrap().mjd + 2_400_000.5)).abs() < 1e-6);
}

#[test]
fn rerunning_or_reordering_the_alerts_leaves_the_same_rows() {
    let files = data::real_alert_files();
    let first = tempfile::tempdir().unwrap();
    let summary = common::run(common::config(first.path(), common::files(&files)));
    assert_eq!(summary.alerts, 309);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(summary.cutouts, 309 * 3);
    let lightcurves = common::dump(&first.path().join("lightcurves.db"));
    let main = common::dump(&first.path().join("solas.db"));
    let cutouts = common::cutout_index(first.path());
    assert_eq!(cutouts.len(), 309 * 3);

    // The same alerts again: nothing new.
    let again = common::run(common::config(first.path(), common::files(&files)));
    assert_eq!(
        (again.detections, again.forced, again.non_detections),
        (0, 0, 0)
    );
    common::assert_same(
        "re-run lightcurves",
        &common::dump(&first.path().join("lightcurves.db")),
        &lightcurves,
    );
    common::assert_same(
        "re-run main",
        &common::dump(&first.path().join("solas.db")),
        &main,
    );

    // Reversed order, one decode worker, into a fresh store: the same rows.
    let mut payloads: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    payloads.reverse();
    let total = payloads.len();
    let second = tempfile::tempdir().unwrap();
    let mut config = common::config(
        second.path(),
        Input::Memory(solas_pipeline::source::memory::MemorySource::new(
            payloads, total, None,
        )),
    );
    config.decode_workers = 1;
    config.filter_batch = 5;
    common::run(config);
    common::assert_same(
        "reordered lightcurves",
        &common::dump(&second.path().join("lightcurves.db")),
        &lightcurves,
    );
    common::assert_same(
        "reordered main",
        &common::dump(&second.path().join("solas.db")),
        &main,
    );
    assert_eq!(common::cutout_index(second.path()), cutouts);

    // One batch of all 309 alerts, its features shared out over two workers (each its own
    // lightcurve reader): the same rows as batches of 37 and 5 on one.
    let third = tempfile::tempdir().unwrap();
    let mut config = common::config(third.path(), common::files(&files));
    config.filter_batch = 1000;
    config.filter_idle = std::time::Duration::from_secs(2);
    config.filter_max_age = std::time::Duration::from_secs(30);
    config.features_workers = 2;
    let summary = common::run(config);
    assert_eq!(summary.batches, 1, "one batch, so two features workers");
    common::assert_same(
        "features on two workers",
        &common::dump(&third.path().join("solas.db")),
        &main,
    );
}

#[test]
fn cutouts_read_back_byte_exact() {
    let ztf = data::shared().join("ztf/alerts/ztf-avro-alert/2019_01_10_739260766315010006.avro");
    let rubin = data::shared_glob("lsst/real/boom_confluent_wire_v9.0/*.avro").remove(0);
    let tmp = tempfile::tempdir().unwrap();
    common::run(common::config(
        tmp.path(),
        common::files(&[ztf.clone(), rubin.clone()]),
    ));
    let store = PackBlobStore::open(&tmp.path().join("cutouts")).unwrap();
    let decoder = decoder();
    for file in [ztf, rubin] {
        let alert = decoder
            .decode(&std::fs::read(&file).unwrap())
            .unwrap()
            .records
            .remove(0)
            .1
            .unwrap();
        for cutout in &alert.cutouts {
            let stored = store
                .get_cutout(alert.survey, cutout.source_id, cutout.kind)
                .unwrap()
                .unwrap();
            assert_eq!(
                stored,
                fits::trim_to_image(&cutout.data).unwrap(),
                "{:?}",
                cutout.kind
            );
            assert!(stored.starts_with(b"SIMPLE  ="));
            assert_eq!(stored.len() % 2880, 0);
            let on_disk = store
                .stored_size(alert.survey, cutout.source_id, cutout.kind)
                .unwrap()
                .unwrap();
            assert!((on_disk as usize) < stored.len(), "stored compressed");
        }
        if alert.survey == Survey::Ztf {
            // ZTF stamps are single-HDU gzipped FITS: what comes back is exactly the gunzipped stamp.
            let c = &alert.cutouts[0];
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&c.data[..]), &mut raw)
                .unwrap();
            assert_eq!(
                store
                    .get_cutout(Survey::Ztf, c.source_id, c.kind)
                    .unwrap()
                    .unwrap(),
                raw
            );
        } else {
            // Rubin stamps lose their mask/variance extensions but keep the 30x30 image.
            let c = alert
                .cutouts
                .iter()
                .find(|c| c.kind == CutoutKind::Science)
                .unwrap();
            let stored = store
                .get_cutout(Survey::Lsst, c.source_id, c.kind)
                .unwrap()
                .unwrap();
            assert!(stored.len() < c.data.len());
            assert_eq!(
                &stored[..],
                &c.data[..stored.len()],
                "the image HDU is the stamp's first bytes"
            );
        }
    }
}

#[test]
fn bad_alerts_are_counted_set_aside_and_do_not_stop_the_run() {
    let good = data::shared().join("ztf/alerts/ztf-avro-alert/2019_01_10_739260766315010006.avro");
    let bytes = std::fs::read(&good).unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let dir = inputs.path();
    std::fs::copy(&good, dir.join("a_good.avro")).unwrap();
    std::fs::write(dir.join("b_truncated.avro"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(dir.join("c_garbage.avro"), b"this is not an alert").unwrap();
    std::fs::write(
        dir.join("d_unknown_schema.avro"),
        solas_decode::wire::frame(4242, &[2, 4, 6]),
    )
    .unwrap();
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() - 5000;
    corrupt[mid..mid + 64].fill(0xff);
    std::fs::write(dir.join("e_corrupt.avro"), &corrupt).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let summary = common::run(common::config(
        tmp.path(),
        Input::Files(vec![dir.display().to_string()]),
    ));
    assert_eq!(summary.payloads, 5);
    assert_eq!(summary.alerts, 1, "the good alert still went through");
    assert_eq!(summary.tables[1], ("ztf_objects".into(), 1));
    let rejected: u64 = summary.rejected.values().sum();
    assert_eq!(rejected, 4, "{:?}", summary.rejected);
    assert_eq!(summary.rejected.get("unknown_framing"), Some(&1));
    assert_eq!(summary.rejected.get("unknown_schema"), Some(&1));
    // Each rejected payload is kept with a note saying where it came from and why.
    let notes: Vec<_> = glob::glob(&format!("{}/rejected/*/*.txt", tmp.path().display()))
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(notes.len(), 4);
    for note in notes {
        let text = std::fs::read_to_string(&note).unwrap();
        assert!(
            text.contains("origin: ") && text.contains("reason: "),
            "{text}"
        );
        assert!(note.with_extension("").exists() || note.with_extension("avro").exists());
    }
}

/// A run reports itself in `worker_status` (what the status page and `/metrics` read).
#[test]
fn a_run_reports_its_counters_in_worker_status() {
    let tmp = tempfile::tempdir().unwrap();
    let files =
        solas_testdata::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    let summary = common::run(common::config(tmp.path(), common::files(&files)));
    let conn = rusqlite::Connection::open(tmp.path().join("solas.db")).unwrap();
    let (role, running, json, metrics): (String, bool, String, String) = conn
        .query_row(
            "SELECT role, running, summary, metrics FROM worker_status",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(role, "run");
    assert!(!running, "a finished run says so");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["alerts"].as_u64(), Some(summary.alerts));
    assert_eq!(json["batches"].as_u64(), Some(summary.batches));
    assert!(metrics.contains(&format!(
        "solas_alerts_total{{stage=\"decode\"}} {}",
        summary.alerts
    )));
}
