//! The archive keeps every field of every source once: every shared alert written to the
//! lightcurve stores (SQLite and PostgreSQL; in reverse order and twice, so neither
//! arrival order nor replays matter), then every record of every alert read on its own
//! and compared, field for field (NaN, null and 64-bit ids included), with what the store
//! gives back for that source. Where alerts carry a source twice, the trigger's version is
//! the one kept (docs/archive.md).

use std::collections::BTreeMap;

use crate::common;
use solas_core::{Alert, ObjectKey, RawRecord, Survey};
use solas_decode::value::{RecordReader, Value};
use solas_store::postgres::PgLightcurves;
use solas_store::sqlite::SqliteLightcurves;
use solas_store::LightcurveStore;
use solas_testdata as data;
use solas_testdata::servers::TempDb;

/// Which row of an object a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Detection(i64),
    Forced(i64),
    /// Time (as bits) and band.
    NonDetection(u64, String),
    Object(String),
    /// A trigger's own record (ssSource), by source and name.
    Trigger(i64, String),
}

type Key = (&'static str, i64, Row);

/// What each row must hold: the trigger's version where one came, else the history's,
/// with the newest object-level record (by trigger time, then alert id).
#[derive(Default)]
struct Expected {
    rows: BTreeMap<Key, (bool, Value)>,
    /// Object records: (mjd, alert id) of the alert they came from.
    newest: BTreeMap<Key, (f64, i64)>,
}

impl Expected {
    fn add(&mut self, reader: &mut RecordReader, alert: &Alert) {
        let (s, o) = (alert.survey.as_str(), alert.object.id);
        let mut put = |row: Row, trigger: bool, record: &Option<RawRecord>| {
            let record = record.as_ref().expect("every row carries its record");
            let value = reader.read(record).unwrap();
            match self.rows.get(&(s, o, row.clone())) {
                Some((true, _)) if !trigger => {}
                Some((false, old)) if !trigger => {
                    assert_eq!(old, &value, "history versions of {row:?} agree");
                }
                _ => {
                    self.rows.insert((s, o, row), (trigger, value));
                }
            }
        };
        for d in &alert.detections {
            put(
                Row::Detection(d.source_id),
                d.source_id == alert.alert_id,
                &d.record,
            );
        }
        for f in &alert.forced {
            put(Row::Forced(f.source_id), false, &f.record);
        }
        for n in &alert.non_detections {
            let row = Row::NonDetection(n.mjd.to_bits(), n.band.as_str().to_string());
            put(row, false, &n.record);
        }
        // The alert's own records: its trigger's and the object-level ones it carried.
        for r in alert.trigger_records.iter().chain(&alert.object_records) {
            let row = Row::Trigger(alert.alert_id, r.schema.name.clone());
            put(row, true, &Some(r.clone()));
        }
        for r in &alert.object_records {
            let key = (s, o, Row::Object(r.schema.name.clone()));
            let at = (alert.mjd, alert.alert_id);
            if self.newest.get(&key).is_none_or(|old| at > *old) {
                self.newest.insert(key.clone(), at);
                self.rows.insert(key, (true, reader.read(r).unwrap()));
            }
        }
    }
}

/// Every record the store holds for the objects of `objects`, by row.
fn stored(
    store: &mut dyn LightcurveStore,
    reader: &mut RecordReader,
    objects: &[(Survey, i64)],
) -> BTreeMap<Key, Value> {
    let mut out = BTreeMap::new();
    for &(s, o) in objects {
        let key = ObjectKey {
            id: o,
            name: String::new(),
        };
        let lc = store.lightcurve(s, &key).unwrap();
        let records = store.records(s, &key).unwrap();
        // Every row has its record.
        assert_eq!(records.detections.len(), lc.detections.len(), "{o}");
        assert_eq!(records.forced.len(), lc.forced.len(), "{o}");
        assert_eq!(records.non_detections.len(), lc.non_detections.len(), "{o}");
        let mut put = |row: Row, r: &RawRecord| {
            let key = (s.as_str(), o, row);
            assert!(out.insert(key, reader.read(r).unwrap()).is_none());
        };
        for (source, r) in &records.detections {
            put(Row::Detection(*source), r);
        }
        for (source, r) in &records.forced {
            put(Row::Forced(*source), r);
        }
        for (mjd, band, r) in &records.non_detections {
            put(
                Row::NonDetection(mjd.to_bits(), band.as_str().to_string()),
                r,
            );
        }
        for (_, r) in &records.object {
            put(Row::Object(r.schema.name.clone()), r);
        }
        for (source, r) in &records.trigger {
            put(Row::Trigger(*source, r.schema.name.clone()), r);
        }
    }
    out
}

fn compare(what: &str, expected: &Expected, got: &BTreeMap<Key, Value>) {
    assert_eq!(
        got.len(),
        expected.rows.len(),
        "{what}: one record per source, none missing, none twice"
    );
    for (key, (_, value)) in &expected.rows {
        assert_eq!(got.get(key), Some(value), "{what}: {key:?}");
    }
}

/// Each record beside SQLite's lightcurve rows belongs to exactly one row, and each row
/// has one: a history version the trigger's replaced, or a repeat, leaves none behind.
fn assert_one_record_per_row(conn: &rusqlite::Connection) {
    for table in ["detections", "forced_photometry", "non_detections"] {
        let (unreferred, dangling, shared): (i64, i64, i64) = conn
            .query_row(
                &format!(
                    "SELECT (SELECT count(*) FROM {table}_records r
                             WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.record_id = r.id)),
                     (SELECT count(*) FROM {table} t WHERE t.record IS NULL AND NOT EXISTS
                             (SELECT 1 FROM {table}_records r WHERE r.id = t.record_id)),
                     (SELECT count(record_id) - count(DISTINCT record_id) FROM {table})"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            (unreferred, dangling, shared),
            (0, 0, 0),
            "{table}: records no row refers to, rows without a record, records shared"
        );
    }
}

