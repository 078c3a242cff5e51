//! GW skymaps: the real GW190814 LALInference map and the LVK mock MS181101ab.

use std::sync::OnceLock;

use solas_watch::{parse_moc, Skymap};

fn data(path: &str) -> Vec<u8> {
    std::fs::read(solas_testdata::shared().join(path)).unwrap()
}

/// The flat NSIDE 1024 map is 400 MB once decompressed: load it once for all tests.
fn gw190814() -> &'static Skymap {
    static MAP: OnceLock<Skymap> = OnceLock::new();
    MAP.get_or_init(|| {
        let t = std::time::Instant::now();
        let m = Skymap::from_fits(&data("moc/GW190814_LALInference.v1.fits.gz")).unwrap();
        println!(
            "GW190814 loaded in {:.1} s, {} MB",
            t.elapsed().as_secs_f64(),
            m.memory_bytes() >> 20
        );
        m
    })
}

/// (name, ra, dec, distmpc) of the CLU_mini galaxies.
fn clu_galaxies() -> Vec<(String, f64, f64, f64)> {
    let text = String::from_utf8(data("catalogues/skyportal/CLU_mini.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..4], ["name", "ra", "dec", "distmpc"]);
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn gw190814_header_and_pixels() {
    let m = gw190814();
    let meta = m.meta();
    assert_eq!(meta.ordering, "NESTED");
    assert_eq!(meta.date_obs.as_deref(), Some("2019-08-14T21:10:38.995869"));
    assert!((meta.mjd_obs.unwrap() - 58709.88239578551).abs() < 1e-9);
    assert!((meta.distmean.unwrap() - 267.4016362946634).abs() < 1e-9);
    assert_eq!(meta.creator.as_deref(), Some("ligo-skymap-from-samples"));
    assert_eq!(meta.object, None);
    assert_eq!(m.max_order(), 10);
    assert_eq!(m.n_pixels(), 12 << 20);
    assert!(m.has_distance());
    assert!(
        (m.total_probability() - 1.0).abs() < 1e-6,
        "{}",
        m.total_probability()
    );
}

#[test]
fn gw190814_82_of_92_clu_galaxies_in_the_90_percent_region() {
    let m = gw190814();
    let galaxies = clu_galaxies();
    assert_eq!(galaxies.len(), 92);
    let region = m.region_moc(90.0);
    let mut inside = 0;
    for (name, ra, dec, dist) in &galaxies {
        let loc = m.locate(*ra, *dec).unwrap();
        let is_in = loc.contour_percent <= 90.0;
        inside += is_in as usize;
        // The exported region agrees with the per-pixel levels.
        assert_eq!(region.contains(*ra, *dec), is_in, "{name}");
        let d3 = m.density_3d(*ra, *dec, *dist).unwrap();
        assert!(d3 >= 0.0 && d3.is_finite(), "{name}: {d3}");
        if is_in {
            assert!(loc.prob_density_2d > 0.0);
            let (mu, sigma, norm) = loc.dist.unwrap();
            assert!(
                mu > 0.0 && sigma > 0.0 && norm > 0.0,
                "{name}: {mu} {sigma} {norm}"
            );
        }
    }
    println!(
        "{inside} of {} CLU galaxies inside the 90% region",
        galaxies.len()
    );
    assert_eq!(inside, 82);
}

#[test]
fn gw190814_credible_areas() {
    let m = gw190814();
    let (a10, a50, a90) = (
        m.region_area_deg2(10.0),
        m.region_area_deg2(50.0),
        m.region_area_deg2(90.0),
    );
    println!("GW190814 LALInference: 10% {a10:.2} deg², 50% {a50:.2} deg², 90% {a90:.2} deg²");
    assert!(a10 < a50 && a50 < a90);
    // LVK's GCN for this LALInference map gave 23 deg² (90%).
    assert!((18.0..=28.0).contains(&a90), "{a90}");
    let moc_area = m.region_moc(90.0).area_deg2();
    assert!((moc_area - a90).abs() < 1e-6 * a90, "{moc_area} vs {a90}");
    // The 3-D density peaks near the map's mean distance along the densest direction.
    let (ra, dec) = (24.0, -33.0);
    if let Some(loc) = m.locate(ra, dec) {
        let (mu, _, _) = loc.dist.unwrap();
        let best = (1..1000)
            .map(|r| r as f64)
            .max_by(|a, b| {
                m.density_3d(ra, dec, *a)
                    .unwrap()
                    .total_cmp(&m.density_3d(ra, dec, *b).unwrap())
            })
            .unwrap();
        println!("at ({ra}, {dec}): DISTMU {mu:.1} Mpc, p(r) peaks at {best} Mpc");
        assert!(best > 100.0 && best < 500.0);
    }
}

#[test]
fn ms181101ab_90_percent_region_matches_lvk_moc() {
    let m = Skymap::from_fits(&data("moc/MS181101ab_multiorder_skymap.fits")).unwrap();
    assert_eq!(m.meta().object.as_deref(), Some("MS181101ab"));
    assert_eq!(m.meta().ordering, "NUNIQ");
    assert_eq!(
        m.meta().date_obs.as_deref(),
        Some("2018-11-01T22:22:46.654437")
    );
    assert!((m.meta().mjd_obs.unwrap() - 58423.93248442635).abs() < 1e-9);
    assert_eq!(m.n_pixels(), 19200);
    assert_eq!(m.max_order(), 11);
    assert!(
        (m.total_probability() - 1.0).abs() < 1e-6,
        "{}",
        m.total_probability()
    );

    let lvk = parse_moc(&data("moc/MS181101ab_90pct.moc.fits")).unwrap();
    let ours = m.region_moc(90.0);
    let (a_ours, a_lvk) = (m.region_area_deg2(90.0), lvk.area_deg2());
    println!("MS181101ab 90%: ours {a_ours:.3} deg², LVK MOC {a_lvk:.3} deg²");
    // Same greedy rule as ligo.skymap: the areas agree to rounding (a few % allowed).
    assert!((a_ours - a_lvk).abs() / a_lvk < 0.03, "{a_ours} vs {a_lvk}");

    // Every order-11 cell in either region, tested at its centre.
    let mut cells = Vec::new();
    for moc in [&ours, &lvk] {
        for r in moc.ranges() {
            let (a, b) = (r.start >> 36, (r.end - 1) >> 36);
            cells.extend(a..=b);
        }
    }
    cells.sort_unstable();
    cells.dedup();
    let mut disagree = 0;
    for &c in &cells {
        let (lon, lat) = cdshealpix::nested::center(11, c);
        let (ra, dec) = (lon.to_degrees(), lat.to_degrees());
        let a = m.locate(ra, dec).unwrap().contour_percent <= 90.0;
        assert_eq!(a, ours.contains(ra, dec));
        if a != lvk.contains(ra, dec) {
            disagree += 1;
        }
    }
    println!("{disagree} of {} order-11 cells disagree", cells.len());
    // Boundary cells could legitimately differ (ties, rounding); here none do.
    assert!(
        disagree as f64 <= 0.02 * cells.len() as f64,
        "{disagree} of {}",
        cells.len()
    );
    assert!(cells.len() > 30_000);
}

#[test]
fn gzipped_multiorder_map_reads_the_same() {
    use std::io::Write;
    let raw = data("moc/MS181101ab_multiorder_skymap.fits");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw).unwrap();
    let gz = enc.finish().unwrap();
    let (a, b) = (
        Skymap::from_fits(&raw).unwrap(),
        Skymap::from_fits(&gz).unwrap(),
    );
    let mut rng = fastrand::Rng::with_seed(5);
    for _ in 0..1000 {
        let (ra, dec) = (rng.f64() * 360.0, rng.f64() * 180.0 - 90.0);
        assert_eq!(a.locate(ra, dec), b.locate(ra, dec));
    }
    // Truncated gzip or FITS: errors.
    assert!(Skymap::from_fits(&gz[..gz.len() / 2]).is_err());
    assert!(Skymap::from_fits(&raw[..raw.len() - 5000]).is_err());
}
