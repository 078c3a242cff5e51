//! The PostgreSQL backends hold exactly what the SQLite ones hold: the real alerts written
//! to both lightcurve stores (to PostgreSQL in reverse order and twice, to check idempotence
//! and the trigger-wins rule), every object's lightcurve compared, then each backend's
//! objects rows computed from its own lightcurves, upserted twice, and compared column by
//! column. Needs the server at 127.0.0.1:5432 (trust auth), which
//! scripts/test.sh starts; skipped without it unless SOLAS_REQUIRE_POSTGRES is set.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use solas_store::db::Target;
use solas_store::main_db::{MainDatabase, OBJECT_TABLES};
use solas_store::postgres::PgLightcurves;
use solas_store::sqlite::SqliteLightcurves;
use solas_store::{LightcurveStore, MainDb};
use solas_testdata as data;
use solas_testdata::servers::TempDb;

/// Every row of a table as column → value text, keyed by the row's key.
fn sqlite_rows(db: &mut MainDatabase, table: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let conn = db.db().sqlite().unwrap();
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut out = BTreeMap::new();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let mut row = BTreeMap::new();
        for (i, n) in names.iter().enumerate().filter(|(_, n)| *n != "timestamp") {
            let v = match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "NULL".to_string(),
                rusqlite::types::ValueRef::Integer(x) => x.to_string(),
                rusqlite::types::ValueRef::Real(x) => format!("{x:?}"),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(_) => "BLOB".into(),
            };
            row.insert(n.clone(), v);
        }
        out.insert(row[&names[0]].clone(), row);
    }
    out
}

fn pg_rows(
    client: &mut postgres::Client,
    table: &str,
    columns: &[solas_features::Column],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    // By name: a column added by a later migration sits after `timestamp`.
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    for r in client
        .query(&format!("SELECT {} FROM {table}", names.join(", ")), &[])
        .unwrap()
    {
        let mut row = BTreeMap::new();
        for (i, c) in columns.iter().enumerate() {
            let v = match c.ty {
                solas_features::ColumnType::Int => {
                    r.get::<_, Option<i64>>(i).map(|x| x.to_string())
                }
                solas_features::ColumnType::Float => {
                    r.get::<_, Option<f64>>(i).map(|x| format!("{x:?}"))
                }
                solas_features::ColumnType::Text => r.get::<_, Option<String>>(i),
            };
            row.insert(c.name.to_string(), v.unwrap_or_else(|| "NULL".into()));
        }
        out.insert(row[columns[0].name].clone(), row);
    }
    out
}

