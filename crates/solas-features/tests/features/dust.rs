//! DustMap on small synthetic Lambert maps written to a temporary directory.

use std::path::PathBuf;

use solas_features::dust::{write_test_fits, NORTH_FILE, SOUTH_FILE};
use solas_features::sky::galactic_to_equatorial;
use solas_features::{DustError, DustMap};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("solas-dust-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const N: usize = 8;

/// North map: value = column index x (0-based); south map: constant 0.25.
fn write_maps(dir: &std::path::Path) {
    let north: Vec<f32> = (0..N * N).map(|i| (i % N) as f32).collect();
    std::fs::write(dir.join(NORTH_FILE), write_test_fits(N, N, &north)).expect("write");
    let south = vec![0.25f32; N * N];
    std::fs::write(dir.join(SOUTH_FILE), write_test_fits(N, N, &south)).expect("write");
}

#[test]
fn lookups_follow_the_lambert_projection() {
    let dir = temp_dir("ok");
    write_maps(&dir);
    let map = DustMap::open(&dir).expect("open");
    // The north pole sits at the image centre, x = 3.5 (0-based): between columns 3 and 4.
    let (ra, dec) = galactic_to_equatorial(0.0, 90.0);
    assert!(
        (map.ebv(ra, dec) - 3.5).abs() < 1e-6,
        "{}",
        map.ebv(ra, dec)
    );
    // l = 0, b = 30°: x = 3.5 + 4·sqrt(1 − sin 30°) = 3.5 + 4/√2.
    let (ra, dec) = galactic_to_equatorial(0.0, 30.0);
    let want = 3.5 + 4.0 / 2f64.sqrt();
    assert!(
        (map.ebv(ra, dec) - want).abs() < 1e-5,
        "{} vs {want}",
        map.ebv(ra, dec)
    );
    // l = 180°: the other side of the pole.
    let (ra, dec) = galactic_to_equatorial(180.0, 30.0);
    let want = 3.5 - 4.0 / 2f64.sqrt();
    assert!((map.ebv(ra, dec) - want).abs() < 1e-5);
    // Southern sky reads the south map.
    let (ra, dec) = galactic_to_equatorial(45.0, -40.0);
    assert!((map.ebv(ra, dec) - 0.25).abs() < 1e-7);
    assert!(map.ebv(f64::NAN, 0.0).is_nan());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_or_bad_files_are_clear_errors() {
    let dir = temp_dir("bad");
    let err = DustMap::open(&dir).expect_err("no files");
    assert!(matches!(err, DustError::Io { .. }));
    assert!(err.to_string().contains(NORTH_FILE), "{err}");

    write_maps(&dir);
    std::fs::write(dir.join(SOUTH_FILE), b"SIMPLE  = not really a fits file").expect("write");
    let err = DustMap::open(&dir).expect_err("bad file");
    assert!(matches!(err, DustError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains(SOUTH_FILE), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
