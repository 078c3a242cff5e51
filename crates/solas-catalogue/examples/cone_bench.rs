//! Times one position against every catalogue, the classifier's access pattern.
//!
//! `cargo run --release -p solas-catalogue --example cone_bench [-- <catalogues dir> [n]]`
//! loads every description in the directory (default: the repository's `catalogues/`)
//! into a temporary store, then runs `n` (default 100,000) random positions, each a cone on
//! every catalogue at the widest radius its rules use, and prints the median and p99 per
//! position. Half the positions are uniform on the sky; half lie within 1′ of a random row
//! of a random catalogue, so that the matching path is timed too.

use std::path::PathBuf;
use std::time::Instant;

use solas_catalogue::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../catalogues"));
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);

    let tmp = std::env::temp_dir().join(format!("solas-cone-bench-{}", std::process::id()));
    let mut store = Store::open(&tmp)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let t = Instant::now();
    for f in &files {
        let r = store.add(f)?;
        println!(
            "{:<24} {:>7} rows",
            f.file_name().unwrap_or_default().to_string_lossy(),
            r.rows_loaded
        );
    }
    println!(
        "loaded {} catalogues in {:.2} s",
        files.len(),
        t.elapsed().as_secs_f64()
    );

    let radii: Vec<f64> = store
        .catalogues()
        .iter()
        .map(|d| {
            d.search
                .association_radius_arcsec
                .max(d.search.synonym_radius_arcsec.unwrap_or(0.0))
        })
        .collect();
    // Real positions to aim at: gather a few rows per catalogue with wide cones.
    let mut targets = Vec::new();
    for i in 0..radii.len() {
        for k in 0..200 {
            store.cone(
                i,
                k as f64 * 1.8,
                (k as f64 * 0.9) - 89.5,
                40_000.0,
                &mut targets,
            );
        }
    }
    let mut rng = fastrand::Rng::with_seed(1);
    let mut times = Vec::with_capacity(n);
    let mut out = Vec::new();
    let mut matches = 0usize;
    for k in 0..n {
        let (ra, dec) = if k % 2 == 0 || targets.is_empty() {
            (
                rng.f64() * 360.0,
                (rng.f64() * 2.0 - 1.0).asin().to_degrees(),
            )
        } else {
            let t = &targets[rng.usize(..targets.len())];
            (
                (t.ra + (rng.f64() - 0.5) / 60.0).rem_euclid(360.0),
                (t.dec + (rng.f64() - 0.5) / 60.0).clamp(-90.0, 90.0),
            )
        };
        out.clear();
        let t = Instant::now();
        for (i, &r) in radii.iter().enumerate() {
            store.cone(i, ra, dec, r, &mut out);
        }
        times.push(t.elapsed().as_nanos() as f64 / 1000.0);
        matches += out.len();
    }
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "{n} positions × {} catalogues: median {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, max {:.1} µs ({} rows matched)",
        radii.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0),
        matches
    );
    drop(store);
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}
