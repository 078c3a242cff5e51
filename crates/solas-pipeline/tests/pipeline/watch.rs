//! Watchmaps, watchlists, TNS and gravitational-wave events, wired into the broker: hits
//! found live for new alerts (and visible to that batch's filters) and retro-matched for
//! objects already stored, on the real alerts, MOCs, TNS rows, GW190814 skymap and CLU
//! galaxies of the shared data. mocpy's answers for the 308 alert positions are the oracle.

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use solas_pipeline::filter::user_filters::{check_stored, DbFilterEngine, FilterEngine};
use solas_pipeline::filter::watch::retro_match;
use solas_store::main_db::filter_resources::DbResources;
use solas_store::main_db::filter_runs::BatchObjects;
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::main_db::watch::{MmaEvent, NewWatchlist, WatchStore};
use solas_store::main_db::MainDatabase;
use solas_testdata as data;

const MOCS: [&str; 2] = [
    "mocpy_V_147_sdss12_footprint_moc_v1_nuniq32.fits",
    "mocpy_CDS-I-125A_catalog_moc_v1_nuniq32.fits",
];

/// The ZTF objects mocpy puts inside each MOC.
fn oracle() -> HashMap<&'static str, BTreeSet<String>> {
    let text =
        std::fs::read_to_string(data::shared().join("moc/alerts_in_mocs_mocpy.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out: HashMap<&'static str, BTreeSet<String>> = HashMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        for moc in MOCS {
            let col = header.iter().position(|h| *h == moc).unwrap();
            if f[0] == "ZTF" && f[col] == "1" {
                out.entry(moc).or_default().insert(f[2].to_string());
            }
        }
    }
    out
}

fn add_watchmaps(db: &Path) -> Vec<i64> {
    let mut store = WatchStore::open(db).unwrap();
    MOCS.iter()
        .map(|name| {
            let bytes = std::fs::read(data::shared().join("moc").join(name)).unwrap();
            let moc = solas_watch::parse_moc(&bytes).unwrap();
            store
                .add_watchmap(1, name, "", true, &moc.to_fits(), moc.area_deg2())
                .unwrap()
        })
        .collect()
}

