//! Loading catalogues larger than memory: the on-disk sort gives the same store as the
//! in-memory one, a load killed anywhere resumes to the same files, HATS catalogues load
//! as hats-import wrote them, and a broken input leaves the previous version in service.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use solas_catalogue::store::{AddOptions, Limits, Progress};
use solas_catalogue::{load_description, CatalogueRow, Store};

/// A CSV catalogue of `n` rows: most in a dense clump (so buckets must be split), some
/// spread over the sky, a few bad.
fn write_catalogue(dir: &Path, n: usize) -> PathBuf {
    let mut rng = fastrand::Rng::with_seed(17);
    let mut csv = String::from("id,ra,dec,gmag,pmra,pmdec\n");
    for i in 0..n {
        let (ra, dec) = if i % 4 == 0 {
            (
                rng.f64() * 360.0,
                (rng.f64() * 2.0 - 1.0).asin().to_degrees(),
            )
        } else {
            (266.4 + rng.f64() * 0.5, -29.0 + rng.f64() * 0.5)
        };
        if i % 997 == 0 {
            csv.push_str(&format!("{i},not-a-position,{dec},1,,\n"));
            continue;
        }
        let mag = if i % 3 == 0 {
            String::new()
        } else {
            format!("{:.3}", 12.0 + rng.f64() * 8.0)
        };
        // One row in 50 moves fast enough to be indexed again among the movers.
        let fast = if i % 50 == 0 { 20.0 } else { 1.0 };
        csv.push_str(&format!(
            "{i},{ra:.9},{dec:.9},{mag},{:.3},{:.3}\n",
            (rng.f64() * 100.0 - 50.0) * fast,
            rng.f64() * 10.0
        ));
    }
    std::fs::write(dir.join("big.csv"), csv).unwrap();
    let toml = dir.join("big.toml");
    std::fs::write(
        &toml,
        r#"
name = "big"
kind = "star"
[source]
path = "big.csv"
format = "csv"
[columns]
ra = "ra"
dec = "dec"
id = "id"
mags = [{ column = "gmag", filter = "G" }]
pm_ra = "pmra"
pm_dec = "pmdec"
epoch = 2016.0
[search]
association_radius_arcsec = 2.0
"#,
    )
    .unwrap();
    toml
}

/// Limits that send every row to disk and split buckets down to the index depth.
fn tiny() -> Limits {
    Limits {
        bucket_bytes: 16 << 10,
        checkpoint_rows: 1_000,
        in_memory_bytes: 0,
        progress_every: Duration::ZERO,
    }
}

fn files(store_dir: &Path) -> Vec<(String, Vec<u8>)> {
    [
        "pos.bin",
        "attrs.bin",
        "cells.bin",
        "movers/pos.bin",
        "movers/attrs.bin",
        "movers/cells.bin",
        "movers/manifest.toml",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            std::fs::read(store_dir.join("big").join(f)).unwrap(),
        )
    })
    .collect()
}

fn options(limits: Limits, progress: impl FnMut(&Progress) + Send + 'static) -> AddOptions {
    AddOptions {
        limits,
        progress: Box::new(progress),
    }
}

