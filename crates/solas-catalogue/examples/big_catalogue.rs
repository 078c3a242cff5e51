//! Loads a generated Gaia-like catalogue of any size and times cone searches on it.
//!
//! ```sh
//! cargo run --release -p solas-catalogue --example big_catalogue -- \
//!     --rows 1000000000 --store /tmp/bigstore [--cones 100000] [--seed 1]
//! ```
//!
//! The rows follow a rough model of the stellar sky, so that index cells are as uneven as
//! Gaia's: 15 % in a bulge (Gaussian, σ 6° in l, 4° in b), 60 % in a disk (Laplace in l
//! with scale 70°, in b with scale 5°), 25 % uniform. Each row has a 64-bit id (Gaia
//! `source_id` sized) and a G magnitude. The load goes through `Store::add_rows`, the same
//! partition and sort as any catalogue, printing progress; killed, it resumes when run
//! again. A store that already holds the catalogue with that many rows is not loaded again.
//!
//! Then cones at 2″, 30″ and 600″ around positions half drawn from the same model, half
//! uniform: two passes over the same positions (the first may read from disk, the second
//! finds the pages cached), with median and p99 per cone. Prints load time, bytes per row
//! and peak memory (VmHWM).

use std::path::PathBuf;
use std::time::Instant;

use solas_catalogue::store::{AddOptions, Limits};
use solas_catalogue::{CatalogueRow, Store};

const NAME: &str = "gaia_like";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows: u64 = 10_000_000;
    let mut store_dir = std::env::temp_dir().join("solas-big-catalogue");
    let mut cones: usize = 100_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--rows" => rows = value()?.parse::<f64>()? as u64,
            "--store" => store_dir = PathBuf::from(value()?),
            "--cones" => cones = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mut store = Store::open(&store_dir)?;
    let have = store.catalogues().iter().position(|d| d.name == NAME);
    if have.map(|i| store.row_count(i)) != Some(rows) {
        let t = Instant::now();
        let description = format!(
            "name = \"{NAME}\"\nkind = \"star\"\npriority = 5\ndescription = \"Generated: {rows} rows, seed {seed}\"\n\
             [source]\npath = \"generated\"\nformat = \"csv\"\n\
             [columns]\nra = \"ra\"\ndec = \"dec\"\nid = \"source_id\"\nmags = [{{ column = \"G\", filter = \"G\" }}]\n\
             [search]\nsynonym_radius_arcsec = 1.0\nsynonym_class = \"VS\"\nassociation_radius_arcsec = 2.0\nassociation_class = \"VS\"\n"
        );
        let report = store.add_rows(
            &description,
            |from| (from..rows).map(move |i| star(seed, i)),
            AddOptions {
                limits: Limits::default(),
                progress: Box::new(|p| eprintln!("{p}")),
            },
        )?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "loaded {} rows in {:.0} s ({:.0} rows/s); peak memory {} MB",
            report.rows_loaded,
            secs,
            report.rows_loaded as f64 / secs,
            peak_mb()
        );
    }
    let i = store
        .catalogues()
        .iter()
        .position(|d| d.name == NAME)
        .ok_or("catalogue missing after load")?;
    let dir = store_dir.join(NAME);
    let mut bytes = 0;
    for f in ["pos.bin", "attrs.bin", "cells.bin"] {
        let len = std::fs::metadata(dir.join(f))?.len();
        println!("{f:<10} {:>8.2} GB", len as f64 / 1e9);
        bytes += len;
    }
    println!(
        "{} rows, {:.1} bytes per row on disk (index included)",
        store.row_count(i),
        bytes as f64 / store.row_count(i) as f64
    );

    let mut rng = SplitMix(seed ^ 0x5eed);
    let positions: Vec<(f64, f64)> = (0..cones)
        .map(|k| {
            if k % 2 == 0 {
                let s = star(seed ^ 0xc0e5, k as u64);
                (s.ra, s.dec)
            } else {
                (
                    rng.f64() * 360.0,
                    (rng.f64() * 2.0 - 1.0).asin().to_degrees(),
                )
            }
        })
        .collect();
    let mut out = Vec::new();
    for radius in [2.0, 30.0, 600.0] {
        // Wide cones return tens of thousands of rows each: fewer of them.
        let n = if radius > 100.0 { cones / 50 } else { cones };
        for pass in ["first pass", "cached"] {
            let mut times = Vec::with_capacity(n);
            let mut found = 0usize;
            for &(ra, dec) in &positions[..n] {
                out.clear();
                let t = Instant::now();
                store.cone(i, ra, dec, radius, &mut out);
                times.push(t.elapsed().as_secs_f64() * 1e6);
                found += out.len();
            }
            times.sort_by(f64::total_cmp);
            let q = |f: f64| times[((times.len() - 1) as f64 * f) as usize];
            println!(
                "cone {radius:>4}″ {pass:<10} {n:>7} cones: median {:>9.1} µs  p99 {:>9.1} µs  ({:.1} rows a cone)",
                q(0.5),
                q(0.99),
                found as f64 / n as f64
            );
        }
    }
    println!("peak memory {} MB", peak_mb());
    Ok(())
}

