//! The context stage in the embedded pipeline: real alerts classified against the shared
//! catalogues, answers cached by object and recomputed when the catalogues change, and the
//! host's distance reaching the features.

use crate::common;

use std::path::{Path, PathBuf};

use solas_catalogue::Store;
use solas_testdata as data;

fn catalogue_descriptions() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogues");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "catalogue descriptions in {}",
        dir.display()
    );
    files
}

fn openngc() -> PathBuf {
    catalogue_descriptions()
        .into_iter()
        .find(|p| p.ends_with("openngc.toml"))
        .expect("catalogues/openngc.toml")
}

/// Every repository catalogue but OpenNGC (whose NGC 7814 hosts ZTF21abiuvdk) into a store.
fn load_all_but_openngc(dir: &Path) {
    let mut store = Store::open(dir).unwrap();
    for d in catalogue_descriptions() {
        if d != openngc() {
            store.add(&d).unwrap();
        }
    }
}

fn sherlock(db: &Path, table: &str, key: &str, object: &str) -> (String, Option<String>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        &format!("SELECT classification, catalogue_object_id FROM {table} WHERE {key} = ?1"),
        [object],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or_else(|e| panic!("{object}: {e}"))
}

#[test]
fn alerts_are_classified_cached_and_reclassified_when_catalogues_change() {
    let tmp = tempfile::tempdir().unwrap();
    let catalogues = tmp.path().join("catalogues");
    let mut store = Store::open(&catalogues).unwrap();
    for d in catalogue_descriptions() {
        store
            .add(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    }
    drop(store);

    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob(
        "ztf/alerts/kowalski_20200202_v3.3/*.avro",
    ));
    files.extend(data::shared_glob(
        "ztf/alerts/pitt-google_2021-08-31_v3.3/*.avro",
    ));
    files.extend(data::shared_glob(
        "lsst/real/fink-broker_rubin_2025-09-05_v9.0/*.avro",
    ));
    let data_dir = tmp.path().join("data");
    let mut config = common::config(&data_dir, common::files(&files));
    config.catalogue_dir = Some(catalogues.clone());
    let first = common::run(config);
    assert!(first.classified > 0);
    assert_eq!(first.classified + first.context_cache_hits, first.alerts);

    let db = data_dir.join("solas.db");
    let ztf = |name| sherlock(&db, "ztf_sherlock_classifications", "objectId", name);
    assert_eq!(ztf("ZTF21abiuvdk"), ("SN".into(), Some("NGC7814".into())));
    assert_eq!(ztf("ZTF20aaelulu"), ("SN".into(), Some("NGC4321".into())));
    assert_eq!(ztf("ZTF18aaqzpsv").0, "AGN");
    assert_eq!(ztf("ZTF18aawmdot").0, "VS");
    // The Rubin alerts 40-75" from Hp 9-10 Hipparcos stars.
    for id in [
        "169298432621019290",
        "169298432895221807",
        "169298433324089478",
    ] {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let class: String = conn
            .query_row(
                "SELECT classification FROM sherlock_classifications WHERE diaObjectId = ?1",
                [id.parse::<i64>().unwrap()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(class, "BS", "{id}");
    }

    // Again: every answer comes from the cache.
    let mut config = common::config(&data_dir, common::files(&files));
    config.catalogue_dir = Some(catalogues.clone());
    let second = common::run(config);
    assert_eq!(second.classified, 0);
    assert_eq!(second.context_cache_hits, second.alerts);

    // A catalogue removed: the version changes and objects are classified afresh.
    let mut store = Store::open(&catalogues).unwrap();
    assert!(store.remove("3hsp").unwrap());
    drop(store);
    let mut config = common::config(&data_dir, common::files(&files));
    config.catalogue_dir = Some(catalogues);
    let third = common::run(config);
    assert!(
        third.classified > 0,
        "cache invalidated by the catalogue change"
    );
    assert_ne!(ztf("ZTF18aaqzpsv").0, "", "still classified");
}

#[test]
fn a_host_distance_gives_lsst_objects_an_absolute_magnitude() {
    // One galaxy at 100 Mpc, 5" from a real Rubin alert (solas's own test catalogue).
    let alert = data::shared_glob("lsst/real/fink-broker_rubin_2025-09-05_v9.0/*.avro").remove(0);
    let decoded = solas_decode::Decoder::new()
        .decode(&std::fs::read(&alert).unwrap())
        .unwrap()
        .records
        .remove(0)
        .1
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("host.csv");
    let dec = decoded.dec + 5.0 / 3600.0;
    std::fs::write(
        &csv,
        format!("name,ra,dec,dist\nTESTGAL,{},{dec},100.0\n", decoded.ra),
    )
    .unwrap();
    let toml = tmp.path().join("host.toml");
    std::fs::write(
        &toml,
        r#"name = "testgal"
kind = "galaxy"
[source]
path = "host.csv"
format = "csv"
[columns]
ra = "ra"
dec = "dec"
id = "name"
distance_mpc = "dist"
[search]
synonym_radius_arcsec = 1.3
association_radius_arcsec = 60.0
association_radius_kpc = 50.0
synonym_class = "NT"
association_class = "SN"
"#,
    )
    .unwrap();
    let catalogues = tmp.path().join("catalogues");
    Store::open(&catalogues).unwrap().add(&toml).unwrap();

    let data_dir = tmp.path().join("data");
    let mut config = common::config(&data_dir, common::files(&[alert]));
    config.catalogue_dir = Some(catalogues);
    common::run(config);
    let conn = rusqlite::Connection::open(data_dir.join("solas.db")).unwrap();
    let (class, distance): (String, f64) = conn
        .query_row(
            "SELECT classification, best_distance FROM sherlock_classifications WHERE diaObjectId = ?1",
            [decoded.object.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(class, "SN");
    assert!((distance - 100.0).abs() < 1e-6);
    let (abs_mag, flux): (Option<f64>, f64) = conn
        .query_row(
            "SELECT absMag, latest_psfFlux FROM objects WHERE diaObjectId = ?1",
            [decoded.object.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    // 100 Mpc: distance modulus 35; absMag = 31.4 - 2.5 log10(flux) - 35 (E(B-V) unknown: none applied).
    let expected = 31.4 - 2.5 * flux.log10() - 35.0;
    let abs_mag = abs_mag.expect("absMag filled once the host distance is known");
    assert!((abs_mag - expected).abs() < 0.05, "{abs_mag} vs {expected}");
}

#[test]
fn a_catalogue_loaded_while_the_pipeline_runs_is_taken_up_between_classifications() {
    use solas_pipeline::context::{CatalogueClassifier, Classifier};
    let tmp = tempfile::tempdir().unwrap();
    let catalogues = tmp.path().join("catalogues");
    let openngc = openngc();
    Store::open(&catalogues).unwrap().add(&openngc).unwrap();
    let mut classifier = CatalogueClassifier::with_refresh_every(
        Store::open(&catalogues).unwrap(),
        std::time::Duration::ZERO,
    )
    .unwrap();
    let before = classifier.version();
    let (ra, dec) = (10.0, -40.0);
    assert_eq!(classifier.classify(ra, dec, None).classification, "ORPHAN");
    assert!(!classifier.refresh(), "nothing changed yet");
    // Another process (`solas catalogue add`) loads a catalogue with a star there, while
    // this one goes on classifying.
    std::fs::write(
        tmp.path().join("stars.csv"),
        format!("id,ra,dec\nS1,{ra},{dec}\n"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("stars.toml"),
        "name = \"stars\"\nkind = \"star\"\n[source]\npath = \"stars.csv\"\nformat = \"csv\"\n\
         [columns]\nra = \"ra\"\ndec = \"dec\"\nid = \"id\"\n\
         [search]\nsynonym_radius_arcsec = 1.0\nsynonym_class = \"VS\"\nassociation_radius_arcsec = 2.0\n",
    )
    .unwrap();
    let dir = catalogues.clone();
    let stars = tmp.path().join("stars.toml");
    let loader = std::thread::spawn(move || Store::open(&dir).unwrap().add(&stars).unwrap());
    let mut switched = false;
    while !switched {
        // Until the switch every answer is the old version's; after it, the new one's.
        let class = classifier.classify(ra, dec, None).classification;
        switched = classifier.refresh();
        if !switched {
            assert_eq!(class, "ORPHAN");
        }
        if loader.is_finished() && !switched {
            switched = classifier.refresh();
            assert!(switched, "the new version is taken up once it is in place");
        }
    }
    loader.join().unwrap();
    assert_ne!(classifier.version(), before);
    let row = classifier.classify(ra, dec, None);
    assert_eq!(row.classification, "VS");
    assert_eq!(row.catalogue_object_id.as_deref(), Some("S1"));
    // NGC 7814 is still there: every catalogue switched at once, none was lost.
    assert_eq!(
        classifier
            .classify(0.814293, 16.1456989, None)
            .classification,
        "SN"
    );
}

#[test]
fn objects_where_a_new_catalogue_version_differs_are_classified_again_without_new_alerts() {
    use solas_pipeline::context::reclassify::Reclassifier;
    let tmp = tempfile::tempdir().unwrap();
    let catalogues = tmp.path().join("catalogues");
    load_all_but_openngc(&catalogues);
    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob(
        "ztf/alerts/pitt-google_2021-08-31_v3.3/*.avro",
    ));
    let data_dir = tmp.path().join("data");
    let mut config = common::config(&data_dir, common::files(&files));
    config.catalogue_dir = Some(catalogues.clone());
    common::run(config);
    let db = data_dir.join("solas.db");
    let ztf = |name| sherlock(&db, "ztf_sherlock_classifications", "objectId", name);
    // Without OpenNGC, NGC 7814 is not there to host ZTF21abiuvdk.
    assert_ne!(ztf("ZTF21abiuvdk").1.as_deref(), Some("NGC7814"));
    let far = ztf("ZTF18aawmdot");

    let old = Store::open(&catalogues).unwrap();
    let openngc = openngc();
    Store::open(&catalogues).unwrap().add(&openngc).unwrap();
    let new = Store::open(&catalogues).unwrap();
    let footprint = solas_catalogue::store::changed_cells(&old, &new);
    assert!(footprint.contains(0.814293, 16.1456989));
    assert!(footprint.cells() < 3072, "not the whole sky");
    let stats = std::sync::Arc::new(solas_pipeline::stats::Stats::default());
    let r = Reclassifier {
        main: solas_store::db::Target::Sqlite(db.clone()),
        per_second: 1000.0,
        stats: stats.clone(),
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let version = format!("{}+{}", solas_context::ALGORITHM_VERSION, new.version());
    let n = r.reconcile(&old, new, &stop).unwrap();
    // Only objects in OpenNGC's cells (it lists ~10,800 galaxies: most of the sky, not
    // all of it) are classified again; ZTF21abiuvdk is one.
    assert!(n > 0);
    assert_eq!(stats.reclassified.get(), n as u64);
    assert_eq!(ztf("ZTF21abiuvdk"), ("SN".into(), Some("NGC7814".into())));
    assert_eq!(ztf("ZTF18aawmdot"), far, "a Mira stays a VS");
    // The answer is cached under the new version: the next alert takes it from there.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let cached: String = conn
        .query_row(
            "SELECT version FROM context_cache WHERE object_id = ?1",
            [solas_core::ids::pack_ztf_name("ZTF21abiuvdk").unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cached, version);
    // The same version again changes nothing and classifies nothing.
    let same = Store::open(&catalogues).unwrap();
    assert!(
        solas_catalogue::store::changed_cells(&same, &Store::open(&catalogues).unwrap()).is_empty()
    );
    assert_eq!(
        r.reconcile(&same, Store::open(&catalogues).unwrap(), &stop)
            .unwrap(),
        0
    );
}

#[test]
fn the_background_pass_notices_a_catalogue_loaded_while_it_runs() {
    use solas_pipeline::context::reclassify::Reclassifier;
    let tmp = tempfile::tempdir().unwrap();
    let catalogues = tmp.path().join("catalogues");
    load_all_but_openngc(&catalogues);
    let files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    let data_dir = tmp.path().join("data");
    let mut config = common::config(&data_dir, common::files(&files));
    config.catalogue_dir = Some(catalogues.clone());
    common::run(config);
    let db = data_dir.join("solas.db");
    let ztf = |name| sherlock(&db, "ztf_sherlock_classifications", "objectId", name);
    assert_ne!(ztf("ZTF21abiuvdk").1.as_deref(), Some("NGC7814"));
    // The pass as `solas run` starts it, watching the store.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = Reclassifier {
        main: solas_store::db::Target::Sqlite(db.clone()),
        per_second: 1000.0,
        stats: std::sync::Arc::new(solas_pipeline::stats::Stats::default()),
    };
    let pass = {
        let (dir, done) = (catalogues.clone(), done.clone());
        std::thread::spawn(move || r.run(dir, done))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let openngc = openngc();
    Store::open(&catalogues).unwrap().add(&openngc).unwrap();
    let t = std::time::Instant::now();
    while ztf("ZTF21abiuvdk").1.as_deref() != Some("NGC7814") {
        assert!(t.elapsed().as_secs() < 60, "not classified again");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::Instant::now();
    pass.join().unwrap();
    assert!(
        t.elapsed().as_secs() < 5,
        "the pass stops when the run does"
    );
}
