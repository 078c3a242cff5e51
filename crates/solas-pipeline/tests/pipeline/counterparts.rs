//! Cross-survey counterparts: a real Rubin alert moved onto a real ZTF object (0.5″ away)
//! is linked to it, whether the ZTF object was stored first or both arrive in one batch;
//! filters of either survey join `counterparts`, and an object farther than the radius is
//! not linked.

use crate::common;

use std::path::{Path, PathBuf};

use solas_decode::value::{self, Value};
use solas_decode::{DirRegistry, SchemaRegistry};
use solas_pipeline::filter::user_filters::{DbFilterEngine, FilterEngine};
use solas_store::main_db::filter_runs::BatchObjects;
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_testdata as data;

fn ztf_alerts() -> Vec<PathBuf> {
    data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro")
}

/// The first shared Rubin alert with every position in it (diaSource, diaObject, the
/// previous sources and forced sources) moved to (ra, dec), written as a wire-format file
/// in `dir`; returns the file and the alert's diaObjectId.
fn rubin_alert_at(dir: &Path, ra: f64, dec: f64) -> (PathBuf, i64) {
    let file = &data::shared_glob("lsst/real/boom_confluent_wire_v9.0/*.avro")[0];
    let bytes = std::fs::read(file).unwrap();
    let id = u32::from_be_bytes(bytes[1..5].try_into().unwrap());
    let schema = DirRegistry::open(&data::lsst_schema_dir())
        .unwrap()
        .schema_json(id)
        .unwrap();
    let decoder = solas_decode::Decoder::configured(Some(&data::lsst_schema_dir()), None).unwrap();
    let mut whole = decoder.decode_values(&bytes).unwrap().remove(0).unwrap();
    fn moved(v: &mut Value, ra: f64, dec: f64) {
        match v {
            Value::Record(fields) => {
                for (name, f) in fields.iter_mut() {
                    match name.as_str() {
                        "ra" if matches!(f, Value::Double(_)) => *f = Value::Double(ra),
                        "dec" if matches!(f, Value::Double(_)) => *f = Value::Double(dec),
                        _ => moved(f, ra, dec),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| moved(i, ra, dec)),
            _ => {}
        }
    }
    moved(&mut whole, ra, dec);
    let payload = solas_decode::wire::frame(id, &value::write(&whole, &schema).unwrap());
    let alert = decoder
        .decode(&payload)
        .unwrap()
        .records
        .remove(0)
        .1
        .unwrap();
    assert!((alert.ra - ra).abs() < 1e-9 && (alert.dec - dec).abs() < 1e-9);
    let path = dir.join("moved.avro");
    std::fs::write(&path, payload).unwrap();
    (path, alert.object.id)
}

/// ZTF21abiuvdk's mean position, as its stored objects row has it.
fn ztf_position() -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    common::run(common::config(tmp.path(), common::files(&ztf_alerts())));
    let conn = rusqlite::Connection::open(tmp.path().join("solas.db")).unwrap();
    conn.query_row(
        "SELECT ramean, decmean FROM ztf_objects WHERE objectId = 'ZTF21abiuvdk'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

fn pairs(db: &Path) -> Vec<(i64, String, f64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT diaObjectId, objectId, arcsec FROM counterparts ORDER BY 1, 2")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn filter(survey: &str, selected: &str) -> StoredFilter {
    StoredFilter {
        id: 0,
        owner: 7,
        name: format!("both_{survey}"),
        description: String::new(),
        selected: selected.into(),
        tables: "objects, counterparts".into(),
        conditions: String::new(),
        survey: survey.into(),
        public: false,
        active: "alerts".into(),
        output: "none".into(),
        topic: "t".into(),
        email: None,
        webhook_url: None,
        byte_quota: -1,
    }
}

#[test]
fn a_rubin_alert_at_a_ztf_objects_position_is_its_counterpart() {
    let (ra, dec) = ztf_position();
    // 0.5″ north: within the default 1.5″.
    let offset = 0.5 / 3600.0;
    let moved_dir = tempfile::tempdir().unwrap();
    let (rubin, dia_object_id) = rubin_alert_at(moved_dir.path(), ra, dec + offset);

    // The ZTF object stored first, the Rubin alert in a later run.
    let tmp = tempfile::tempdir().unwrap();
    common::run(common::config(tmp.path(), common::files(&ztf_alerts())));
    common::run(common::config(
        tmp.path(),
        common::files(std::slice::from_ref(&rubin)),
    ));
    let db = tmp.path().join("solas.db");
    let found = pairs(&db);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, dia_object_id);
    assert_eq!(found[0].1, "ZTF21abiuvdk");
    assert!((found[0].2 - 0.5).abs() < 0.01, "{found:?}");

    // Filters of both surveys join it on their own key.
    let mut store = FilterStore::open(&db).unwrap();
    store
        .add(&filter(
            "lsst",
            "objects.diaObjectId, counterparts.objectId",
        ))
        .unwrap();
    store
        .add(&filter("ztf", "objects.objectId, counterparts.diaObjectId"))
        .unwrap();
    let mut engine = DbFilterEngine::open(&db).unwrap();
    let outcomes = engine
        .run_batch(&BatchObjects {
            lsst: vec![dia_object_id],
            ztf: vec!["ZTF21abiuvdk".into()],
        })
        .unwrap();
    let rows: Vec<serde_json::Value> = outcomes
        .iter()
        .flat_map(|o| o.result.as_ref().unwrap().iter())
        .map(|r| serde_json::Value::Object(r.clone()))
        .collect();
    assert!(
        rows.contains(
            &serde_json::json!({"diaObjectId": dia_object_id, "objectId": "ZTF21abiuvdk"})
        ),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 2, "one row from each survey's filter: {rows:?}");
    for r in &rows {
        assert_eq!(
            r["diaObjectId"].as_i64(),
            Some(dia_object_id),
            "64-bit id exact"
        );
    }

    // Both in one batch: the pair is found before either row is stored.
    let together = tempfile::tempdir().unwrap();
    let mut files = ztf_alerts();
    files.push(rubin);
    let mut config = common::config(together.path(), common::files(&files));
    config.filter_batch = 100_000;
    config.filter_idle = std::time::Duration::from_secs(10);
    let summary = common::run(config);
    assert_eq!(summary.batches, 1);
    assert_eq!(pairs(&together.path().join("solas.db")), found);
}

#[test]
fn an_object_beyond_the_radius_is_not_a_counterpart() {
    let (ra, dec) = ztf_position();
    let moved_dir = tempfile::tempdir().unwrap();
    let (rubin, _) = rubin_alert_at(moved_dir.path(), ra, dec + 2.0 / 3600.0);
    let tmp = tempfile::tempdir().unwrap();
    common::run(common::config(tmp.path(), common::files(&ztf_alerts())));
    common::run(common::config(
        tmp.path(),
        common::files(std::slice::from_ref(&rubin)),
    ));
    assert!(pairs(&tmp.path().join("solas.db")).is_empty());
    // A wider radius links them.
    let wide = tempfile::tempdir().unwrap();
    common::run(common::config(wide.path(), common::files(&ztf_alerts())));
    let mut config = common::config(wide.path(), common::files(&[rubin]));
    config.counterpart_radius_arcsec = Some(3.0);
    common::run(config);
    let found = pairs(&wide.path().join("solas.db"));
    assert_eq!(found.len(), 1);
    assert!((found[0].2 - 2.0).abs() < 0.01, "{found:?}");
}
