//! The completeness ledger on ZTF21abiuvdk's 34 real alerts: with all of them every visit
//! is whole at every stage; with one left out, the later alerts' histories name the lost
//! source and the ledger puts it on its exposure; when the alert comes late, it leaves the
//! ledger.

use crate::common;

use std::path::PathBuf;

use solas_core::Survey;
use solas_store::main_db::ledger::{self, Step};
use solas_testdata as data;

/// ZTF21abiuvdk's alerts in time order, with each one's (candid, jd − 2400000.5, field,
/// ra, dec).
#[allow(clippy::type_complexity)]
fn alerts() -> Vec<(PathBuf, i64, f64, i64, f64, f64)> {
    let decoder = solas_decode::Decoder::configured(None, None).unwrap();
    let mut out: Vec<(PathBuf, i64, f64, i64, f64, f64)> =
        data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro")
            .into_iter()
            .map(|path| {
                let decoded = decoder.decode(&std::fs::read(&path).unwrap()).unwrap();
                let a = decoded.records.into_iter().next().unwrap().1.unwrap();
                let field = a.visit.expect("a ZTF alert has its field");
                (path, a.alert_id, a.mjd, field, a.ra, a.dec)
            })
            .collect();
    out.sort_by(|a, b| a.2.total_cmp(&b.2));
    out
}

fn nights(dir: &std::path::Path) -> Vec<ledger::Night> {
    let mut db =
        solas_store::main_db::connect(&solas_store::db::Target::Sqlite(dir.join("solas.db")))
            .unwrap();
    let mut lightcurves = solas_store::open_lightcurves(None, &dir.join("lightcurves.db")).unwrap();
    ledger::nights(&mut db)
        .unwrap()
        .into_iter()
        .map(|(survey, night)| {
            ledger::prune_arrived(&mut db, lightcurves.as_mut(), survey, night).unwrap();
            ledger::night(&mut db, survey, night).unwrap()
        })
        .collect()
}

#[test]
fn the_ledger_names_the_visit_that_lost_an_alert() {
    let all = alerts();
    assert_eq!(all.len(), 34);

    // Every alert: each visit counts its alerts at every stage that ran, none lost.
    let whole = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = all.iter().map(|a| a.0.clone()).collect();
    common::run(common::config(whole.path(), common::files(&paths)));
    let got = nights(whole.path());
    let decoded: i64 = got.iter().map(|n| n.total(Step::Decoded)).sum();
    assert_eq!(decoded, 34);
    for n in &got {
        assert_eq!(n.survey, Survey::Ztf);
        for step in [Step::Stored, Step::Filtered, Step::Delivered] {
            assert_eq!(
                n.total(step),
                n.total(Step::Decoded),
                "{step:?} on {}",
                n.night
            );
        }
        assert!(n.short_visits().is_empty(), "{n:?}");
        assert!(n.unreceived.is_empty(), "{n:?}");
        // The night's sky holds every one of its alerts, and is small (a few cells).
        let mut db = solas_store::main_db::connect(&solas_store::db::Target::Sqlite(
            whole.path().join("solas.db"),
        ))
        .unwrap();
        let moc = ledger::sky_fits(&mut db, Survey::Ztf, n.night)
            .unwrap()
            .unwrap();
        let moc = solas_watch::parse_moc(&moc).unwrap();
        for a in all
            .iter()
            .filter(|a| solas_core::night::night(Survey::Ztf, a.2) == n.night)
        {
            assert!(
                moc.contains(a.4, a.5),
                "{} not in the sky of {}",
                a.1,
                n.night
            );
        }
        assert!(
            n.sky_deg2.is_some_and(|a| a > 0.0 && a < 1.0),
            "{:?}",
            n.sky_deg2
        );
        for v in &n.visits {
            // Each night's visits are the alerts' own (night, field) pairs.
            let expected = all
                .iter()
                .filter(|a| {
                    a.3 == v.key.visit && solas_core::night::night(Survey::Ztf, a.2) == n.night
                })
                .count() as i64;
            assert_eq!(v.count(Step::Decoded), expected, "{v:?}");
        }
    }

    // The tenth alert left out: the alerts after it carry it in their histories.
    let (lost_path, lost_candid, lost_mjd, lost_field, ..) = all[9].clone();
    let partial = tempfile::tempdir().unwrap();
    let without: Vec<PathBuf> = paths.iter().filter(|p| **p != lost_path).cloned().collect();
    common::run(common::config(partial.path(), common::files(&without)));
    let got = nights(partial.path());
    let night = solas_core::night::night(Survey::Ztf, lost_mjd);
    let n = got.iter().find(|n| n.night == night).unwrap();
    let missing: Vec<i64> = n
        .visits
        .iter()
        .flat_map(|v| v.missing.iter().copied())
        .chain(n.unreceived.iter().flat_map(|(_, ids)| ids.iter().copied()))
        .collect();
    assert_eq!(missing, [lost_candid], "{n:?}");
    // Its exposure: the visit of the same field and time if another alert came from it,
    // else an exposure none of whose alerts came.
    match n.visits.iter().find(|v| v.missing.contains(&lost_candid)) {
        Some(v) => assert_eq!(v.key.visit, lost_field),
        None => assert!(n
            .unreceived
            .iter()
            .any(|(mjd, ids)| (mjd - lost_mjd).abs() < 1e-6 && ids == &[lost_candid])),
    }
    let other_nights_missing: usize = got
        .iter()
        .filter(|n| n.night != night)
        .map(|n| n.visits.iter().map(|v| v.missing.len()).sum::<usize>() + n.unreceived.len())
        .sum();
    assert_eq!(other_nights_missing, 0);

    // It comes late: the ledger lets it go.
    common::run(common::config(partial.path(), common::files(&[lost_path])));
    let got = nights(partial.path());
    let n = got.iter().find(|n| n.night == night).unwrap();
    assert!(n.unreceived.is_empty() && n.visits.iter().all(|v| v.missing.is_empty()));
    assert_eq!(got.iter().map(|n| n.total(Step::Decoded)).sum::<i64>(), 34);
}