/// Row `i` of the generated catalogue: the same for the same seed and index, so that a
/// resumed load can start anywhere.
fn star(seed: u64, i: u64) -> CatalogueRow {
    let mut r = SplitMix(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i);
    let u = r.f64();
    let (l, b) = if u < 0.15 {
        (r.gauss() * 6.0, r.gauss() * 4.0)
    } else if u < 0.75 {
        (r.laplace() * 70.0, r.laplace() * 5.0)
    } else {
        (r.f64() * 360.0, (r.f64() * 2.0 - 1.0).asin().to_degrees())
    };
    let (ra, dec) = galactic_to_icrs(l.rem_euclid(360.0), b.clamp(-90.0, 90.0));
    let g = (21.0 - r.exp() * 1.5).max(3.0);
    CatalogueRow {
        id: (0x4000_0000_0000_0000u64 | i).to_string(),
        mag: Some((g * 1000.0).round() / 1000.0),
        mag_filter: Some("G".into()),
        ..CatalogueRow::at(ra, dec)
    }
}

/// Galactic (l, b) to ICRS (RA, Dec), degrees, with the Hipparcos rotation matrix.
fn galactic_to_icrs(l: f64, b: f64) -> (f64, f64) {
    const A: [[f64; 3]; 3] = [
        [
            -0.054_875_560_416_215_4,
            -0.873_437_090_234_885,
            -0.483_835_015_548_713_2,
        ],
        [
            0.494_109_427_875_583_7,
            -0.444_829_629_960_011_2,
            0.746_982_244_497_219,
        ],
        [
            -0.867_666_149_019_004_7,
            -0.198_076_373_431_201_5,
            0.455_983_776_175_066_9,
        ],
    ];
    let (sl, cl) = l.to_radians().sin_cos();
    let (sb, cb) = b.to_radians().sin_cos();
    let g = [cb * cl, cb * sl, sb];
    // ICRS = Aᵀ · galactic.
    let x = A[0][0] * g[0] + A[1][0] * g[1] + A[2][0] * g[2];
    let y = A[0][1] * g[0] + A[1][1] * g[1] + A[2][1] * g[2];
    let z = A[0][2] * g[0] + A[1][2] * g[1] + A[2][2] * g[2];
    (
        y.atan2(x).to_degrees().rem_euclid(360.0),
        z.clamp(-1.0, 1.0).asin().to_degrees(),
    )
}

fn peak_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// SplitMix64: a small, fast generator whose state is one number, so a row's draws depend
/// only on its index.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exp(&mut self) -> f64 {
        -(1.0 - self.f64()).ln()
    }

    fn laplace(&mut self) -> f64 {
        let e = self.exp();
        if self.next() & 1 == 0 {
            e
        } else {
            -e
        }
    }

    fn gauss(&mut self) -> f64 {
        let (u, v) = (1.0 - self.f64(), self.f64());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
