//! Helpers shared by the pipeline's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use solas_pipeline::runner::{Input, RunConfig};
use solas_pipeline::Summary;

/// A configuration for tests: small batches so that several batches run, no progress line.
/// Tests whose timing matters (outages waited out, workers that stop when their input has
/// been idle a while) take this, so that no two of them share the two cores; the quick
/// tests still run beside them.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn config(data: &Path, input: Input) -> RunConfig {
    let mut c = RunConfig::new(data, input);
    c.schema_dir = Some(solas_testdata::lsst_schema_dir());
    c.filter_batch = 37;
    c.ingest_batch = 11;
    c.filter_idle = std::time::Duration::from_millis(50);
    c.progress = false;
    c
}

pub fn run(config: RunConfig) -> Summary {
    solas_pipeline::run(config, Arc::new(AtomicBool::new(false))).expect("pipeline run")
}

/// Every alert of the shared real alert files, decoded (Rubin's with the shared schemas).
pub fn real_alerts() -> Vec<solas_core::Alert> {
    let decoder =
        solas_decode::Decoder::configured(Some(&solas_testdata::lsst_schema_dir()), None).unwrap();
    let mut alerts = Vec::new();
    for f in solas_testdata::real_alert_files() {
        for (_, a) in decoder.decode(&std::fs::read(f).unwrap()).unwrap().records {
            alerts.push(a.unwrap());
        }
    }
    alerts
}

/// `alerts` written to `store` newest first, in batches of 50, twice: a store must keep the
/// trigger's version of a source whichever copy came first, and add nothing the second time.
pub fn write_reversed_twice(
    store: &mut dyn solas_store::LightcurveStore,
    alerts: &[solas_core::Alert],
) {
    for _ in 0..2 {
        let reversed: Vec<_> = alerts.iter().rev().collect();
        for chunk in reversed.chunks(50) {
            store.write(chunk).unwrap();
        }
    }
}

/// The `objects` and `ztf_objects` rows of a run's main database (`dump`'s form).
pub fn objects_rows(data: &Path) -> Vec<(String, Vec<String>)> {
    let mut d = dump(&data.join("solas.db"));
    d.retain(|(t, _)| t == "objects" || t == "ztf_objects");
    d
}

pub fn files(paths: &[PathBuf]) -> Input {
    Input::Files(paths.iter().map(|p| p.display().to_string()).collect())
}

/// Every row of every table of a SQLite file, as text, sorted; `timestamp` and
/// `applied_at` columns and the `worker_status`, `stage_hours` and completeness-ledger tables
/// left out (they record when and who, and how often a stage saw an alert,
/// not what). Archive records are compared by content: a `record` is written as its Avro
/// bytes (decompressed with its row's dictionary), and which dictionary compressed it (the
/// `record_dictionary` column, the `record_dictionaries` table: they depend on the order
/// records arrived in) is left out, as is SQLite's `sqlite_sequence` (an insert that adds
/// nothing, a score of an alert delivered twice, still uses up a number). A lightcurve row
/// whose record is in the table beside it is printed with that record, without the
/// `record_id` (numbered in arrival order too): `solas_testdata::sqlite_rows_select`.
pub fn dump(db: &Path) -> Vec<(String, Vec<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('worker_status', 'stage_hours', 'ledger', 'ledger_missing', 'ledger_sky', 'record_dictionaries', 'sqlite_sequence', 'detections_records', 'forced_photometry_records', 'non_detections_records') ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let dictionaries = solas_testdata::sqlite_record_dictionaries(&conn);
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&solas_testdata::sqlite_rows_select(&conn, &table))
            .unwrap();
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let keep: Vec<usize> = (0..names.len())
            .filter(|&i| {
                // When rows were written (`at`, `created`) and, for the annotation
                // history, in which order (`seq`, and the model ids given as models first
                // came: the rows name their model in full).
                let when = [
                    "timestamp",
                    "applied_at",
                    "record_dictionary",
                    "at",
                    "created",
                ];
                let order = (table == "annotation_history"
                    && (names[i] == "seq" || names[i] == "model"))
                    || (table == "score_models" && names[i] == "id");
                !(when.contains(&names[i].as_str()) || order)
            })
            .collect();
        let dict_col = names.iter().position(|n| n == "record_dictionary");
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let dict: Option<i64> = match dict_col {
                    Some(i) => r.get(i)?,
                    None => None,
                };
                Ok(keep
                    .iter()
                    .map(|&i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            format!("{}={}", names[i], String::from_utf8_lossy(t))
                        }
                        rusqlite::types::ValueRef::Blob(b) if names[i] == "record" => {
                            let d = dict.map(|id| dictionaries[&id].as_slice());
                            let body = solas_store::unpack_record(d, b).unwrap();
                            format!("record={body:?}")
                        }
                        v => format!("{}={v:?}", names[i]),
                    })
                    .collect::<Vec<_>>()
                    .join(","))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.push((table, rows));
    }
    out
}

/// Every cutout indexed under `data`: (survey, source id, kind, compressed length).
pub fn cutout_index(data: &Path) -> Vec<(i64, i64, String, u64)> {
    solas_store::blob::PackBlobStore::open(&data.join("cutouts"))
        .unwrap()
        .list()
        .unwrap()
}

/// Assert two stores gave the same lightcurve, compared as printed: stored summaries hold
/// the survey's NaNs, and NaN != NaN.
pub fn assert_same_lightcurve(
    got: &solas_store::Lightcurve,
    want: &solas_store::Lightcurve,
    object: &str,
) {
    assert_eq!(
        format!("{got:?}"),
        format!("{want:?}"),
        "lightcurve of {object}"
    );
}

/// Assert two dumps are equal, showing only the first difference.
pub fn assert_same(what: &str, a: &[(String, Vec<String>)], b: &[(String, Vec<String>)]) {
    let tables = |d: &[(String, Vec<String>)]| {
        d.iter()
            .map(|(t, r)| (t.clone(), r.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(tables(a), tables(b), "{what}: tables and row counts");
    for ((table, ra), (_, rb)) in a.iter().zip(b) {
        if let Some((x, y)) = ra.iter().zip(rb).find(|(x, y)| x != y) {
            panic!("{what}: table {table} differs:\n  {x}\n  {y}");
        }
    }
}

/// A local webhook endpoint: every POSTed JSON body arrives on the channel, before the
/// poster gets its 200 (so everything posted by a finished run is there).
pub fn webhook_server() -> (String, std::sync::mpsc::Receiver<serde_json::Value>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, rx)
}

pub use solas_testdata::python_with;
