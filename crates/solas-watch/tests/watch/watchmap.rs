//! Watchmaps against mocpy: every MOC in the shared set, every sample alert position.

use solas_watch::{parse_moc, Moc, WatchmapIndex};

const MOCS: [&str; 5] = [
    "MS181101ab_90pct.moc.fits",
    "lasair_ar_1_moc_v2_range.fits",
    "lasair_sample_area_moc_v1_nuniq32.fits",
    "mocpy_CDS-I-125A_catalog_moc_v1_nuniq32.fits",
    "mocpy_V_147_sdss12_footprint_moc_v1_nuniq32.fits",
];

fn load(name: &str) -> Moc {
    let path = solas_testdata::shared().join("moc").join(name);
    let bytes = std::fs::read(&path).unwrap();
    parse_moc(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (id, ra, dec, [inside each MOC]) from the mocpy oracle.
fn oracle() -> Vec<(String, f64, f64, Vec<bool>)> {
    let text =
        std::fs::read_to_string(solas_testdata::shared().join("moc/alerts_in_mocs_mocpy.csv"))
            .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[5..], &MOCS, "oracle columns");
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[2].to_string(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5..].iter().map(|v| *v == "1").collect(),
            )
        })
        .collect()
}

#[test]
fn every_moc_agrees_with_mocpy_on_every_alert() {
    let rows = oracle();
    assert_eq!(rows.len(), 308);
    let mocs: Vec<Moc> = MOCS.iter().map(|m| load(m)).collect();
    let mut inside = [0usize; 5];
    for (id, ra, dec, expect) in &rows {
        for (k, moc) in mocs.iter().enumerate() {
            assert_eq!(
                moc.contains(*ra, *dec),
                expect[k],
                "{id} ({ra}, {dec}) in {}",
                MOCS[k]
            );
            inside[k] += expect[k] as usize;
        }
    }
    // The README's counts: SDSS holds 142 of the alerts, I/125A holds 5, the rest none.
    assert_eq!(inside, [0, 0, 0, 5, 142]);
}

#[test]
fn index_returns_every_containing_map() {
    let rows = oracle();
    let mut idx = WatchmapIndex::new();
    for (k, m) in MOCS.iter().enumerate() {
        idx.insert(100 + k as i64, load(m));
    }
    // The same SDSS map twice under another id: both must be returned.
    idx.insert(999, load(MOCS[4]));
    for (id, ra, dec, expect) in &rows {
        let mut want: Vec<i64> = (0..5)
            .filter(|&k| expect[k])
            .map(|k| 100 + k as i64)
            .collect();
        if expect[4] {
            want.push(999);
        }
        assert_eq!(idx.containing(*ra, *dec), want, "{id}");
    }
    // Points inside the maps with no alerts: the centre of a cell of each.
    for (k, m) in MOCS.iter().enumerate() {
        let moc = load(m);
        let h = moc.ranges()[moc.ranges().len() / 2].start;
        let (lon, lat) = cdshealpix::nested::center(29, h);
        let got = idx.containing(lon.to_degrees(), lat.to_degrees());
        assert!(got.contains(&(100 + k as i64)), "{m}: {got:?}");
    }
}

#[test]
fn areas_and_depths_match_the_readme() {
    // (file, depth, area deg² as the README gives it).
    let expect = [
        (0, 11, 31.0),
        (1, 11, 53.4),
        (2, 11, 10.1),
        (3, 8, 670.0),
        (4, 13, 14520.0),
    ];
    for (k, depth, area) in expect {
        let moc = load(MOCS[k]);
        assert_eq!(moc.depth_max(), depth, "{}", MOCS[k]);
        let rel = (moc.area_deg2() - area).abs() / area;
        assert!(
            rel < 0.01,
            "{}: area {} deg², README {area}",
            MOCS[k],
            moc.area_deg2()
        );
    }
}

#[test]
fn truncated_and_corrupted_fits_are_errors() {
    for name in MOCS {
        let bytes = std::fs::read(solas_testdata::shared().join("moc").join(name)).unwrap();
        // Truncations at block boundaries and inside blocks.
        for cut in [0, 10, 80, 2880, 2880 + 400, 5760, 5760 + 7, bytes.len() / 2] {
            if cut < bytes.len() {
                let _ = parse_moc(&bytes[..cut]); // must not panic
            }
        }
        // A truncated file is an error, not a partial MOC.
        for cut in [2880 + 400, 5760 + 7, bytes.len() - 2880] {
            assert!(parse_moc(&bytes[..cut]).is_err(), "{name} cut at {cut}");
        }
        // Flipped bytes all over the file: whatever comes back, no panic. Fewer rounds for
        // the 1.8 MB SDSS map, which takes a while to parse in a debug build.
        let mut rng = fastrand::Rng::with_seed(3);
        let rounds = if bytes.len() > 100_000 { 20 } else { 200 };
        for _ in 0..rounds {
            let mut b = bytes.clone();
            for _ in 0..8 {
                let i = rng.usize(..b.len());
                b[i] = rng.u8(..);
            }
            let _ = parse_moc(&b);
        }
    }
}

#[test]
fn gzipped_fits_and_ascii_round_trip_of_a_real_moc() {
    use std::io::Write;
    let bytes = std::fs::read(solas_testdata::shared().join("moc").join(MOCS[2])).unwrap();
    let mut enc = flate2_encoder();
    enc.write_all(&bytes).unwrap();
    let gz = enc.finish().unwrap();
    let plain = parse_moc(&bytes).unwrap();
    assert_eq!(parse_moc(&gz).unwrap(), plain);
    let ascii = plain.to_ascii();
    // Lowest order first; the last order written is the MOC's depth.
    assert!(ascii.starts_with("6/"), "{}", &ascii[..20.min(ascii.len())]);
    assert!(
        ascii.split_whitespace().any(|t| t.starts_with("11/")),
        "{ascii}"
    );
    assert_eq!(
        parse_moc(ascii.as_bytes()).unwrap().ranges(),
        plain.ranges()
    );
}

fn flate2_encoder() -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())
}
