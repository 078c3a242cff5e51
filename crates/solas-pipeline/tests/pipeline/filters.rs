//! Stored user filters run on each batch in the filter stage, seeing only that batch's
//! objects, and a filter that cannot run does not stop the others.

use crate::common;

use std::time::Duration;

use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::main_db::MainDatabase;
use solas_testdata as data;

fn filter(name: &str, survey: &str, selected: &str, conditions: &str) -> StoredFilter {
    StoredFilter {
        id: 0,
        owner: 7,
        name: name.into(),
        description: String::new(),
        selected: selected.into(),
        tables: "objects".into(),
        conditions: conditions.into(),
        survey: survey.into(),
        public: false,
        active: "alerts".into(),
        output: "none".into(),
        topic: format!("solas_7_{name}"),
        email: None,
        webhook_url: None,
        byte_quota: -1,
    }
}

#[test]
fn active_filters_run_on_every_batch_and_a_broken_one_is_only_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let mut store = FilterStore::open(&db).unwrap();
    store
        .add(&filter(
            "bright",
            "ztf",
            "objects.objectId, objects.gmag",
            "objects.gmag < 18",
        ))
        .unwrap();
    store
        .add(&filter(
            "rubin",
            "lsst",
            "objects.diaObjectId",
            "objects.nDiaSources >= 1",
        ))
        .unwrap();
    // Stored directly, bypassing the check: it names a column that does not exist.
    store
        .add(&filter(
            "broken",
            "lsst",
            "objects.diaObjectId",
            "objects.nosuchcolumn > 1",
        ))
        .unwrap();
    let mut off = filter("off", "lsst", "objects.diaObjectId", "");
    off.active = "off".into();
    store.add(&off).unwrap();

    // One batch, so every object is in it once.
    let mut config = common::config(tmp.path(), common::files(&data::real_alert_files()));
    config.filter_batch = 100_000;
    config.filter_idle = Duration::from_secs(10);
    config.filter_max_age = Duration::from_secs(120);
    let summary = common::run(config);
    assert_eq!(summary.batches, 1);
    assert_eq!(
        summary.filter_runs, 3,
        "the three active filters, once each"
    );
    assert_eq!(summary.filter_failures, 1, "the broken one");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64;
    let expected = count("SELECT COUNT(*) FROM ztf_objects WHERE gmag < 18")
        + count("SELECT COUNT(*) FROM objects WHERE nDiaSources >= 1");
    assert!(expected > 50);
    assert_eq!(summary.filter_rows, expected);
}