fn ztf_area_hits(db: &Path, ar_id: i64) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT objectId FROM ztf_area_hits WHERE ar_id = ?1")
        .unwrap();
    stmt.query_map([ar_id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn watchmap_hits_agree_with_mocpy_live_and_retro() {
    let oracle = oracle();
    assert_eq!(oracle[MOCS[1]].len(), 5);
    let ztf = data::shared_glob("ztf/alerts/*/*.avro");

    // Live: the watchmaps exist before the alerts arrive.
    let live = tempfile::tempdir().unwrap();
    let db = live.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let ids = add_watchmaps(&db);
    let summary = common::run(common::config(live.path(), common::files(&ztf)));
    assert!(summary.watch_hits > 0);
    for (moc, id) in MOCS.iter().zip(&ids) {
        assert_eq!(ztf_area_hits(&db, *id), oracle[moc], "{moc}, live");
    }
    // A filter naming the watchmap returns exactly the objects inside it.
    let mut f = filter(
        1,
        &format!("objects, watchmap:{}", ids[1]),
        "objects.objectId",
        "",
    );
    f.name = "in i125".into();
    FilterStore::open(&db).unwrap().add(&f).unwrap();
    let mut engine = DbFilterEngine::open(&db).unwrap();
    let all: Vec<String> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn.prepare("SELECT objectId FROM ztf_objects").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let outcomes = engine
        .run_batch(&BatchObjects {
            lsst: vec![],
            ztf: all,
        })
        .unwrap();
    let found: BTreeSet<String> = outcomes[0]
        .result
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| r["objectId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(found, oracle[MOCS[1]]);

    // Retro: the same answer for watchmaps added after the objects.
    let retro = tempfile::tempdir().unwrap();
    let db = retro.path().join("solas.db");
    common::run(common::config(retro.path(), common::files(&ztf)));
    let ids = add_watchmaps(&db);
    let hits = retro_match(retro.path()).unwrap();
    assert_eq!(
        hits.areas.len(),
        oracle.values().map(|s| s.len()).sum::<usize>()
    );
    for (moc, id) in MOCS.iter().zip(&ids) {
        assert_eq!(ztf_area_hits(&db, *id), oracle[moc], "{moc}, retro");
    }
}

fn filter(owner: i64, tables: &str, selected: &str, conditions: &str) -> StoredFilter {
    StoredFilter {
        id: 0,
        owner,
        name: format!("f{owner}{}", tables.len()),
        description: String::new(),
        selected: selected.into(),
        tables: tables.into(),
        conditions: conditions.into(),
        survey: "ztf".into(),
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
fn watchlist_cones_match_by_exact_separation_and_their_filters_see_the_batch() {
    // Cones 2″ north of three real objects (radius 3″), and one 5″ away (no match).
    let first = tempfile::tempdir().unwrap();
    let ztf = data::shared_glob("ztf/alerts/*/*.avro");
    common::run(common::config(first.path(), common::files(&ztf)));
    let positions: Vec<(String, f64, f64)> = {
        let conn = rusqlite::Connection::open(first.path().join("solas.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT objectId, ramean, decmean FROM ztf_objects ORDER BY objectId LIMIT 4")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut csv = String::from("ra,dec,name\n");
    for (i, (name, ra, dec)) in positions.iter().enumerate() {
        let offset = if i == 3 { 5.0 } else { 2.0 };
        csv.push_str(&format!("{ra},{},{name}\n", dec + offset / 3600.0));
    }
    let cones = solas_watch::parse_csv(&csv, 3.0).unwrap();

    // A fresh broker with the watchlist and a filter on it, then the alerts.
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let wl = WatchStore::open(&db)
        .unwrap()
        .add_watchlist(
            &NewWatchlist {
                owner: 7,
                name: "friends",
                description: "",
                public: false,
                radius_arcsec: 3.0,
                mag_change: None,
            },
            &cones,
        )
        .unwrap();
    let mut filters = FilterStore::open(&db).unwrap();
    let on_list = filter(
        7,
        &format!("objects, watchlist:{wl}"),
        "objects.objectId, watchlist_hits.arcsec",
        "",
    );
    filters.add(&on_list).unwrap();
    // Another user may not name this private watchlist.
    let resources = DbResources::open(&db).unwrap();
    let mut theirs = on_list.clone();
    theirs.owner = 8;
    let err = check_stored(&theirs, &resources).unwrap_err();
    assert!(err.to_string().contains(&wl.to_string()), "{err}");

    let summary = common::run(common::config(tmp.path(), common::files(&ztf)));
    assert_eq!(
        summary.filter_rows, 3,
        "the batch's filter saw the batch's hits"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT objectId, arcsec, name FROM ztf_watchlist_hits WHERE wl_id = ?1 ORDER BY objectId")
        .unwrap();
    let hits: Vec<(String, f64, String)> = stmt
        .query_map([wl], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hits.len(), 3, "{hits:?}");
    for ((object, arcsec, name), (expected, _, _)) in hits.iter().zip(&positions) {
        assert_eq!(object, expected);
        assert_eq!(name, expected, "the cone's name is kept with the hit");
        // The objects' mean position moves a little as alerts arrive; 2″ ± 0.5″.
        assert!((arcsec - 2.0).abs() < 0.5, "{object}: {arcsec}″");
    }
}

#[test]
fn tns_import_names_the_object_and_joins_crossmatch_tns() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    // A Rubin object 1″ from SN 2022and (150.02755416, 3.75714275086), one 10″ away.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO objects (diaObjectId, ra, decl, lastDiaSourceMjdTai) VALUES
           (169298432598474793, 150.02755416, 3.75742052864, 60600.0),
           (169298432598474794, 150.02755416, 3.75991997, 60600.0);",
    )
    .unwrap();
    let text =
        std::fs::read_to_string(data::shared().join("tns/fink-science_tns_raw.csv")).unwrap();
    let tns = solas_watch::parse_tns_csv(&text).unwrap();
    let wl = WatchStore::open(&db)
        .unwrap()
        .import_tns(&tns.rows, 3.0)
        .unwrap();
    let hits = retro_match(tmp.path()).unwrap();
    assert_eq!(hits.cones.len(), 1);
    assert_eq!(hits.cones[0].wl_id, wl);
    assert!(
        (hits.cones[0].arcsec - 1.0).abs() < 0.01,
        "{}",
        hits.cones[0].arcsec
    );
    let name: Option<String> = conn
        .query_row(
            "SELECT tns_name FROM objects WHERE diaObjectId = 169298432598474793",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name.as_deref(), Some("2022and"));

    // A filter joining crossmatch_tns sees the known transient's type and redshift.
    let mut f = filter(
        3,
        "objects, crossmatch_tns",
        "objects.diaObjectId, crossmatch_tns.tns_name, crossmatch_tns.type, crossmatch_tns.z",
        "",
    );
    f.survey = "lsst".into();
    FilterStore::open(&db).unwrap().add(&f).unwrap();
    let mut engine = DbFilterEngine::open(&db).unwrap();
    let outcomes = engine
        .run_batch(&BatchObjects {
            lsst: vec![169298432598474793, 169298432598474794],
            ztf: vec![],
        })
        .unwrap();
    let rows = outcomes[0].result.as_ref().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["diaObjectId"].as_i64(), Some(169298432598474793));
    assert_eq!(rows[0]["type"], "SN II");
    assert_eq!(rows[0]["z"], 0.043);
}

#[test]
fn gw190814_tags_the_clu_galaxies_inside_its_90_percent_region() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    // One Rubin object on each CLU galaxy, detected a day after the merger, with the galaxy
    // as its host; and one on the first galaxy detected a month later (outside the window).
    let event_mjd = 58709.88240; // 2019-08-14T21:10:39
    let text =
        std::fs::read_to_string(data::shared().join("catalogues/skyportal/CLU_mini.csv")).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut galaxies = 0;
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let (ra, dec, dist): (f64, f64, f64) = (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
        );
        let id = 1_000 + i as i64;
        conn.execute(
            "INSERT INTO objects (diaObjectId, ra, decl, lastDiaSourceMjdTai) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, ra, dec, event_mjd + 1.0],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sherlock_classifications (diaObjectId, classification, distance) VALUES (?1, 'SN', ?2)",
            rusqlite::params![id, dist],
        )
        .unwrap();
        if i == 0 {
            conn.execute(
                "INSERT INTO objects (diaObjectId, ra, decl, lastDiaSourceMjdTai) VALUES (999, ?1, ?2, ?3)",
                rusqlite::params![ra, dec, event_mjd + 30.0],
            )
            .unwrap();
        }
        galaxies += 1;
    }
    assert_eq!(galaxies, 92);

    let skymap =
        std::fs::read(data::shared().join("moc/GW190814_LALInference.v1.fits.gz")).unwrap();
    std::fs::create_dir_all(tmp.path().join("skymaps")).unwrap();
    std::fs::write(tmp.path().join("skymaps/1.fits"), &skymap).unwrap();
    WatchStore::open(&db)
        .unwrap()
        .add_event(&MmaEvent {
            mw_id: 0,
            name: "GW190814".into(),
            event_mjd,
            window_days: 14.0,
            skymap_path: "skymaps/1.fits".into(),
            area10: 0.7,
            area50: 4.75,
            area90: 23.1,
        })
        .unwrap();
    let hits = retro_match(tmp.path()).unwrap();
    assert_eq!(
        hits.mma.len(),
        82,
        "82 of the 92 galaxies are inside the 90% region"
    );
    for (object, mw_id, contour, pd2, pd3) in &hits.mma {
        assert_ne!(object.key, "999", "detected outside the window");
        assert_eq!(*mw_id, 1);
        assert!(*contour > 0.0 && *contour <= 90.0);
        assert!(*pd2 > 0.0);
        assert!(pd3.is_some_and(|d| d > 0.0), "hosts have distances");
    }
    let stored: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM mma_area_hits WHERE contour <= 90",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 82);
}

/// A watchlist with a magnitude trigger fires for an object on its first alert and then
/// only on the alerts whose magnitude moved by the threshold since the cone last fired;
/// a list without one fires on every alert. ZTF21abiuvdk's 34 alerts, one batch each, in
/// time order, against the magnitudes the alerts themselves carry.
#[test]
fn a_magnitude_trigger_fires_only_when_the_magnitude_moved() {
    const THRESHOLD: f64 = 0.3;
    let decoder = solas_decode::Decoder::configured(None, None).unwrap();
    let mut alerts: Vec<(f64, f64, f64, f64, std::path::PathBuf)> =
        data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro")
            .into_iter()
            .map(|path| {
                let decoded = decoder.decode(&std::fs::read(&path).unwrap()).unwrap();
                let alert = decoded.records.into_iter().next().unwrap().1.unwrap();
                let mag = alert.trigger().unwrap().mag.unwrap();
                (alert.mjd, mag, alert.ra, alert.dec, path)
            })
            .collect();
    alerts.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(alerts.len(), 34);
    // What the trigger should do, from the alerts' own magpsf.
    let mut expected = Vec::new();
    let mut last: Option<f64> = None;
    for (_, mag, ..) in &alerts {
        if last.is_none_or(|l| (mag - l).abs() >= THRESHOLD) {
            expected.push(*mag);
            last = Some(*mag);
        }
    }
    assert!(
        expected.len() > 2 && expected.len() < 34,
        "the threshold should hold some alerts back: {expected:?}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("solas.db");
    MainDatabase::open(&db).unwrap();
    let (ra, dec) = (alerts[0].2, alerts[0].3);
    let cones = solas_watch::parse_csv(&format!("{ra},{dec},SN 2021pfs\n"), 3.0).unwrap();
    let mut store = WatchStore::open(&db).unwrap();
    let mut list = NewWatchlist {
        owner: 7,
        name: "rising",
        description: "",
        public: false,
        radius_arcsec: 3.0,
        mag_change: Some(THRESHOLD),
    };
    let gated = store.add_watchlist(&list, &cones).unwrap();
    list.name = "every";
    list.mag_change = None;
    let every = store.add_watchlist(&list, &cones).unwrap();
    list.name = "bad";
    list.mag_change = Some(-1.0);
    assert!(store.add_watchlist(&list, &cones).is_err());
    let mut filters = FilterStore::open(&db).unwrap();
    let mut ids = Vec::new();
    for (name, wl) in [("on_change", gated), ("on_every", every)] {
        let mut f = filter(
            7,
            &format!("objects, watchlist:{wl}"),
            "objects.objectId, watchlist_hits.mag",
            "",
        );
        f.name = name.into();
        ids.push(filters.add(&f).unwrap());
    }

    let paths: Vec<_> = alerts.iter().map(|a| a.4.clone()).collect();
    let mut config = common::config(tmp.path(), common::files(&paths));
    // One alert a batch, in time order (one decoder keeps the files' order).
    config.filter_batch = 1;
    config.ingest_batch = 1;
    config.decode_workers = 1;
    common::run(config);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let fired = |filter_id: i64| -> Vec<f64> {
        let mut stmt = conn
            .prepare("SELECT record FROM filter_outputs WHERE filter_id = ?1 ORDER BY seq")
            .unwrap();
        stmt.query_map([filter_id], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_str(&r.unwrap()).unwrap();
                v["mag"].as_f64().unwrap()
            })
            .collect()
    };
    let close = |got: &[f64], want: &[f64]| {
        got.len() == want.len() && got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5)
    };
    let on_change = fired(ids[0]);
    assert!(
        close(&on_change, &expected),
        "{on_change:?} != {expected:?}"
    );
    let on_every = fired(ids[1]);
    let all: Vec<f64> = alerts.iter().map(|a| a.1).collect();
    assert!(close(&on_every, &all), "{on_every:?} != {all:?}");
    // The hit row keeps the magnitude the cone last fired at.
    let kept: f64 = conn
        .query_row(
            "SELECT mag FROM ztf_watchlist_hits WHERE wl_id = ?1",
            [gated],
            |r| r.get(0),
        )
        .unwrap();
    assert!((kept - expected[expected.len() - 1]).abs() < 1e-5);
}
