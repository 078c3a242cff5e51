//! Watchlists from Lasair's own test files.

use solas_watch::{parse_csv, ConeIndex};

fn read(name: &str) -> String {
    std::fs::read_to_string(solas_testdata::shared().join("moc/watchlists").join(name)).unwrap()
}

#[test]
fn lasair_sample_watchlist_parses() {
    let cones = parse_csv(&read("lasair_sample_watchlist.csv"), 2.0).unwrap();
    assert_eq!(cones.len(), 5);
    assert_eq!(cones[0].name, "TST19aagkpou");
    assert_eq!((cones[0].ra, cones[0].dec), (163.900, -8.175));
    assert_eq!(cones[4].name, "TST22aajbxlk");
    assert!(cones.iter().all(|c| c.radius_arcsec.is_none()));
    // Each cone matches its own centre and nothing 3″ away (default radius 2″).
    let idx = ConeIndex::from_cones(1, &cones, 2.0).unwrap();
    for (i, c) in cones.iter().enumerate() {
        let hits = idx.matches(c.ra, c.dec);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].cone_id, i as i64);
        assert!(idx.matches(c.ra, c.dec + 3.0 / 3600.0).is_empty());
    }
}

/// Lasair's watchlist unit-test file: cone lines `id, ra, dec, radius, name`, and position
/// lines `ra, dec, objectId`. The generating script (in the file's header) makes a position
/// within ±5″ per axis of cone i's centre, whether or not cone i itself was printed, so a
/// position can only match the cone printed just before it. The index must agree with a
/// brute-force search over all cones.
#[test]
fn lasair_watchlist_sample_matches_as_generated() {
    let text = read("lasair_watchlist_sample.csv");
    let mut b = ConeIndex::builder();
    let mut cones = Vec::new(); // (id, ra, dec, radius)
    let mut positions = Vec::new(); // (objectId, ra, dec, cone printed just before)
    let mut last_cone: Option<i64> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        match f.len() {
            5 => {
                let c: (i64, f64, f64, f64) = (
                    f[0].parse().unwrap(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                );
                b.push(42, c.0, c.1, c.2, c.3).unwrap();
                cones.push(c);
                last_cone = Some(c.0);
            }
            3 => {
                positions.push((
                    f[2].to_string(),
                    f[0].parse::<f64>().unwrap(),
                    f[1].parse::<f64>().unwrap(),
                    last_cone,
                ));
                last_cone = None;
            }
            n => panic!("unexpected line with {n} fields: {line}"),
        }
    }
    let idx = b.build();
    assert_eq!(idx.len(), cones.len());
    assert!(
        cones.len() > 50 && positions.len() > 50,
        "{} cones, {} positions",
        cones.len(),
        positions.len()
    );
    let mut matched = 0;
    for (obj, ra, dec, before) in &positions {
        let hits = idx.matches(*ra, *dec);
        let got: Vec<i64> = hits.iter().map(|h| h.cone_id).collect();
        let brute: Vec<i64> = cones
            .iter()
            .filter(|c| solas_watch::separation_arcsec(*ra, *dec, c.1, c.2) <= c.3)
            .map(|c| c.0)
            .collect();
        assert_eq!(got, brute, "{obj} at ({ra}, {dec})");
        for h in &hits {
            assert_eq!(h.wl_id, 42);
            assert_eq!(
                Some(h.cone_id),
                *before,
                "{obj} matched a cone it was not made from"
            );
            // Made within ±5″ per axis (in RA as a coordinate): well inside 10″ on the sky.
            assert!(h.arcsec <= 5.0 * 2f64.sqrt() + 1e-6, "{obj}: {}", h.arcsec);
        }
        matched += hits.len();
    }
    // About half the positions follow their cone (0.707² of the script's iterations).
    assert!(matched >= 30, "{matched}");
    println!(
        "{} cones, {} positions, {matched} matched",
        cones.len(),
        positions.len()
    );
}