#[test]
fn postgres_backends_hold_the_same_lightcurves_and_rows_as_sqlite() {
    // Not while another test restarts the server (outage.rs): it ends every connection.
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("backends") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut lightcurves = SqliteLightcurves::open(&tmp.path().join("lightcurves.db")).unwrap();
    let alerts = common::real_alerts();
    lightcurves
        .write(&alerts.iter().collect::<Vec<_>>())
        .unwrap();
    let mut pg_lightcurves = PgLightcurves::open(&db.url()).unwrap();
    common::write_reversed_twice(&mut pg_lightcurves, &alerts);
    let mut compared = 0;
    for a in &alerts {
        let (x, y) = (
            lightcurves.lightcurve(a.survey, &a.object).unwrap(),
            pg_lightcurves.lightcurve(a.survey, &a.object).unwrap(),
        );
        common::assert_same_lightcurve(&x, &y, &a.object.name);
        compared += x.detections.len();
    }
    assert!(compared > 1000, "{compared}");
    let (mut rows, mut pg_rows_in) = (Vec::new(), Vec::new());
    for a in &alerts {
        let sqlite_row =
            solas_pipeline::filter::features::object_row(&mut lightcurves, None, a, None).unwrap();
        let pg_row =
            solas_pipeline::filter::features::object_row(&mut pg_lightcurves, None, a, None)
                .unwrap();
        rows.extend(sqlite_row);
        pg_rows_in.extend(pg_row);
    }
    assert!(rows.len() > 250);
    assert_eq!(rows.len(), pg_rows_in.len());

    let mut sqlite = MainDatabase::open(&tmp.path().join("solas.db")).unwrap();
    let mut pg = MainDatabase::connect(&Target::Postgres(db.url())).unwrap();
    // Twice: the second upsert must replace, not add; and a second open finds its migrations done.
    for _ in 0..2 {
        sqlite.upsert_objects(&rows).unwrap();
        pg.upsert_objects(&pg_rows_in).unwrap();
    }
    let mut pg = MainDatabase::connect(&Target::Postgres(db.url())).unwrap();
    assert_eq!(pg.counts().unwrap(), sqlite.counts().unwrap());

    let mut client = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    for (table, columns) in OBJECT_TABLES.iter().take(2) {
        let (a, b) = (
            sqlite_rows(&mut sqlite, table),
            pg_rows(&mut client, table, columns),
        );
        assert!(!a.is_empty(), "{table}");
        assert_eq!(a.len(), b.len(), "{table}");
        for (key, row) in &a {
            assert_eq!(Some(row), b.get(key), "{table} row {key}");
        }
    }
    // The same filters give the same rows on both: on PostgreSQL the filter stage runs them
    // on its own copy of the batch's rows.
    let batch = solas_store::main_db::filter_runs::BatchObjects {
        lsst: alerts
            .iter()
            .filter(|a| a.survey == solas_core::Survey::Lsst)
            .map(|a| a.object.id)
            .collect(),
        ztf: alerts
            .iter()
            .filter(|a| a.survey == solas_core::Survey::Ztf)
            .map(|a| a.object.name.clone())
            .collect(),
    };
    use solas_pipeline::filter::user_filters::run_on_batch;
    use solas_store::main_db::filter_runs::FilterRunner;
    let mut on_sqlite =
        FilterRunner::open(&Target::Sqlite(tmp.path().join("solas.db")), None).unwrap();
    let mut on_pg = FilterRunner::for_batches(&Target::Postgres(db.url()), None).unwrap();
    on_sqlite.set_batch(&batch).unwrap();
    on_pg.set_batch(&batch).unwrap();
    let filters = [
        (
            solas_query::Survey::Lsst,
            "objects.diaObjectId, objects.nDiaSources, objects.ra, objects.decl",
            "objects.nDiaSources >= 1 AND objects.lastDiaSourceMjdTai < mjdnow() ORDER BY objects.diaObjectId",
        ),
        (
            solas_query::Survey::Ztf,
            "objects.objectId, objects.gmag, objects.ncand",
            "objects.gmag < 19 ORDER BY objects.objectId",
        ),
        (
            solas_query::Survey::Lsst,
            "objects.diaObjectId, objects.tns_name",
            "objects.tns_name IS NULL AND objects.diaObjectId > 0 ORDER BY objects.diaObjectId DESC",
        ),
    ];
    for (survey, selected, conditions) in filters {
        let spec = solas_query::FilterSpec {
            selected: selected.into(),
            tables: "objects".into(),
            conditions: conditions.into(),
        };
        let q = solas_query::check(&spec, survey, None, &solas_query::NoResources).unwrap();
        let limit = Duration::from_secs(30);
        let a = run_on_batch(&mut on_sqlite, &q, 10_000, limit).unwrap();
        let b = run_on_batch(&mut on_pg, &q, 10_000, limit).unwrap();
        assert!(!a.is_empty(), "{conditions}");
        assert_eq!(a, b, "{conditions}");
    }

    // Queries over the whole database (the API's, exports) run on PostgreSQL itself.
    let mut whole = FilterRunner::open(&Target::Postgres(db.url()), None).unwrap();
    let on_whole = |runner: &mut FilterRunner, conditions: &str, limit| {
        let q = lsst_query("objects.diaObjectId", "objects", conditions);
        let rendered = q.render(solas_query::Dialect::Postgres, Some(1000), None);
        runner.run(&rendered, &q.columns(), limit)
    };
    // A session for whole-database queries takes no batch.
    assert!(matches!(
        whole.set_batch(&batch),
        Err(solas_store::main_db::filter_runs::FilterRunError::NoBatch)
    ));

    // A quoted string compared with a number column fails on PostgreSQL (the client refuses
    // to send text for a number); it must never be read as a number's bytes and return rows.
    let quoted = on_whole(
        &mut whole,
        "objects.nDiaSources = '20240101'",
        Duration::from_secs(30),
    );
    assert!(
        matches!(
            quoted,
            Err(solas_store::main_db::filter_runs::FilterRunError::Postgres(
                _
            ))
        ),
        "{quoted:?}"
    );

    // A query past its time limit is stopped by the server.
    client
        .batch_execute(
            "INSERT INTO objects (\"diaObjectId\", \"nDiaSources\", ra)
             SELECT g, g % 7, (g % 3600) / 10.0 FROM generate_series(1, 300000) g",
        )
        .unwrap();
    let err = on_whole(
        &mut whole,
        "objects.nDiaSources >= 0 ORDER BY objects.ra * objects.nDiaSources DESC",
        Duration::from_millis(5),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            solas_store::main_db::filter_runs::FilterRunError::Timeout(_)
        ),
        "{err:?}"
    );

    // 64-bit ids arrive exactly.
    let id: i64 = client
        .query_one(
            "SELECT \"diaObjectId\" FROM objects WHERE \"diaObjectId\" = 169298432598474793",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(id, 169298432598474793);
}