#[test]
fn a_catalogue_sorted_on_disk_is_the_catalogue_sorted_in_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let toml = write_catalogue(tmp.path(), 60_000);
    let mut memory = Store::open(&tmp.path().join("memory")).unwrap();
    let in_memory = memory.add(&toml).unwrap();
    let phases = Arc::new(Mutex::new(Vec::new()));
    let seen = phases.clone();
    let mut disk = Store::open(&tmp.path().join("disk")).unwrap();
    let on_disk = disk
        .add_with(
            &toml,
            options(tiny(), move |p| seen.lock().unwrap().push(p.clone())),
        )
        .unwrap();
    assert_eq!(in_memory, on_disk);
    assert_eq!(on_disk.resumed_at, None);
    assert_eq!(on_disk.rows_loaded, 60_000 - 61);
    assert_eq!(on_disk.bad_row_count, 61);
    assert_eq!(
        files(&tmp.path().join("memory")),
        files(&tmp.path().join("disk"))
    );
    // Progress was reported in both phases, with a total and an ETA while sorting.
    let phases = phases.lock().unwrap();
    // A CSV file's total is estimated from the share of it read: the ETA is there too.
    let partition = phases
        .iter()
        .rfind(|p| p.phase == "partition")
        .expect("partition progress");
    let estimate = partition.total.expect("an estimated total") as f64;
    assert!((estimate / 60_000.0 - 1.0).abs() < 0.1, "{partition}");
    assert!(partition.to_string().contains("ETA"), "{partition}");
    let sort = phases
        .iter()
        .find(|p| p.phase == "sort")
        .expect("sort progress");
    assert_eq!(sort.total, Some(on_disk.rows_loaded));
    assert!(sort.eta_seconds().is_some() && sort.to_string().contains("ETA"));
    // Nothing of the build is left beside the store.
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("disk"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Every cone finds what a scan of the loaded rows finds, proper motions included.
    let rows = load_description(&toml).unwrap().rows;
    let mut rng = fastrand::Rng::with_seed(3);
    for k in 0..400 {
        let r = &rows[rng.usize(..rows.len())];
        let (ra, dec, radius) = if k % 2 == 0 {
            (r.ra + 0.0002, r.dec, 2.0)
        } else {
            (266.65, -28.75, 30.0 + rng.f64() * 600.0)
        };
        let mut found = Vec::new();
        disk.cone(0, ra, dec, radius, &mut found);
        let mut want: Vec<&CatalogueRow> = rows
            .iter()
            .filter(|x| solas_catalogue::separation_arcsec(ra, dec, x.ra, x.dec) <= radius)
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(found.len(), want.len(), "cone {ra} {dec} {radius}");
        for (f, w) in found.iter().zip(want) {
            assert_eq!(f, w);
        }
    }
}

#[test]
fn a_load_killed_at_any_point_resumes_to_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let toml = write_catalogue(tmp.path(), 20_000);
    let mut clean = Store::open(&tmp.path().join("clean")).unwrap();
    let want = clean.add_with(&toml, options(tiny(), |_| {})).unwrap();
    let want_files = files(&tmp.path().join("clean"));
    // How many progress calls a whole load makes, to kill at points spread over both phases.
    let calls = Arc::new(Mutex::new(0usize));
    let c = calls.clone();
    Store::open(&tmp.path().join("count"))
        .unwrap()
        .add_with(&toml, options(tiny(), move |_| *c.lock().unwrap() += 1))
        .unwrap();
    let total = *calls.lock().unwrap();
    assert!(total > 20, "{total} progress calls");
    for kill_at in [1, 3, total / 4, total / 2, total - 2] {
        let dir = tmp.path().join(format!("killed-{kill_at}"));
        // A first load dies at progress call `kill_at` (a panic unwinds out of add_with,
        // as a kill would stop it, with the build's files left as they were).
        let mut n = 0;
        let died = catch_unwind(AssertUnwindSafe(|| {
            let mut store = Store::open(&dir).unwrap();
            let _ = store.add_with(
                &toml,
                options(tiny(), move |_| {
                    n += 1;
                    if n == kill_at {
                        panic!("killed");
                    }
                }),
            );
        }));
        assert!(died.is_err(), "the load at {kill_at} should have died");
        assert!(dir.join(".build-big").join("state.toml").exists() || kill_at <= 3);
        let mut store = Store::open(&dir).unwrap();
        let got = store.add_with(&toml, options(tiny(), |_| {})).unwrap();
        assert_eq!(
            (got.rows_loaded, got.filtered, got.bad_row_count),
            (want.rows_loaded, want.filtered, want.bad_row_count),
            "killed at call {kill_at} of {total}"
        );
        assert_eq!(got.bad_rows, want.bad_rows, "killed at call {kill_at}");
        assert!(
            got.resumed_at.is_some(),
            "killed at call {kill_at}: not resumed"
        );
        assert_eq!(
            files(&dir),
            want_files,
            "killed at call {kill_at} of {total}"
        );
    }
}

fn hats_description(dir: &Path, catalogue: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/hats")
        .join(catalogue);
    let toml = dir.join(format!("{catalogue}.toml"));
    std::fs::write(
        &toml,
        format!(
            r#"
name = "{catalogue}"
kind = "star"
[source]
path = "{}"
format = "hats"
[columns]
ra = "ra"
dec = "dec"
id = "_healpix_29"
[search]
association_radius_arcsec = 2.0
"#,
            path.display()
        ),
    )
    .unwrap();
    toml
}

