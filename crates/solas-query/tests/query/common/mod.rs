//! Shared by the integration tests: a fake resource database and SQLite fixtures.
#![allow(dead_code)]

use rusqlite::Connection;
use solas_query::{schema, Dialect, FilterSpec, Param, QueryError, Resources, Survey};

/// Watchlists/watchmaps: 1 public; 2 private to user 42; 3 private to user 7.
/// Annotators `fastfinder` and `lasair_cnn`. TNS watchlist: none unless `tns` is set.
pub struct Fake {
    pub tns: Option<i64>,
}

fn allowed(id: i64, user: Option<i64>) -> bool {
    match id {
        1 | 1021 => true,
        2 => user == Some(42),
        3 => user == Some(7),
        _ => false,
    }
}

impl Resources for Fake {
    fn watchlist_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        Ok(allowed(id, user))
    }
    fn watchmap_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        Ok(allowed(id, user))
    }
    fn annotator_exists(&self, topic: &str) -> Result<bool, QueryError> {
        Ok(matches!(topic, "fastfinder" | "lasair_cnn"))
    }
    fn tns_watchlist_id(&self) -> Result<Option<i64>, QueryError> {
        Ok(self.tns)
    }
}

pub const FAKE: Fake = Fake { tns: None };

pub fn spec(selected: &str, tables: &str, conditions: &str) -> FilterSpec {
    FilterSpec {
        selected: selected.into(),
        tables: tables.into(),
        conditions: conditions.into(),
    }
}

/// An in-memory database with every table of both surveys and a few rows:
/// LSST objects 1 (bright, SN, in watchlist 1, watchmaps 1 and 2, annotated, in TNS),
/// 2 (faint, VS, watchmap 1), 3 (no fluxes, no classification).
/// ZTF objects ZTF1 (AGN, recent) and ZTF2 (old).
pub fn fixture() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    solas_store::main_db::filter_runs::register_sqlite_functions(&db).unwrap();
    for survey in [Survey::Lsst, Survey::Ztf] {
        for stmt in schema::ddl_sqlite(survey) {
            if survey == Survey::Ztf && stmt.contains("\"crossmatch_tns\"") {
                continue;
            }
            db.execute(&stmt, []).unwrap();
        }
    }
    let now_mjd: f64 = db
        .query_row("SELECT julianday('now') - 2400000.5", [], |r| r.get(0))
        .unwrap();
    db.execute_batch(&format!(
        r#"
        INSERT INTO objects (diaObjectId, ra, decl, g_psfFlux, r_psfFlux, latest_psfFlux,
            lastDiaSourceMjdTai, firstDiaSourceMjdTai, nDiaSources, BBBRiseRate,
            latestPairColourTemp, penultimatePairColourTemp, glat, tns_name, r_psfFluxSigma, htm16)
        VALUES (1, 10.0, -5.0, 300000, 250000, 300000, {n1}, {n2}, 12, 0.5, 15, 12, 30, '2025abc', 20000, 1),
               (2, 20.0, 5.0, 1000, 900, 1000, {n3}, {n4}, 2, 0.01, 5, 4, 5, NULL, 100, 2),
               (3, 30.0, 15.0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, -40, NULL, NULL, 3);
        INSERT INTO sherlock_classifications (diaObjectId, classification, separationArcsec)
        VALUES (1, 'SN', 0.8), (2, 'VS', 0.1);
        INSERT INTO watchlist_hits (diaObjectId, wl_id, cone_id, arcsec, name)
        VALUES (1, 1, 10, 0.5, 'cone A'), (2, 3, 11, 1.0, 'secret cone'), (1, 99, 12, 0.2, '2025abc');
        INSERT INTO area_hits (diaObjectId, ar_id) VALUES (1, 1), (1, 2), (2, 1);
        INSERT INTO annotations (diaObjectId, topic, classification, classdict)
        VALUES (1, 'fastfinder', 'kilonova',
                '{{"lsst-r": {{"absolute_peak_mag_val": -19.5}}, "in-major-body": {{"M31": "N"}}}}'),
               (2, 'fastfinder', 'SN', '{{"lsst-r": {{"absolute_peak_mag_val": -17.0}}}}');
        INSERT INTO object_tags (diaObjectId, owner, tag) VALUES (1, 42, 'follow_up'), (2, 42, 'boring'), (2, 7, 'follow_up');
        INSERT INTO crossmatch_tns (tns_name, tns_prefix, type, z) VALUES ('2025abc', 'SN', 'SN II', 0.03);
        INSERT INTO ztf_objects (objectId, ncand, ncandgp, decmean, jdgmax, jdmax, rmag, gmag,
            magrmax, magrmin, dmdt_g, dmdt_r, sgscore1, distpsnr1)
        VALUES ('ZTF1', 20, 15, 2.0, {j1}, {j1}, 18.0, 19.0, 19.5, 18.2, 1.6, 0.3, 0.1, 1.0),
               ('ZTF2', 3, 1, 40.0, {j2}, {j2}, 21.0, 21.5, 21.0, 20.9, 0.1, 0.0, 0.9, 5.0);
        INSERT INTO ztf_sherlock_classifications (objectId, classification) VALUES ('ZTF1', 'AGN'), ('ZTF2', 'VS');
        INSERT INTO ztf_watchlist_hits (objectId, wl_id, cone_id, arcsec, name) VALUES ('ZTF1', 1021, 5, 0.3, 'WD 1');
        "#,
        n1 = now_mjd - 1.0,
        n2 = now_mjd - 10.0,
        n3 = now_mjd - 100.0,
        n4 = now_mjd - 400.0,
        j1 = now_mjd + 2400000.5 - 2.0,
        j2 = now_mjd + 2400000.5 - 1000.0,
    ))
    .unwrap();
    db
}

/// Runs a rendered SQLite query and returns each row as strings (NULL as "NULL").
pub fn run(db: &Connection, sql: &str, params: &[Param]) -> rusqlite::Result<Vec<Vec<String>>> {
    let values: Vec<rusqlite::types::Value> = params
        .iter()
        .map(|p| match p {
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect();
    let mut stmt = db.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map(rusqlite::params_from_iter(values), |row| {
        (0..n)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => "<blob>".to_string(),
                })
            })
            .collect()
    })?;
    rows.collect()
}

pub fn sqlite(db: &Connection, q: &solas_query::CheckedQuery) -> Vec<Vec<String>> {
    let r = q.render(Dialect::Sqlite, Some(1000), None);
    run(db, &r.sql, &r.params).unwrap_or_else(|e| panic!("{e}\n{}", r.sql))
}
