//! Figures for the sky-matching indexes: cone index build time, memory and query time at
//! 1 M and 10 M cones; 100 watchmaps; 10 skymaps. Run in release:
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-watch cargo run --release -p solas-watch --example bench_watch
//! ```
//!
//! With cone counts as arguments (`-- 100000000`), only the cone index at those sizes
//! (peak memory is then printed from the kernel's VmHWM).
//!
//! Cones are uniform on the sky with radii 1–30″; half the query points are placed within
//! 1.5 radii of a cone centre so that hits happen, half are uniform.

use std::time::Instant;

use solas_watch::{parse_moc, ConeIndex, Moc, Skymap, WatchmapIndex};

fn uniform(rng: &mut fastrand::Rng) -> (f64, f64) {
    (
        rng.f64() * 360.0,
        (rng.f64() * 2.0 - 1.0).asin().to_degrees(),
    )
}

fn cones(n: usize) {
    let mut rng = fastrand::Rng::with_seed(n as u64);
    let t = Instant::now();
    let mut b = ConeIndex::builder();
    b.reserve(n);
    let mut sample = Vec::new();
    for i in 0..n {
        let (ra, dec) = uniform(&mut rng);
        let r = 1.0 + rng.f64() * 29.0;
        if i % (n / 5_000) == 0 {
            sample.push((ra, dec, r));
        }
        b.push((i % 1000) as i64, i as i64, ra, dec, r)
            .expect("valid cone");
    }
    let fill = t.elapsed();
    let t = Instant::now();
    let idx = b.build();
    let build = t.elapsed();
    let mem = idx.memory_bytes();
    let mut points = Vec::with_capacity(10_000);
    for k in 0..10_000 {
        if k % 2 == 0 {
            let (ra, dec, r) = sample[k / 2 % sample.len()];
            let off = (rng.f64() - 0.5) * 3.0 * r / 3600.0;
            points.push((ra, (dec + off).clamp(-90.0, 90.0)));
        } else {
            points.push(uniform(&mut rng));
        }
    }
    let t = Instant::now();
    let hits = idx.matches_many(&points);
    let q = t.elapsed();
    println!(
        "cones {n:>10}: push {:>6.2} s, build {:>6.2} s, memory {:>7.1} MB ({:.1} B/cone); \
         10,000 points in {:>7.2} ms ({:.2} µs/point), {} hits",
        fill.as_secs_f64(),
        build.as_secs_f64(),
        mem as f64 / 1e6,
        mem as f64 / n as f64,
        q.as_secs_f64() * 1e3,
        q.as_secs_f64() * 1e6 / points.len() as f64,
        hits.len()
    );
}

fn watchmaps() {
    let shared = solas_testdata::shared().join("moc");
    let mut rng = fastrand::Rng::with_seed(11);
    let t = Instant::now();
    let mut idx = WatchmapIndex::new();
    let real = [
        "MS181101ab_90pct.moc.fits",
        "lasair_ar_1_moc_v2_range.fits",
        "lasair_sample_area_moc_v1_nuniq32.fits",
        "mocpy_CDS-I-125A_catalog_moc_v1_nuniq32.fits",
        "mocpy_V_147_sdss12_footprint_moc_v1_nuniq32.fits",
    ];
    for (i, name) in real.iter().enumerate() {
        let bytes = std::fs::read(shared.join(name)).expect("shared MOC");
        idx.insert(i as i64, parse_moc(&bytes).expect("valid MOC"));
    }
    let parse = t.elapsed();
    // 95 more: discs of 1–10° at order 11, as a user's region might be.
    let mut area = 0.0;
    for i in 5..100 {
        let (ra, dec) = uniform(&mut rng);
        let r = (1.0 + rng.f64() * 9.0f64).to_radians();
        let bmoc =
            cdshealpix::nested::cone_coverage_approx(11, ra.to_radians(), dec.to_radians(), r);
        let moc = Moc::from_cells(11, bmoc.into_iter().map(|c| (c.depth, c.hash)));
        area += moc.area_deg2();
        idx.insert(i, moc);
    }
    let build = t.elapsed();
    let points: Vec<(f64, f64)> = (0..10_000).map(|_| uniform(&mut rng)).collect();
    let t = Instant::now();
    let mut hits = 0;
    let mut buf = Vec::new();
    for &(ra, dec) in &points {
        buf.clear();
        idx.containing_into(ra, dec, &mut buf);
        hits += buf.len();
    }
    let q = t.elapsed();
    println!(
        "watchmaps 100 (5 real incl. SDSS 14,520 deg², 95 discs totalling {area:.0} deg²): \
         parse real {:.0} ms, build all {:.0} ms, memory {:.1} MB; 10,000 points in {:.2} ms \
         ({:.2} µs/point), {hits} hits",
        parse.as_secs_f64() * 1e3,
        build.as_secs_f64() * 1e3,
        idx.memory_bytes() as f64 / 1e6,
        q.as_secs_f64() * 1e3,
        q.as_secs_f64() * 1e6 / points.len() as f64,
    );
}

fn skymaps() {
    let shared = solas_testdata::shared().join("moc");
    let multi = std::fs::read(shared.join("MS181101ab_multiorder_skymap.fits")).expect("map");
    let flat = std::fs::read(shared.join("GW190814_LALInference.v1.fits.gz")).expect("map");
    let t = Instant::now();
    let m = Skymap::from_fits(&multi).expect("valid map");
    let t_multi = t.elapsed();
    let t = Instant::now();
    let f = Skymap::from_fits(&flat).expect("valid map");
    let t_flat = t.elapsed();
    println!(
        "skymap load: multi-order MS181101ab ({} px) {:.1} ms, {:.2} MB; flat GW190814 NSIDE 1024 \
         gz ({} px) {:.2} s, {:.0} MB",
        m.n_pixels(),
        t_multi.as_secs_f64() * 1e3,
        m.memory_bytes() as f64 / 1e6,
        f.n_pixels(),
        t_flat.as_secs_f64(),
        f.memory_bytes() as f64 / 1e6
    );
    // Ten maps: nine multi-order (as LVK now publishes) and the flat one.
    let mut maps: Vec<Skymap> = (0..9).map(|_| m.clone()).collect();
    maps.push(f);
    let mut rng = fastrand::Rng::with_seed(13);
    let points: Vec<(f64, f64)> = (0..10_000).map(|_| uniform(&mut rng)).collect();
    let t = Instant::now();
    let mut in90 = 0;
    let mut sum = 0.0;
    for &(ra, dec) in &points {
        for map in &maps {
            if let Some(loc) = map.locate(ra, dec) {
                in90 += (loc.contour_percent <= 90.0) as usize;
                sum += map.density_3d(ra, dec, 100.0).unwrap_or(0.0);
            }
        }
    }
    let q = t.elapsed();
    println!(
        "skymaps 10: 10,000 points × (locate + density_3d) in {:.2} ms ({:.2} µs/point for all \
         10 maps), {in90} point-map pairs in a 90% region (checksum {sum:.3e})",
        q.as_secs_f64() * 1e3,
        q.as_secs_f64() * 1e6 / points.len() as f64,
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of cones"))
        .collect();
    if !sizes.is_empty() {
        for n in sizes {
            cones(n);
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(peak) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!("peak memory: {}", peak.trim_start_matches("VmHWM:").trim());
        }
        return;
    }
    cones(1_000_000);
    cones(10_000_000);
    watchmaps();
    skymaps();
}