/// A whole embedded run with its lightcurves in PostgreSQL gives the same objects rows as one
/// with them in SQLite.
#[test]
fn a_run_with_postgres_lightcurves_equals_one_with_sqlite() {
    // Not while another test restarts the server (outage.rs): it ends every connection.
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("run") else {
        return;
    };
    let files = data::real_alert_files();
    let pg = tempfile::tempdir().unwrap();
    let mut config = common::config(pg.path(), common::files(&files));
    config.lightcurves_url = Some(db.url());
    let summary = common::run(config);
    assert!(!pg.path().join("lightcurves.db").exists());
    let lite = tempfile::tempdir().unwrap();
    let reference = common::run(common::config(lite.path(), common::files(&files)));
    assert_eq!(summary.detections, reference.detections);
    common::assert_same(
        "objects",
        &common::objects_rows(lite.path()),
        &common::objects_rows(pg.path()),
    );
}

/// Regression: while the main database was out of reach, the batch's filters were skipped
/// with a log line ("filters skipped for this batch") and their hits lost. Now the call
/// fails as transient, for the filter stage to wait and run it again, and run again once
/// the server is back it gives the rows.
#[test]
fn filters_wait_out_an_unreachable_database_instead_of_skipping_the_batch() {
    use solas_pipeline::filter::user_filters::{DbFilterEngine, FilterEngine};
    use solas_store::main_db::filter_runs::BatchObjects;
    use solas_store::main_db::filters::FilterStore;
    // Not while another test restarts the server (outage.rs): it ends every connection.
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("filter_outage") else {
        return;
    };
    let direct = Target::Postgres(db.url());
    drop(MainDatabase::connect(&direct).unwrap());
    let mut client = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "INSERT INTO objects (\"diaObjectId\", \"nDiaSources\") VALUES (1, 3), (2, 5), (3, 1)",
        )
        .unwrap();
    FilterStore::connect(&direct)
        .unwrap()
        .add(&lsst_filter(
            "many",
            "objects.nDiaSources >= 3 ORDER BY objects.diaObjectId",
        ))
        .unwrap();
    let proxy = solas_testdata::servers::TcpProxy::start("127.0.0.1:5432".parse().unwrap());
    let through_proxy = Target::Postgres(
        db.url()
            .replace("port=5432", &format!("port={}", proxy.addr().port())),
    );
    let mut engine = DbFilterEngine::connect(&through_proxy, None).unwrap();
    let batch = BatchObjects {
        lsst: vec![1, 2, 3],
        ztf: vec![],
    };
    assert_eq!(ids_of(&engine.run_batch(&batch).unwrap()[0]), [1, 2]);

    proxy.cut();
    let during = engine.run_batch(&batch);
    assert!(
        matches!(&during, Err(e) if e.kind() == solas_store::ErrorKind::Transient),
        "an unreachable database is an outage to wait out, not an empty batch: {:?}",
        during.map(|o| o.len())
    );
    proxy.restore();
    // As the filter stage's retrier does: transient failures are tried again.
    let mut tries = 0;
    let outcomes = loop {
        match engine.run_batch(&batch) {
            Err(e) if e.kind() == solas_store::ErrorKind::Transient && tries < 10 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(
        ids_of(&outcomes[0]),
        [1, 2],
        "the batch's hits, after the outage"
    );
}

/// An active LSST filter of user 1 selecting `objects.diaObjectId`, run on alerts.
fn lsst_filter(name: &str, conditions: &str) -> solas_store::main_db::filters::StoredFilter {
    solas_store::main_db::filters::StoredFilter {
        id: 0,
        owner: 1,
        name: name.into(),
        description: String::new(),
        selected: "objects.diaObjectId".into(),
        tables: "objects".into(),
        conditions: conditions.into(),
        survey: "lsst".into(),
        public: false,
        active: "alerts".into(),
        output: "none".into(),
        email: None,
        webhook_url: None,
        byte_quota: 100_000_000,
        topic: format!("solas_1_{name}"),
    }
}

/// Audit finding F12, its last case: integer arithmetic past 64 bits is refused by
/// PostgreSQL ("bigint out of range") where SQLite gives a float. It used to fail the
/// whole batch. The filter stage now runs filters on its SQLite copy of the batch, so the
/// filter gives what the embedded default gives (the sum as a float), and the batch's other
/// filters give their rows; a query over the whole database (the API's) still meets the
/// server's refusal, with its words.
#[test]
fn f12_an_integer_overflow_on_postgresql_does_not_fail_the_batch() {
    use solas_pipeline::filter::user_filters::{DbFilterEngine, FilterEngine};
    use solas_store::main_db::filter_runs::BatchObjects;
    use solas_store::main_db::filters::FilterStore;
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("filter_overflow") else {
        return;
    };
    let target = Target::Postgres(db.url());
    drop(MainDatabase::connect(&target).unwrap());
    let mut client = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "INSERT INTO objects (\"diaObjectId\", \"nDiaSources\") VALUES (1, 3), (2, 5), (3, 1)",
        )
        .unwrap();
    let mut filters = FilterStore::connect(&target).unwrap();
    filters
        .add(&lsst_filter(
            "overflowing",
            "objects.diaObjectId + 9223372036854775807 > 0",
        ))
        .unwrap();
    filters
        .add(&lsst_filter(
            "many",
            "objects.nDiaSources >= 3 ORDER BY objects.diaObjectId",
        ))
        .unwrap();
    let mut engine = DbFilterEngine::connect(&target, None).unwrap();
    let batch = BatchObjects {
        lsst: vec![1, 2, 3],
        ztf: vec![],
    };
    let outcomes = engine
        .run_batch(&batch)
        .expect("one filter's overflow does not fail the batch");
    let by_name = |name: &str| {
        outcomes
            .iter()
            .find(|o| o.filter.name == name)
            .unwrap_or_else(|| panic!("no outcome for {name}"))
    };
    let mut overflowing = ids_of(by_name("overflowing"));
    overflowing.sort_unstable();
    assert_eq!(overflowing, [1, 2, 3]);
    let q = lsst_query(
        "objects.diaObjectId",
        "objects",
        "objects.diaObjectId + 9223372036854775807 > 0",
    );
    let mut whole = solas_store::main_db::filter_runs::FilterRunner::open(&target, None).unwrap();
    let refused = whole
        .run(
            &q.render(solas_query::Dialect::Postgres, Some(10), None),
            &q.columns(),
            Duration::from_secs(30),
        )
        .unwrap_err();
    assert!(
        refused.to_string().contains("bigint out of range"),
        "{refused}"
    );
    assert_eq!(ids_of(by_name("many")), [1, 2]);
}