/// Move the records of SQLite's lightcurve rows that `rows` picks (a condition on
/// `record_id`) into the rows themselves, as a store from before migration 6 holds them.
fn move_records_into_rows(conn: &rusqlite::Connection, rows: &str) {
    for table in ["detections", "forced_photometry", "non_detections"] {
        conn.execute_batch(&format!(
            "UPDATE {table} SET (record_schema, record_dictionary, record) =
                 (SELECT record_schema, record_dictionary, record FROM {table}_records r
                  WHERE r.id = {table}.record_id)
             WHERE {rows};
             DELETE FROM {table}_records WHERE id IN (SELECT record_id FROM {table} WHERE {rows});
             UPDATE {table} SET record_id = NULL WHERE {rows};"
        ))
        .unwrap();
    }
}

/// History detections whose record is in the row.
fn inline_history(conn: &rusqlite::Connection) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM detections WHERE record IS NOT NULL AND from_trigger = 0",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn every_field_of_every_source_is_stored_once_in_both_backends() {
    let alerts = common::real_alerts();
    let mut reader = RecordReader::default();
    let mut expected = Expected::default();
    for a in &alerts {
        expected.add(&mut reader, a);
    }
    let mut objects: Vec<(Survey, i64)> = alerts.iter().map(|a| (a.survey, a.object.id)).collect();
    objects.sort_by_key(|(s, o)| (s.as_str(), *o));
    objects.dedup();
    let kinds = |k: fn(&Row) -> bool| expected.rows.keys().filter(|(_, _, r)| k(r)).count();
    assert!(kinds(|r| matches!(r, Row::Detection(_))) > 1000);
    assert!(kinds(|r| matches!(r, Row::Forced(_))) > 100);
    assert!(kinds(|r| matches!(r, Row::NonDetection(..))) > 100);
    assert!(kinds(|r| matches!(r, Row::Object(_))) > 50);

    // Newest alerts first, twice: the trigger's version and the newest object record must
    // win however the alerts arrive.
    let reversed: Vec<&Alert> = alerts.iter().rev().collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteLightcurves::open(&tmp.path().join("lightcurves.db")).unwrap();
    // Dictionaries early, so most rows are compressed and read back through them.
    sqlite.train_dictionaries_after(100);
    for _ in 0..2 {
        for chunk in reversed.chunks(37) {
            sqlite.write(chunk).unwrap();
        }
    }
    compare(
        "SQLite",
        &expected,
        &stored(&mut sqlite, &mut reader, &objects),
    );
    // The comparison covered compressed records: every schema with enough records has a
    // dictionary, and most rows use one. A store opened again reads them too.
    let conn = rusqlite::Connection::open(tmp.path().join("lightcurves.db")).unwrap();
    let compressed = |table: &str| -> (i64, i64) {
        conn.query_row(
            &format!("SELECT count(record_dictionary), count(*) FROM {table}_with_record"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    for table in ["detections", "non_detections"] {
        let (packed, all) = compressed(table);
        assert!(
            packed * 3 > all,
            "{table}: {packed} of {all} rows compressed"
        );
    }
    assert_one_record_per_row(&conn);
    drop(sqlite);
    let mut reopened = SqliteLightcurves::open(&tmp.path().join("lightcurves.db")).unwrap();
    compare(
        "SQLite reopened",
        &expected,
        &stored(&mut reopened, &mut reader, &objects),
    );
    // Rows written before records moved beside them (migration 6) keep theirs in the row:
    // move every other row's record back in, and they read the same.
    move_records_into_rows(&conn, "record_id % 2 = 0");
    compare(
        "SQLite, records in the rows and beside them",
        &expected,
        &stored(&mut reopened, &mut reader, &objects),
    );
    // A store from before migration 6 that then meets the triggers of its history rows:
    // each object's newest alert written, every record moved into its row, then all.
    let old = tmp.path().join("old.db");
    let mut before = SqliteLightcurves::open(&old).unwrap();
    before.train_dictionaries_after(100);
    let mut newest: BTreeMap<(&str, i64), &Alert> = BTreeMap::new();
    for a in &alerts {
        let slot = newest.entry((a.survey.as_str(), a.object.id)).or_insert(a);
        if a.mjd > slot.mjd {
            *slot = a;
        }
    }
    let newest: Vec<&Alert> = newest.into_values().collect();
    before.write(&newest).unwrap();
    let old_conn = rusqlite::Connection::open(&old).unwrap();
    move_records_into_rows(&old_conn, "record_id IS NOT NULL");
    let inline = inline_history(&old_conn);
    assert!(
        inline > 100,
        "{inline} history rows with their record in the row"
    );
    for chunk in reversed.chunks(37) {
        before.write(chunk).unwrap();
    }
    compare(
        "SQLite, triggers over rows from before migration 6",
        &expected,
        &stored(&mut before, &mut reader, &objects),
    );
    assert_one_record_per_row(&old_conn);
    let still_inline = inline_history(&old_conn);
    assert!(
        still_inline < inline,
        "history rows with their record in the row took their trigger's: {still_inline} of {inline} left"
    );

    // Not while another test restarts the server (outage.rs): it ends every connection.
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("archive") else {
        return;
    };
    let mut pg = PgLightcurves::open(&db.url()).unwrap();
    pg.train_dictionaries_after(100);
    for _ in 0..2 {
        for chunk in reversed.chunks(37) {
            pg.write(chunk).unwrap();
        }
    }
    compare(
        "PostgreSQL",
        &expected,
        &stored(&mut pg, &mut reader, &objects),
    );
    let mut client = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    for table in ["detections", "non_detections"] {
        let row = client
            .query_one(
                &format!("SELECT count(record_dictionary), count(*) FROM {table}"),
                &[],
            )
            .unwrap();
        let (packed, all): (i64, i64) = (row.get(0), row.get(1));
        assert!(
            packed * 3 > all,
            "{table}: {packed} of {all} rows compressed"
        );
    }
}

/// The archive's records are readable without Solas, as `docs/archive.md` tells a SQL user:
/// Python's `zstandard` decompresses each with its row's dictionary and `fastavro` decodes
/// it with the stored schema, giving the bytes Solas reads back, for every row.
#[test]
fn records_read_back_with_python_zstandard_and_fastavro() {
    let alerts = common::real_alerts();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("lightcurves.db");
    let mut store = SqliteLightcurves::open(&path).unwrap();
    // Dictionaries early, so most rows of every kind are compressed.
    store.train_dictionaries_after(100);
    let refs: Vec<&Alert> = alerts.iter().collect();
    for chunk in refs.chunks(50) {
        store.write(chunk).unwrap();
    }
    let mut want = std::collections::HashMap::new();
    let mut objects: Vec<(Survey, ObjectKey)> = alerts
        .iter()
        .map(|a| (a.survey, a.object.clone()))
        .collect();
    objects.sort_by_key(|(s, o)| (s.as_str(), o.id));
    objects.dedup_by_key(|(s, o)| (s.as_str(), o.id));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for (survey, key) in &objects {
        let r = store.records(*survey, key).unwrap();
        for (id, rec) in &r.detections {
            want.insert(("detections", key.id, id.to_string()), hex(&rec.body));
        }
        for (id, rec) in &r.forced {
            want.insert(
                ("forced_photometry", key.id, id.to_string()),
                hex(&rec.body),
            );
        }
        for (mjd, band, rec) in &r.non_detections {
            // As SQLite prints a REAL: its shortest round-trip text.
            let k = format!("{}_{}", sqlite_real(*mjd), band.as_str());
            want.insert(("non_detections", key.id, k), hex(&rec.body));
        }
    }
    let python = crate::common::python_with(&["zstandard==0.23.0", "fastavro==1.10.0"]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/pipeline/py/read_archive.py"
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut seen, mut compressed) = (0, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [table, object, key, packed, fields, bytes] = f[..] else {
            panic!("{line}")
        };
        let table = ["detections", "forced_photometry", "non_detections"]
            .into_iter()
            .find(|t| *t == table)
            .unwrap();
        let object: i64 = object.parse().unwrap();
        let expected = want
            .get(&(table, object, key.to_string()))
            .unwrap_or_else(|| panic!("{table} {object} {key} not read by Solas"));
        assert_eq!(bytes, expected, "{table} {object} {key}");
        assert!(fields.parse::<usize>().unwrap() > 5, "{line}");
        seen += 1;
        compressed += usize::from(packed == "1");
    }
    assert_eq!(seen, want.len(), "Python read every row Solas reads");
    assert!(compressed * 2 > seen, "{compressed} of {seen} compressed");
}

/// A REAL as SQLite's `CAST(x AS TEXT)` writes it (15 significant digits, as `%!.15g`).
fn sqlite_real(x: f64) -> String {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.query_row("SELECT CAST(?1 AS TEXT)", [x], |r| r.get(0))
        .unwrap()
}

/// A field that a future Rubin schema adds is stored and read back, with no code change and
/// no migration: a schema directory holding a `diaSource` with one more field (as version
/// 9.9), a real alert written with it, decoded through that directory and stored.
#[test]
fn a_field_a_new_schema_adds_is_stored_with_no_migration() {
    use solas_decode::value;
    use solas_decode::{DirRegistry, SchemaRegistry};
    // Rubin's 9.0 schema files, renamed 9.9, with `futureField` added to diaSource.
    let schemas = tempfile::tempdir().unwrap();
    let dir = schemas.path().join("9/9");
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(data::lsst_schema_dir().join("9/0"))
        .unwrap()
        .flatten()
    {
        let name = f.file_name().to_string_lossy().replace("v9_0", "v9_9");
        if !name.ends_with(".avsc") {
            continue;
        }
        let mut json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(f.path())
                .unwrap()
                .replace("v9_0", "v9_9"),
        )
        .unwrap();
        if json["name"] == "diaSource" {
            json["fields"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!(
                    {"name": "futureField", "type": ["null", "double"], "default": null}
                ));
        }
        std::fs::write(dir.join(name), json.to_string()).unwrap();
    }
    let new = DirRegistry::open(schemas.path()).unwrap();
    let new_schema = new.schema_json(909).unwrap();

    // A real 9.0 alert, every source given a value of the new field, written with 9.9.
    let old = solas_decode::Decoder::configured(Some(&data::lsst_schema_dir()), None).unwrap();
    let file = &data::shared_glob("lsst/real/boom_confluent_wire_v9.0/*.avro")[0];
    let mut whole = old
        .decode_values(&std::fs::read(file).unwrap())
        .unwrap()
        .remove(0)
        .unwrap();
    fn add_field(source: &mut Value, x: f64) {
        if let Value::Record(fields) = source {
            fields.push(("futureField".into(), Value::Double(x)));
        }
    }
    let Value::Record(top) = &mut whole else {
        panic!("an alert is a record")
    };
    for (name, v) in top.iter_mut() {
        match (name.as_str(), v) {
            ("diaSource", v) => add_field(v, 7.25),
            ("prvDiaSources", Value::Array(items)) => {
                items.iter_mut().for_each(|v| add_field(v, 7.25))
            }
            _ => {}
        }
    }
    let payload = solas_decode::wire::frame(909, &value::write(&whole, &new_schema).unwrap());

    // Decoded through the new directory and stored as any alert.
    let decoder = solas_decode::Decoder::configured(Some(schemas.path()), None).unwrap();
    let alert = decoder
        .decode(&payload)
        .unwrap()
        .records
        .remove(0)
        .1
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut store = SqliteLightcurves::open(&tmp.path().join("lightcurves.db")).unwrap();
    store.write(&[&alert]).unwrap();
    let records = store.records(alert.survey, &alert.object).unwrap();
    assert_eq!(records.detections.len(), alert.detections.len());
    let mut reader = RecordReader::default();
    for (_, r) in &records.detections {
        let v = reader.read(r).unwrap();
        assert_eq!(v.get("futureField"), Some(&Value::Double(7.25)));
        assert_eq!(v.to_json()["futureField"], 7.25, "served as JSON too");
    }
}

/// "As the broker knew it": the features row an alert produced, rebuilt later from the
/// final store with only the sources observed up to that alert. ZTF21abiuvdk's alerts in
/// time order: the row after the middle one, compared column by column with the row
/// computed as of its time once every alert is in.
#[test]
fn the_row_an_alert_produced_is_rebuilt_from_the_final_store() {
    use solas_store::as_of::object_row as object_row_as_of;
    let decoder = solas_decode::Decoder::new();
    let mut alerts: Vec<(f64, std::path::PathBuf)> =
        data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro")
            .into_iter()
            .map(|f| {
                let a = decoder
                    .decode(&std::fs::read(&f).unwrap())
                    .unwrap()
                    .records
                    .remove(0);
                (a.1.unwrap().mjd, f)
            })
            .collect();
    alerts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let k = alerts.len() / 2;
    let (t_k, first): (f64, Vec<std::path::PathBuf>) = (
        alerts[k - 1].0,
        alerts[..k].iter().map(|a| a.1.clone()).collect(),
    );
    let rest: Vec<std::path::PathBuf> = alerts[k..].iter().map(|a| a.1.clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let key = ObjectKey::ztf("ZTF21abiuvdk").unwrap();
    let row = |dir: &std::path::Path| {
        solas_store::main_db::MainDatabase::open(&dir.join("solas.db"))
            .unwrap()
            .object_row(Survey::Ztf, &key)
            .unwrap()
            .unwrap()
    };
    crate::common::run(crate::common::config(
        dir.path(),
        crate::common::files(&first),
    ));
    let then = row(dir.path());
    crate::common::run(crate::common::config(
        dir.path(),
        crate::common::files(&rest),
    ));
    let now = row(dir.path());
    let mut store = SqliteLightcurves::open(&dir.path().join("lightcurves.db")).unwrap();
    let rebuilt = object_row_as_of(&mut store, None, Survey::Ztf, &key, t_k, None)
        .unwrap()
        .expect("detections by then");
    let stored = |row: &[(String, solas_store::db::Value)], name: &str| {
        row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    let mut differ_now = 0;
    for (column, value) in rebuilt.columns.iter().zip(&rebuilt.values) {
        let want = stored(&then, column.name).expect("a stored column");
        let got = match value {
            solas_features::Value::Null => solas_store::db::Value::Null,
            solas_features::Value::Int(n) => solas_store::db::Value::Int(*n),
            solas_features::Value::Float(x) => solas_store::db::Value::Float(*x),
            solas_features::Value::Text(t) => solas_store::db::Value::Text(t.clone()),
        };
        assert_eq!(got, want, "{} as of the {k}th alert", column.name);
        if stored(&now, column.name) != Some(want) {
            differ_now += 1;
        }
    }
    assert!(
        differ_now > 5,
        "the later alerts changed the row ({differ_now} columns)"
    );
    // Each row says which moment it describes: the k-th alert's time, then the last's.
    let newest = |row: &[(String, solas_store::db::Value)]| match stored(
        row,
        solas_features::ZTF_NEWEST_SOURCE,
    ) {
        Some(solas_store::db::Value::Float(jd)) => jd,
        other => panic!("newest source time {other:?}"),
    };
    let jd = |mjd: f64| mjd + 2_400_000.5;
    assert!((newest(&then) - jd(t_k)).abs() < 1e-6, "{}", newest(&then));
    let t_last = alerts.last().map(|a| a.0).unwrap_or(f64::NAN);
    assert!((newest(&now) - jd(t_last)).abs() < 1e-6, "{}", newest(&now));
}

/// A Rubin object's row as of a date takes the `diaObject` of the alert of then, not
/// today's: two alerts of one real object whose `diaObject`s differ in `nDiaSources`.
#[test]
fn a_rubin_row_as_of_a_date_takes_the_dia_object_of_then() {
    use solas_core::SurveyObject;
    let (first, later) = two_alerts_with_dia_objects();
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteLightcurves::open(&dir.path().join("lc.db")).unwrap();
    store.write(&[&first, &later]).unwrap();
    let mut n_dia = |mjd: f64| {
        let row = solas_store::as_of::object_row(
            &mut store,
            None,
            Survey::Lsst,
            &first.object,
            mjd,
            None,
        )
        .unwrap()
        .expect("a row");
        row.columns
            .iter()
            .zip(&row.values)
            .find(|(c, _)| c.name == "nDiaSources")
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let SurveyObject::Lsst(Some(o)) = &first.survey_object else {
        unreachable!()
    };
    let then = i64::from(o.nDiaSources.unwrap());
    assert_eq!(
        n_dia(first.mjd),
        solas_features::Value::Int(then),
        "as of the first alert"
    );
    assert_eq!(
        n_dia(later.mjd),
        solas_features::Value::Int(then + 1),
        "as of the second"
    );
}

/// Rubin's object summary was written three times per alert (twice as a record, once as
/// 2.5 KB of JSON); it is now read from the newest `diaObject` record. The newer alert's
/// wins whatever the arrival order, nothing is written as JSON for it, and an alert that
/// carries no record (one decoded from JSON) still keeps its summary.
#[test]
fn a_rubin_summary_is_its_newest_dia_object_record_written_once() {
    use solas_core::SurveyObject;
    let (first, later) = two_alerts_with_dia_objects();
    let mut bare = first.clone();
    bare.object = solas_core::ObjectKey::lsst(first.object.id + 1);
    bare.object_records.clear();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lc.db");
    let mut store = SqliteLightcurves::open(&path).unwrap();
    store.write(&[&later, &bare]).unwrap();
    store.write(&[&first]).unwrap();
    let n_dia = |so: &Option<SurveyObject>| match so {
        Some(SurveyObject::Lsst(Some(o))) => o.nDiaSources,
        other => panic!("no diaObject: {other:?}"),
    };
    let lc = store.lightcurve(Survey::Lsst, &first.object).unwrap();
    assert_eq!(
        n_dia(&lc.survey_object),
        n_dia(&Some(later.survey_object.clone())),
        "the newer alert's, though it came first"
    );
    let SurveyObject::Lsst(Some(o)) = lc.survey_object.unwrap() else {
        unreachable!()
    };
    assert_eq!(o.diaObjectId, Some(first.object.id));
    let lc = store.lightcurve(Survey::Lsst, &bare.object).unwrap();
    assert_eq!(
        n_dia(&lc.survey_object),
        n_dia(&Some(bare.survey_object.clone()))
    );
    let json_rows: Vec<i64> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT object_id FROM survey_objects")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        json_rows,
        [bare.object.id],
        "JSON only where no record came"
    );
}

/// The PostgreSQL writer picks each batch's newest object-level record itself before
/// merging it with the stored one, and copies each alert's own records and envelope
/// straight in (merging them only when one is stored already). The newer alert's
/// `diaObject` must win within one batch and across batches in either order, each alert
/// keep its own record once, and a batch written again change nothing.
#[test]
fn on_postgresql_the_newest_dia_object_wins_within_a_batch_and_across_batches() {
    use solas_core::SurveyObject;
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("newest_dia_object") else {
        return;
    };
    let (first, later) = two_alerts_with_dia_objects();
    let mut store = PgLightcurves::open(&db.url()).unwrap();
    // One object with both alerts in one batch, newest first; another in two batches,
    // newest first; the first batch then written again.
    let moved = |a: &Alert| {
        let mut a = a.clone();
        a.object = ObjectKey::lsst(first.object.id + 7);
        for d in &mut a.detections {
            d.source_id += 1_000_000;
        }
        a.alert_id += 1_000_000;
        a
    };
    let (first2, later2) = (moved(&first), moved(&later));
    store.write(&[&later, &first, &later2]).unwrap();
    store.write(&[&first2]).unwrap();
    store.write(&[&later, &first, &later2]).unwrap();
    let n_dia = |so: &Option<SurveyObject>| match so {
        Some(SurveyObject::Lsst(Some(o))) => o.nDiaSources,
        other => panic!("no diaObject: {other:?}"),
    };
    for (object, newest, alerts) in [
        (&first.object, &later, [first.alert_id, later.alert_id]),
        (&first2.object, &later2, [first2.alert_id, later2.alert_id]),
    ] {
        let lc = store.lightcurve(Survey::Lsst, object).unwrap();
        assert_eq!(
            n_dia(&lc.survey_object),
            n_dia(&Some(newest.survey_object.clone())),
            "{}",
            object.name
        );
        let records = store.records(Survey::Lsst, object).unwrap();
        let dia_objects_of = |kept: &[(i64, RawRecord)]| -> Vec<i64> {
            kept.iter()
                .filter(|(_, r)| r.schema.name == "diaObject")
                .map(|(alert, _)| *alert)
                .collect()
        };
        assert_eq!(
            dia_objects_of(&records.object),
            [newest.alert_id],
            "{}",
            object.name
        );
        assert_eq!(
            dia_objects_of(&records.trigger),
            alerts,
            "{}: each alert's own, once",
            object.name
        );
    }
}

/// A real Rubin alert with a `diaObject`, and a copy a day later whose `diaObject` counts
/// one more source (in its record and its typed summary).
fn two_alerts_with_dia_objects() -> (solas_core::Alert, solas_core::Alert) {
    use solas_core::SurveyObject;
    let decoder = solas_decode::Decoder::configured(Some(&data::lsst_schema_dir()), None).unwrap();
    let first = data::real_alert_files()
        .into_iter()
        .flat_map(|f| decoder.decode(&std::fs::read(f).unwrap()).unwrap().records)
        .filter_map(|(_, a)| a.ok())
        .find(|a| {
            a.survey == Survey::Lsst
                && a.trigger().is_some()
                && a.object_records.iter().any(|r| r.schema.name == "diaObject")
                && matches!(&a.survey_object, SurveyObject::Lsst(Some(o)) if o.nDiaSources.is_some())
        })
        .expect("a real Rubin alert with a diaObject");
    // A day later, the same object, its diaObject counting one more source.
    let mut later = first.clone();
    later.alert_id += 1;
    later.mjd += 1.0;
    let trigger = later
        .detections
        .iter_mut()
        .find(|d| d.source_id == first.alert_id)
        .unwrap();
    trigger.source_id = later.alert_id;
    trigger.mjd += 1.0;
    let mut reader = RecordReader::default();
    for r in later
        .object_records
        .iter_mut()
        .filter(|r| r.schema.name == "diaObject")
    {
        let Value::Record(mut fields) = reader.read(r).unwrap() else {
            panic!("a record")
        };
        for (name, v) in &mut fields {
            if let ("nDiaSources", Value::Long(n)) = (name.as_str(), &v) {
                *v = Value::Long(n + 1);
            }
        }
        r.body = solas_decode::value::write(&Value::Record(fields), &r.schema.json).unwrap();
    }
    if let SurveyObject::Lsst(Some(o)) = &mut later.survey_object {
        o.nDiaSources = o.nDiaSources.map(|n| n + 1);
    }
    (first, later)
}
