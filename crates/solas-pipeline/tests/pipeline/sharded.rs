//! The lightcurve store sharded by object over several PostgreSQL servers (issue 16's
//! "beyond one PostgreSQL"): three servers on loopback (two clusters made for the test and
//! the shared one), the real alerts written to them in reverse order and twice, and every
//! object's lightcurve, records and the alert pages compared with one SQLite store; then a
//! whole run over the shards gives the same objects rows as an embedded one.

use crate::common;

use solas_store::postgres::shard_of;
use solas_store::sqlite::SqliteLightcurves;
use solas_store::LightcurveStore;
use solas_testdata as data;
use solas_testdata::servers::{PgCluster, TempDb};

#[test]
fn a_store_sharded_over_three_servers_holds_what_one_sqlite_store_holds() {
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("shard") else {
        return;
    };
    let (Some(a), Some(b)) = (PgCluster::start(), PgCluster::start()) else {
        return;
    };
    let urls = [db.url(), a.url(), b.url()];
    let setting = urls.join(" ; ");

    let alerts = common::real_alerts();
    let tmp = tempfile::tempdir().unwrap();
    let mut lite = SqliteLightcurves::open(&tmp.path().join("lightcurves.db")).unwrap();
    lite.write(&alerts.iter().collect::<Vec<_>>()).unwrap();
    let mut sharded = solas_store::open_lightcurves(Some(&setting), tmp.path()).unwrap();
    common::write_reversed_twice(sharded.as_mut(), &alerts);

    // Every object's rows on its own shard, and only there; every shard used.
    for (k, url) in urls.iter().enumerate() {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let ids: Vec<i64> = client
            .query("SELECT DISTINCT object_id FROM detections", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(ids.len() > 10, "shard {k} holds {} objects", ids.len());
        for id in ids {
            assert_eq!(shard_of(id, urls.len()), k, "object {id} on shard {k}");
        }
    }

    let mut compared = 0;
    for a in &alerts {
        let (x, y) = (
            lite.lightcurve(a.survey, &a.object).unwrap(),
            sharded.lightcurve(a.survey, &a.object).unwrap(),
        );
        common::assert_same_lightcurve(&x, &y, &a.object.name);
        assert_eq!(
            lite.records(a.survey, &a.object).unwrap(),
            sharded.records(a.survey, &a.object).unwrap(),
            "records of {}",
            a.object.name
        );
        compared += x.detections.len();
    }
    assert!(compared > 1000, "{compared}");

    // A filter batch's read, split over the shards and put back in the order asked.
    for survey in [solas_core::Survey::Lsst, solas_core::Survey::Ztf] {
        let objects: Vec<_> = alerts
            .iter()
            .filter(|a| a.survey == survey)
            .map(|a| &a.object)
            .collect();
        let batch = sharded.lightcurves(survey, &objects).unwrap();
        assert_eq!(batch.len(), objects.len());
        for (object, lc) in objects.iter().zip(&batch) {
            common::assert_same_lightcurve(
                lc,
                &lite.lightcurve(survey, object).unwrap(),
                &object.name,
            );
        }
    }

    // A replay's pages of stored alerts, merged from the shards, as one store gives them.
    for survey in [solas_core::Survey::Lsst, solas_core::Survey::Ztf] {
        let pages = |store: &mut dyn LightcurveStore| {
            let (mut after, mut ids) = (None, Vec::new());
            loop {
                let page = store.alerts(survey, (0.0, 1e6), after, 7).unwrap();
                let Some(last) = page.last() else { break };
                after = Some((last.mjd, last.alert_id));
                ids.extend(page.iter().map(|a| a.alert_id));
            }
            ids
        };
        let one = pages(&mut lite);
        assert!(!one.is_empty());
        assert_eq!(one, pages(sharded.as_mut()), "{survey:?} alerts");
    }
}

#[test]
fn a_run_over_sharded_lightcurves_equals_one_embedded_run() {
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("shard_run") else {
        return;
    };
    let Some(other) = PgCluster::start() else {
        return;
    };
    let files = data::real_alert_files();
    let out = tempfile::tempdir().unwrap();
    let mut config = common::config(out.path(), common::files(&files));
    config.lightcurves_in_postgres(format!("{} ; {}", db.url(), other.url()));
    let summary = common::run(config);
    let lite = tempfile::tempdir().unwrap();
    let reference = common::run(common::config(lite.path(), common::files(&files)));
    assert_eq!(summary.detections, reference.detections);
    common::assert_same(
        "objects",
        &common::objects_rows(lite.path()),
        &common::objects_rows(out.path()),
    );
}