/// The bulk writer copies new sources straight into their tables after reading which ones
/// the store holds. Another writer may store one of them in between (two workers given one
/// object after a rebalance): the copy then meets the key, and the batch must be merged
/// instead (the trigger's version replacing the other's history copy), not refused.
#[test]
fn a_source_another_writer_stored_meanwhile_is_merged_not_refused() {
    let _one = common::one_at_a_time();
    let Some(db) = TempDb::create("writer_race") else {
        return;
    };
    let alert = common::real_alerts()
        .into_iter()
        .find(|a| a.detections.len() > 2)
        .expect("an alert with a history");
    let trigger = alert
        .detections
        .iter()
        .find(|d| d.source_id == alert.alert_id)
        .expect("the alert's own detection")
        .clone();
    let mut writer = PgLightcurves::open(&db.url()).unwrap();
    // The other writer: the trigger's source as a history copy, in a transaction held open
    // until the writer below waits on its key.
    let mut other = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    let mut held = other.transaction().unwrap();
    held.execute(
        "INSERT INTO detections (survey, object_id, mjd, source_id, band, ra, dec, flux,
             positive, from_trigger)
         VALUES ($1, $2, $3, $4, $5, $6, $7, -1.0, true, false)",
        &[
            &(solas_store::survey_code(alert.survey) as i16),
            &alert.object.id,
            &trigger.mjd,
            &trigger.source_id,
            &trigger.band.as_str(),
            &trigger.ra,
            &trigger.dec,
        ],
    )
    .unwrap();
    let written = std::thread::scope(|scope| {
        let write = scope.spawn(|| writer.write(&[&alert]));
        let mut watcher = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
        let waiting = (0..200).any(|_| {
            let n: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap()
                .get(0);
            std::thread::sleep(Duration::from_millis(50));
            n > 0
        });
        assert!(waiting, "the writer never waited on the other's key");
        held.commit().unwrap();
        write.join().unwrap()
    })
    .expect("the batch is merged, not refused");
    assert_eq!(
        written.detections,
        alert.detections.len() as u64 - 1,
        "every source but the one the other writer stored"
    );
    let stored = writer.lightcurve(alert.survey, &alert.object).unwrap();
    assert_eq!(stored.detections.len(), alert.detections.len());
    let kept = stored
        .detections
        .iter()
        .find(|d| d.source_id == trigger.source_id)
        .unwrap();
    assert_eq!(
        kept.flux, trigger.flux,
        "the trigger's version replaced the copy"
    );
}