#[test]
fn a_hats_catalogue_loads_every_partition_in_sky_order() {
    let tmp = tempfile::tempdir().unwrap();
    let toml = hats_description(tmp.path(), "small_sky_order1");
    let loaded = load_description(&toml).unwrap();
    assert_eq!(
        loaded.report.rows_loaded, 131,
        "hats_nrows in its properties"
    );
    assert_eq!(loaded.report.bad_row_count, 0);
    let names: Vec<String> = loaded
        .report
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "Npix=44.parquet",
            "Npix=45.parquet",
            "Npix=46.parquet",
            "Npix=47.parquet"
        ]
    );
    // hats computed each row's order-29 pixel; Solas's index must put it in the same one.
    let layer = cdshealpix::nested::get(29);
    let mut last = 0;
    for r in &loaded.rows {
        let theirs: u64 = r.id.parse().unwrap();
        assert_eq!(
            layer.hash(r.ra.to_radians(), r.dec.to_radians()),
            theirs,
            "{r:?}"
        );
        assert!(theirs >= last, "rows come in sky order");
        last = theirs;
    }
    let mut store = Store::open(&tmp.path().join("store")).unwrap();
    store.add(&toml).unwrap();
    for r in &loaded.rows {
        let mut found = Vec::new();
        store.cone(0, r.ra, r.dec, 0.01, &mut found);
        assert!(found.iter().any(|f| f.id == r.id), "{r:?}");
    }
    // A partition that is a directory of Parquet files (HATS 0.5+).
    let dir_form =
        load_description(&hats_description(tmp.path(), "small_sky_npix_as_dir")).unwrap();
    assert_eq!(dir_form.report.rows_loaded, 131);
}

#[test]
fn a_truncated_hats_partition_fails_the_load_and_the_old_version_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hats/small_sky_order1");
    let copy = tmp.path().join("small_sky_order1");
    copy_dir(&src, &copy);
    let toml = tmp.path().join("sky.toml");
    std::fs::write(
        &toml,
        "name = \"sky\"\nkind = \"star\"\n[source]\npath = \"small_sky_order1\"\nformat = \"hats\"\n[columns]\nra = \"ra\"\ndec = \"dec\"\nid = \"id\"\n[search]\nassociation_radius_arcsec = 2.0\n",
    )
    .unwrap();
    let mut store = Store::open(&tmp.path().join("store")).unwrap();
    store.add(&toml).unwrap();
    let version = store.version();
    let part = copy.join("dataset/Norder=1/Dir=0/Npix=46.parquet");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let err = store.add(&toml).unwrap_err().to_string();
    assert!(err.contains("Npix=46.parquet"), "{err}");
    assert_eq!(store.version(), version);
    assert_eq!(store.row_count(0), 131);
    let reopened = Store::open(&tmp.path().join("store")).unwrap();
    assert_eq!(reopened.row_count(0), 131);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_new_version_differs_only_in_the_cells_where_its_rows_changed() {
    use solas_catalogue::store::changed_cells;
    let tmp = tempfile::tempdir().unwrap();
    let toml = write_catalogue(tmp.path(), 2_000);
    let dir = tmp.path().join("store");
    Store::open(&dir).unwrap().add(&toml).unwrap();
    let old = Store::open(&dir).unwrap();
    // Loaded again from the same file: a new version, but no cell differs.
    Store::open(&dir).unwrap().add(&toml).unwrap();
    let same = Store::open(&dir).unwrap();
    assert_ne!(old.version(), same.version());
    assert!(changed_cells(&old, &same).is_empty());
    // One row more, at (10, -40): that cell alone.
    let csv = tmp.path().join("big.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("999999,10.0,-40.0,15.0,0,0\n");
    std::fs::write(&csv, text).unwrap();
    Store::open(&dir).unwrap().add(&toml).unwrap();
    let more = Store::open(&dir).unwrap();
    let f = changed_cells(&same, &more);
    assert_eq!(f.cells(), 1);
    assert!(f.contains(10.0, -40.0) && !f.contains(266.5, -28.8));
    // The same rows with another search rule: every cell it has rows in.
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace(
            "association_radius_arcsec = 2.0",
            "association_radius_arcsec = 3.0",
        ),
    )
    .unwrap();
    Store::open(&dir).unwrap().add(&toml).unwrap();
    let rules = Store::open(&dir).unwrap();
    let f = changed_cells(&more, &rules);
    assert!(f.contains(266.5, -28.8) && f.contains(10.0, -40.0) && f.cells() > 100);
    let more = rules;
    // A catalogue removed: every cell it had rows in.
    Store::open(&dir).unwrap().remove("big").unwrap();
    let none = Store::open(&dir).unwrap();
    let f = changed_cells(&more, &none);
    assert!(f.contains(266.5, -28.8) && f.contains(10.0, -40.0));
    assert!(f.cells() > 100 && f.cells() < 3072);
}
