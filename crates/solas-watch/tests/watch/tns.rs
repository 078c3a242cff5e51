//! TNS rows from the real export format.

use solas_watch::tns::DEFAULT_TNS_RADIUS_ARCSEC;
use solas_watch::{parse_tns_csv, TnsIndex};

fn fink_csv() -> String {
    std::fs::read_to_string(solas_testdata::shared().join("tns/fink-science_tns_raw.csv")).unwrap()
}

#[test]
fn fink_rows_map_to_crossmatch_tns_fields() {
    let f = parse_tns_csv(&fink_csv()).unwrap();
    assert!(f.bad_rows.is_empty(), "{:?}", f.bad_rows);
    assert_eq!(f.snapshot_date, None);
    assert_eq!(f.rows.len(), 3);
    let names: Vec<String> = f.rows.iter().map(|r| r.full_name()).collect();
    assert_eq!(names, ["AT 2026cqa", "SN 2022and", "SN 2018lzf"]);

    let at = &f.rows[0];
    assert_eq!(at.id, 200803);
    assert_eq!((at.ra, at.decl), (38.8742717, 23.9654567));
    assert_eq!(at.tns_prefix, "AT");
    assert_eq!(at.tns_name, "2026cqa");
    assert_eq!(at.r#type, None);
    assert_eq!(at.z, None);
    assert_eq!(at.disc_mag, Some(19.908));
    assert_eq!(at.disc_mag_filter.as_deref(), Some("r"));
    assert_eq!(at.sender.as_deref(), Some("ALeRCE"));
    assert_eq!(at.source_group.as_deref(), Some("ZTF"));
    assert_eq!(at.disc_date.as_deref(), Some("2026-02-09 03:46:46.998"));
    assert_eq!(at.lastmodified_date.as_deref(), Some("2026-02-09 17:43:27"));
    assert_eq!(at.disc_int_name.as_deref(), Some("ZTF26aafuoxy"));
    assert!(at
        .reporters
        .as_deref()
        .unwrap()
        .starts_with("A. Munoz-Arancibia, G. Pignata"));
    assert!(at
        .reporters
        .as_deref()
        .unwrap()
        .ends_with("on behalf of the ALeRCE broker"));
    assert_eq!(
        (
            at.hostz,
            at.host_name.as_deref(),
            at.ext_catalogs.as_deref()
        ),
        (None, None, None)
    );

    let sn = &f.rows[1];
    assert_eq!(sn.id, 99539);
    assert_eq!(sn.r#type.as_deref(), Some("SN II"));
    assert_eq!(sn.z, Some(0.043));
    assert_eq!(sn.disc_mag_filter.as_deref(), Some("orange"));
    assert_eq!(sn.sender.as_deref(), Some("ATLAS"));
    assert_eq!(
        sn.disc_int_name.as_deref(),
        Some("ATLAS22cwl, PS22agq, ZTF22aaaifcx")
    );
    assert_eq!(sn.lastmodified_date.as_deref(), Some("2022-02-23 16:33:59"));

    let ia = &f.rows[2];
    assert_eq!(ia.r#type.as_deref(), Some("SN Ia"));
    assert_eq!(ia.z, Some(0.074));
    assert_eq!((ia.ra, ia.decl), (35.5773798, -9.6884991));
    assert_eq!(ia.disc_mag, Some(16.97));
}

#[test]
fn leading_date_line_as_tns_writes_it() {
    let with_date = format!("\"2026-11-22 00:00:00\"\n{}", fink_csv());
    let f = parse_tns_csv(&with_date).unwrap();
    assert_eq!(f.snapshot_date.as_deref(), Some("2026-11-22 00:00:00"));
    assert_eq!(f.rows, parse_tns_csv(&fink_csv()).unwrap().rows);
    // CRLF line ends too.
    let crlf = with_date.replace('\n', "\r\n");
    assert_eq!(parse_tns_csv(&crlf).unwrap().rows, f.rows);
}

#[test]
fn bad_row_in_real_file_is_reported_by_line() {
    let mut lines: Vec<String> = fink_csv().lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen("150.02755416", "east", 1);
    let f = parse_tns_csv(&format!("\"2026-11-22 00:00:00\"\n{}\n", lines.join("\n"))).unwrap();
    assert_eq!(f.rows.len(), 2);
    assert_eq!(f.bad_rows.len(), 1);
    assert_eq!(f.bad_rows[0].line, 4, "{:?}", f.bad_rows);
    assert!(f.bad_rows[0].reason.contains("ra"));
}

#[test]
fn crossmatch_objects_to_tns() {
    let f = parse_tns_csv(&fink_csv()).unwrap();
    let idx = TnsIndex::new(&f.rows);
    // ZTF18abquxjv is SN 2018lzf: an alert 1.5″ away matches it.
    let (name, sep) = idx
        .nearest(
            35.5773798,
            -9.6884991 + 1.5 / 3600.0,
            DEFAULT_TNS_RADIUS_ARCSEC,
        )
        .unwrap();
    assert_eq!(name, "2018lzf");
    assert!((sep - 1.5).abs() < 1e-6);
    assert!(idx
        .nearest(
            35.5773798,
            -9.6884991 + 3.5 / 3600.0,
            DEFAULT_TNS_RADIUS_ARCSEC
        )
        .is_none());
    assert_eq!(
        idx.nearest_index(150.02755416, 3.75714275086, 3.0)
            .unwrap()
            .0,
        1
    );
}

/// Sherlock's 1,064 real 2016 transients: every one is its own nearest neighbour, and the
/// index agrees with a brute-force search for offsets around each.
#[test]
fn sherlock_transients_nearest_agrees_with_brute_force() {
    let text = std::fs::read_to_string(
        solas_testdata::shared().join("tns/sherlock_test_transientBucket_2016.csv"),
    )
    .unwrap();
    let mut pts: Vec<(String, f64, f64)> = Vec::new();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (n, r, d) = (
        header.iter().position(|h| *h == "name").unwrap(),
        header.iter().position(|h| *h == "raDeg").unwrap(),
        header.iter().position(|h| *h == "decDeg").unwrap(),
    );
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if let (Ok(ra), Ok(dec)) = (f[r].parse(), f[d].parse()) {
            pts.push((f[n].to_string(), ra, dec));
        }
    }
    assert!(pts.len() > 1000, "{}", pts.len());
    let idx = TnsIndex::from_points(pts.iter().map(|(n, r, d)| (n.as_str(), *r, *d)));
    for (k, (_, ra, dec)) in pts.iter().enumerate() {
        for (dra, ddec, radius) in [
            (0.0, 0.0, 3.0),
            (1.0, -2.0, 3.0),
            (20.0, 5.0, 60.0),
            (300.0, 0.0, 900.0),
        ] {
            let (qra, qdec) = (ra + dra / 3600.0, (dec + ddec / 3600.0).clamp(-90.0, 90.0));
            let brute = pts
                .iter()
                .enumerate()
                .map(|(i, (_, r, d))| (i, solas_watch::separation_arcsec(qra, qdec, *r, *d)))
                .filter(|&(_, s)| s <= radius)
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            assert_eq!(idx.nearest_index(qra, qdec, radius), brute, "point {k}");
        }
    }
}