/// The Rubin object ids a filter gave (it must have run).
fn ids_of(outcome: &solas_pipeline::filter::user_filters::FilterOutcome) -> Vec<i64> {
    outcome
        .result
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| r["diaObjectId"].as_i64().unwrap())
        .collect()
}

/// A Rubin filter checked as an anonymous caller would write it, with no resources.
fn lsst_query(selected: &str, tables: &str, conditions: &str) -> solas_query::CheckedQuery {
    let spec = solas_query::FilterSpec {
        selected: selected.into(),
        tables: tables.into(),
        conditions: conditions.into(),
    };
    solas_query::check(
        &spec,
        solas_query::Survey::Lsst,
        None,
        &solas_query::NoResources,
    )
    .unwrap()
}

/// A main database on SQLite and one on PostgreSQL, both migrated, for tests that compare
/// what filters give on each.
struct BothMains {
    db: TempDb,
    dir: tempfile::TempDir,
}

impl BothMains {
    fn create(name: &str) -> Option<BothMains> {
        let mains = BothMains {
            db: TempDb::create(name)?,
            dir: tempfile::tempdir().unwrap(),
        };
        drop(MainDatabase::connect(&mains.sqlite_target()).unwrap());
        drop(MainDatabase::connect(&mains.pg_target()).unwrap());
        Some(mains)
    }

    fn sqlite_path(&self) -> std::path::PathBuf {
        self.dir.path().join("solas.db")
    }

    fn sqlite_target(&self) -> Target {
        Target::Sqlite(self.sqlite_path())
    }

    fn pg_target(&self) -> Target {
        Target::Postgres(self.db.url())
    }

    /// Run `sql` on both.
    fn both(&self, sql: &str) {
        rusqlite::Connection::open(self.sqlite_path())
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        self.pg().batch_execute(sql).unwrap();
    }

    fn pg(&self) -> postgres::Client {
        postgres::Client::connect(&self.db.url(), postgres::NoTls).unwrap()
    }
}

/// On PostgreSQL a batch's filters read the filter stage's own copy of the batch's rows
/// (`filter_runs::local`), made at each `set_batch`. A filter joining two tables must give
/// what SQLite gives, and the next batch must see rows as they are then, not the copies of
/// the batch before.
#[test]
fn filters_on_postgresql_see_each_batchs_rows_as_they_are_now() {
    use solas_pipeline::filter::user_filters::run_on_batch;
    use solas_store::main_db::filter_runs::{BatchObjects, FilterRunner};
    let _one = common::one_at_a_time();
    let Some(mains) = BothMains::create("filter_shadow") else {
        return;
    };
    let (sqlite_target, pg_target) = (mains.sqlite_target(), mains.pg_target());
    mains.both(
        "INSERT INTO objects (\"diaObjectId\", \"nDiaSources\") VALUES (1, 3), (2, 5), (3, 1), (4, 7);
         INSERT INTO sherlock_classifications (\"diaObjectId\", classification)
         VALUES (1, 'SN'), (2, 'SN'), (3, 'AGN'), (4, 'SN');",
    );
    let q = lsst_query(
        "objects.diaObjectId, objects.nDiaSources, sherlock_classifications.classification",
        "objects, sherlock_classifications",
        "sherlock_classifications.classification = 'SN' AND objects.nDiaSources >= 3 \
         ORDER BY objects.diaObjectId",
    );
    let mut on_sqlite = FilterRunner::open(&sqlite_target, None).unwrap();
    let mut on_pg = FilterRunner::for_batches(&pg_target, None).unwrap();
    let limit = Duration::from_secs(30);
    let mut run = |lsst: Vec<i64>| {
        let batch = BatchObjects { lsst, ztf: vec![] };
        on_sqlite.set_batch(&batch).unwrap();
        on_pg.set_batch(&batch).unwrap();
        let a = run_on_batch(&mut on_sqlite, &q, 1000, limit).unwrap();
        let b = run_on_batch(&mut on_pg, &q, 1000, limit).unwrap();
        assert_eq!(a, b);
        b.iter()
            .map(|r| r["diaObjectId"].as_i64().unwrap())
            .collect::<Vec<i64>>()
    };
    // Object 4 matches but is not in the batch.
    assert_eq!(run(vec![1, 2, 3]), [1, 2]);
    // Object 3 is written again between the batches, and now matches.
    mains.both(
        "UPDATE objects SET \"nDiaSources\" = 9 WHERE \"diaObjectId\" = 3;
         UPDATE sherlock_classifications SET classification = 'SN' WHERE \"diaObjectId\" = 3;",
    );
    assert_eq!(run(vec![2, 3]), [2, 3]);
    assert_eq!(run(vec![3, 4]), [3, 4]);
    // A column added while the filters run (a newer build's migration beside running
    // workers) is one this build's filters cannot name: the copy leaves it out and the
    // batch still runs.
    mains
        .pg()
        .batch_execute(
            "ALTER TABLE objects ADD COLUMN late DOUBLE PRECISION;
             UPDATE objects SET late = 2.5 WHERE \"diaObjectId\" = 4;",
        )
        .unwrap();
    let batch = BatchObjects {
        lsst: vec![3, 4],
        ztf: vec![],
    };
    on_pg.set_batch(&batch).unwrap();
    assert_eq!(run_on_batch(&mut on_pg, &q, 1000, limit).unwrap().len(), 2);
}

/// Every kind of table a filter can join (watchlist and watchmap hits, annotators, the
/// consensus view, tags, counterparts, mining answers, the TNS copy by watchlist and by
/// name) is in the batch copy a PostgreSQL filter stage runs on, whether every column of
/// every table is copied or only the columns the filter reads: each filter gives what it
/// gives on SQLite, and rows of objects outside the batch stay out.
#[test]
fn filters_on_postgresql_read_every_joinable_table_from_the_batch_copy() {
    use solas_pipeline::filter::user_filters::run_on_batch;
    use solas_query::{QueryError, Resources, Survey};
    use solas_store::main_db::filter_runs::{BatchObjects, FilterRunner};
    struct Everything {
        tns: Option<i64>,
    }
    impl Resources for Everything {
        fn watchlist_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
            Ok(true)
        }
        fn watchmap_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
            Ok(true)
        }
        fn annotator_exists(&self, _: &str) -> Result<bool, QueryError> {
            Ok(true)
        }
        fn tns_watchlist_id(&self) -> Result<Option<i64>, QueryError> {
            Ok(self.tns)
        }
        fn mining_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
            Ok(true)
        }
    }
    let _one = common::one_at_a_time();
    let Some(mains) = BothMains::create("filter_copy_tables") else {
        return;
    };
    let (sqlite_target, pg_target) = (mains.sqlite_target(), mains.pg_target());
    // Objects 1–3 and ZTFa, ZTFb are in the batch; 9 and ZTFz are not, and match everything.
    let sql = "
        INSERT INTO objects (\"diaObjectId\", \"nDiaSources\", tns_name)
        VALUES (1, 3, NULL), (2, 5, NULL), (3, 1, 'SN2026xyz'), (9, 4, 'SN2026xyz');
        INSERT INTO ztf_objects (\"objectId\", ncand) VALUES ('ZTFa', 2), ('ZTFb', 4), ('ZTFz', 1);
        INSERT INTO watchlist_hits (\"diaObjectId\", wl_id, cone_id, arcsec, name, fired)
        VALUES (1, 7, 70, 0.4, 'SN2026abc', 1), (2, 5, 50, 1.5, 'cone two', 1),
               (3, 5, 51, 2.0, 'held back by its magnitude trigger', 0),
               (9, 5, 50, 1.0, 'cone two', 1);
        INSERT INTO ztf_watchlist_hits (\"objectId\", wl_id, cone_id, arcsec, name)
        VALUES ('ZTFa', 7, 70, 0.3, 'SN2026abc'), ('ZTFz', 7, 70, 0.3, 'SN2026abc');
        INSERT INTO area_hits (\"diaObjectId\", ar_id) VALUES (2, 3), (3, 4), (9, 3);
        INSERT INTO ztf_area_hits (\"objectId\", ar_id) VALUES ('ZTFb', 3);
        INSERT INTO annotations (\"diaObjectId\", topic, classification, broad, stance)
        VALUES (1, 'fink', 'SN Ia', 'SN', 1), (1, 'alerce', 'AGN', 'AGN', 1),
               (2, 'fink', 'SN II', 'SN', 1), (9, 'fink', 'SN Ia', 'SN', 1);
        INSERT INTO ztf_annotations (\"objectId\", topic, classification)
        VALUES ('ZTFb', 'fink', 'KN'), ('ZTFz', 'fink', 'KN');
        INSERT INTO object_tags (\"diaObjectId\", owner, tag) VALUES (3, 1, 'nice'), (9, 1, 'nice');
        INSERT INTO counterparts (\"diaObjectId\", \"objectId\", arcsec)
        VALUES (1, 'ZTFa', 0.5), (9, 'ZTFz', 0.2);
        INSERT INTO mining_results (run_id, object_id, \"diaObjectId\", result, worker)
        VALUES (1, 1, 2, '{\"period\": 0.5}', 'w1'), (1, 2, 9, '{}', 'w1');
        INSERT INTO crossmatch_tns (id, tns_name, ra, decl, type)
        VALUES (1, 'SN2026abc', 10.0, -5.0, 'SN Ia'), (2, 'SN2026xyz', 11.0, -6.0, 'SN II');";
    mains.both(sql);
    let batch = BatchObjects {
        lsst: vec![1, 2, 3],
        ztf: vec!["ZTFa".into(), "ZTFb".into()],
    };
    let by_watchlist = Everything { tns: Some(7) };
    let by_name = Everything { tns: None };
    let filters: [(Survey, &str, &str, &Everything); 11] = [
        (
            Survey::Lsst,
            "objects.diaObjectId, watchlist_hits.name, watchlist_hits.arcsec",
            "objects, watchlist:5",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, area_hits.ar_id",
            "objects, area:3",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, fink.classification",
            "objects, annotator:fink",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, consensus.classes, consensus.disagree",
            "objects, consensus",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId",
            "objects, tag:nice",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, counterparts.objectId",
            "objects, counterparts",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, mining.result",
            "objects, mining:1",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, crossmatch_tns.type",
            "objects, crossmatch_tns",
            &by_watchlist,
        ),
        (
            Survey::Lsst,
            "objects.diaObjectId, crossmatch_tns.type",
            "objects, crossmatch_tns",
            &by_name,
        ),
        (
            Survey::Ztf,
            "objects.objectId, crossmatch_tns.tns_name",
            "objects, crossmatch_tns",
            &by_watchlist,
        ),
        (
            Survey::Ztf,
            "objects.objectId, fink.classification, area_hits.ar_id",
            "objects, annotator:fink, area:3",
            &by_watchlist,
        ),
    ];
    let mut on_sqlite = FilterRunner::open(&sqlite_target, None).unwrap();
    let mut every_kind = FilterRunner::for_batches(&pg_target, None).unwrap();
    let mut only_read = FilterRunner::for_batches(&pg_target, None).unwrap();
    on_sqlite.set_batch(&batch).unwrap();
    every_kind.set_batch(&batch).unwrap();
    let limit = Duration::from_secs(30);
    for (survey, selected, tables, resources) in filters {
        let key = match survey {
            Survey::Lsst => "objects.diaObjectId",
            Survey::Ztf => "objects.objectId",
        };
        let spec = solas_query::FilterSpec {
            selected: selected.into(),
            tables: tables.into(),
            conditions: format!("{key} IS NOT NULL ORDER BY {key}"),
        };
        let q = solas_query::check(&spec, survey, Some(1), resources).unwrap();
        let expected = run_on_batch(&mut on_sqlite, &q, 1000, limit).unwrap();
        assert!(!expected.is_empty(), "{tables}: no rows to compare");
        assert!(
            expected
                .iter()
                .all(|r| r.values().all(|v| v != "ZTFz") && r.get("diaObjectId") != Some(&9.into())),
            "{tables}: {expected:?}"
        );
        let all = run_on_batch(&mut every_kind, &q, 1000, limit).unwrap();
        assert_eq!(all, expected, "{tables}, every kind copied");
        let reads: Vec<_> = q
            .columns_read()
            .into_iter()
            .map(|(kind, col)| (survey, kind, col))
            .collect();
        only_read.set_reads(&reads);
        only_read.set_batch(&batch).unwrap();
        let narrow = run_on_batch(&mut only_read, &q, 1000, limit).unwrap();
        assert_eq!(narrow, expected, "{tables}, only its columns copied");
    }
}

/// The filter role docs/operations.md gives ("User filters on PostgreSQL": `SELECT` on the
/// filter tables, no `TEMPORARY`) is all the filter stage needs: an engine connected as that
/// role, with `TEMPORARY` revoked, runs a batch's filters; the role cannot write.
#[test]
fn the_documented_filter_role_runs_the_filter_stage_without_temporary_tables() {
    use solas_pipeline::filter::user_filters::{DbFilterEngine, FilterEngine};
    use solas_store::main_db::filter_runs::BatchObjects;
    use solas_store::main_db::filters::FilterStore;
    /// The role, dropped after the database that grants it anything.
    struct Role(String);
    impl Drop for Role {
        fn drop(&mut self) {
            let admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";
            if let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.0));
            }
        }
    }
    let _one = common::one_at_a_time();
    let role = Role(format!("solas_test_filters_{}", std::process::id()));
    let Some(db) = TempDb::create("filter_role") else {
        return;
    };
    let target = Target::Postgres(db.url());
    drop(MainDatabase::connect(&target).unwrap());
    let mut admin = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    let dbname = db
        .url()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("dbname="))
        .unwrap()
        .to_string();
    // The grant as the docs print it, for this database and role.
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md"),
    )
    .unwrap();
    let section = &docs[docs.find("#### User filters on PostgreSQL").unwrap()..];
    let block = &section[section.find("```sql").unwrap() + 6..];
    let grant = &block[..block.find("```").unwrap()];
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {0}; CREATE ROLE {0} LOGIN",
            role.0
        ))
        .unwrap();
    for statement in grant.split(';').map(str::trim) {
        if statement.is_empty() || statement.starts_with("CREATE ROLE") {
            continue;
        }
        let statement = statement
            .replace("solas_filters", &role.0)
            .replace("DATABASE solas ", &format!("DATABASE {dbname} "));
        admin.batch_execute(&statement).unwrap();
    }
    admin
        .batch_execute(&format!(
            "REVOKE TEMPORARY ON DATABASE {dbname} FROM PUBLIC;
             INSERT INTO objects (\"diaObjectId\", \"nDiaSources\") VALUES (1, 3), (2, 5), (3, 1);
             INSERT INTO sherlock_classifications (\"diaObjectId\", classification)
             VALUES (1, 'SN'), (2, 'AGN'), (3, 'SN');"
        ))
        .unwrap();
    let as_role = format!("host=127.0.0.1 port=5432 user={} dbname={dbname}", role.0);
    let mut writer = postgres::Client::connect(&as_role, postgres::NoTls).unwrap();
    assert!(writer.batch_execute("CREATE TEMP TABLE t (x INT)").is_err());
    assert!(writer
        .batch_execute("UPDATE objects SET \"nDiaSources\" = 0")
        .is_err());
    let mut supernovae = lsst_filter(
        "supernovae",
        "sherlock_classifications.classification = 'SN' ORDER BY objects.diaObjectId",
    );
    supernovae.tables = "objects, sherlock_classifications".into();
    FilterStore::connect(&target)
        .unwrap()
        .add(&supernovae)
        .unwrap();
    let mut engine = DbFilterEngine::connect(&target, Some(&as_role)).unwrap();
    let outcomes = engine
        .run_batch(&BatchObjects {
            lsst: vec![1, 2, 3],
            ztf: vec![],
        })
        .unwrap();
    assert_eq!(ids_of(&outcomes[0]), [1, 3]);
    drop(engine);
    drop(writer);
    drop(admin);
    drop(db);
}
