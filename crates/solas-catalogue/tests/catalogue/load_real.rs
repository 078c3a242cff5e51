//! Every shared catalogue loads through its description with the exact row counts the data
//! has, and no bad rows.

use crate::common;

use solas_catalogue::load_description;

#[test]
fn every_description_loads_with_expected_counts() {
    let tmp = tempfile::tempdir().unwrap();
    // (file, rows kept, rows filtered). GCVS: 1,404 CV-like + 57,688 others + 7 supernovae
    // = 59,099. Milliquas: 1,000 lines, 31 typed "X" and 11 "R" only. OpenNGC: 10,481 + 40 G, 231 GPair, 26 GTrpl, 11 + 2 GGroup (NGC + addendum).
    let expected = [
        ("3hsp.toml", 2013, 0),
        ("4lac-dr3-h.toml", 3407, 0),
        ("4lac-dr3-l.toml", 407, 0),
        ("clu.toml", 92, 0),
        ("fermi-4fgl.toml", 3637, 0),
        ("gcvs-cv.toml", 1404, 57695),
        ("gcvs.toml", 57688, 1411),
        ("glade.toml", 101, 0),
        ("hipparcos2.toml", 23329, 0),
        ("milliquas.toml", 958, 42),
        ("openngc.toml", 10791, 3242),
        ("veron.toml", 50, 0),
        ("vlass.toml", 99, 0),
    ];
    let files = common::all_description_files();
    assert_eq!(
        files,
        expected.iter().map(|e| e.0.to_string()).collect::<Vec<_>>()
    );
    for (file, rows, filtered) in expected {
        let l = load_description(&common::description(tmp.path(), file)).unwrap();
        let r = &l.report;
        assert_eq!(r.bad_rows, vec![], "{file}");
        assert_eq!(r.bad_row_count, 0, "{file}");
        assert_eq!((r.rows_loaded, r.filtered), (rows, filtered), "{file}");
        assert_eq!(l.rows.len() as u64, rows, "{file}");
        assert!(l
            .rows
            .iter()
            .all(|r| !r.id.is_empty() && (0.0..360.0).contains(&r.ra) && r.dec.abs() <= 90.0));
    }
}

#[test]
fn fields_are_mapped() {
    let tmp = tempfile::tempdir().unwrap();
    let ngc = load_description(&common::description(tmp.path(), "openngc.toml")).unwrap();
    let n7814 = ngc.rows.iter().find(|r| r.id == "NGC7814").unwrap();
    assert_eq!(n7814.object_type.as_deref(), Some("G"));
    assert_eq!(n7814.z, Some(0.003505));
    assert!((n7814.semi_major_axis_arcsec.unwrap() - 4.37 * 30.0).abs() < 1e-9);
    assert_eq!(n7814.mag_filter.as_deref(), Some("B"));
    // Sexagesimal RA from "00:03:14.89".
    assert!(
        (n7814.ra - 15.0 * (3.0 / 60.0 + 14.89 / 3600.0)).abs() < 1e-9,
        "{}",
        n7814.ra
    );
    // The addendum's rows come in too.
    assert!(ngc.report.files.len() == 2 && ngc.rows.len() > 10_749);

    let hsp = load_description(&common::description(tmp.path(), "3hsp.toml")).unwrap();
    let first = &hsp.rows[0];
    assert_eq!(first.id, "3HSPJ000116.4+293534");
    assert!((first.ra - 15.0 * (1.0 / 60.0 + 16.37 / 3600.0)).abs() < 1e-9);
    assert!((first.dec - (29.0 + 35.0 / 60.0 + 34.0 / 3600.0)).abs() < 1e-9);

    let fgl = load_description(&common::description(tmp.path(), "fermi-4fgl.toml")).unwrap();
    assert_eq!(fgl.rows[0].id, "4FGL J0000.3-7355", "ids are trimmed");

    let hip = load_description(&common::description(tmp.path(), "hipparcos2.toml")).unwrap();
    let h3 = hip.rows.iter().find(|r| r.id == "3").unwrap();
    assert_eq!(
        (h3.mag, h3.mag_filter.as_deref()),
        (Some(6.6081), Some("Hp"))
    );

    let glade = load_description(&common::description(tmp.path(), "glade.toml")).unwrap();
    let g1 = &glade.rows[0];
    assert_eq!(
        (g1.id.as_str(), g1.z, g1.distance_mpc),
        ("1", Some(0.00099057), Some(4.392418))
    );

    let gcvs = load_description(&common::description(tmp.path(), "gcvs.toml")).unwrap();
    let rrab = gcvs.rows.iter().find(|r| r.id == "56599").unwrap();
    assert_eq!(rrab.object_type.as_deref(), Some("RRAB"));
    let cv = load_description(&common::description(tmp.path(), "gcvs-cv.toml")).unwrap();
    assert!(cv
        .rows
        .iter()
        .any(|r| r.object_type.as_deref() == Some("EA+NL")));
    assert!(cv
        .rows
        .iter()
        .all(|r| !r.object_type.as_deref().unwrap().starts_with("SN")));

    let lac = load_description(&common::description(tmp.path(), "4lac-dr3-h.toml")).unwrap();
    let j1744 = lac
        .rows
        .iter()
        .find(|r| r.id == "4FGL J1744.0+1935")
        .unwrap();
    assert!(j1744.object_type.is_some());

    let veron = load_description(&common::description(tmp.path(), "veron.toml")).unwrap();
    let v0 = &veron.rows[0];
    assert_eq!(
        (v0.id.as_str(), v0.ra, v0.dec, v0.z),
        ("FIRST J00000-0202", 0.0054, -2.0333, Some(1.356))
    );

    // Fixed-width: the first line of the Milliquas slice, name with a space in it, a row
    // without z, and every kept type starting with a classification letter.
    let mq = load_description(&common::description(tmp.path(), "milliquas.toml")).unwrap();
    let m0 = &mq.rows[0];
    assert_eq!(
        (m0.id.as_str(), m0.ra, m0.dec, m0.z),
        (
            "UVQSJ000000.15-200427.7",
            0.000625,
            -20.0743611,
            Some(0.291)
        )
    );
    assert_eq!(m0.object_type.as_deref(), Some("QX"));
    assert_eq!((m0.mag, m0.mag_filter.as_deref()), (Some(17.8), Some("R")));
    let m1 = &mq.rows[1];
    assert_eq!(
        (m1.id.as_str(), m1.object_type.as_deref(), m1.z),
        ("SDSS J000000.15+353104.2", Some("q"), Some(1.0))
    );
    assert_eq!(mq.rows.iter().filter(|r| r.z.is_none()).count(), 5);
    assert!(mq.rows.iter().all(|r| r
        .object_type
        .as_deref()
        .is_some_and(|t| t.starts_with(['Q', 'A', 'B', 'K', 'N', 'L', 'q']))));
}

/// Every description the repository ships (shared-data slices, production catalogues,
/// the demo's sample) parses, says where the catalogue is published and under what terms,
/// and names only classes the classifier knows.
#[test]
fn every_shipped_description_says_where_to_get_it_and_its_licence() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seen = 0;
    for dir in ["catalogues", "catalogues/production", "samples/catalogues"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let d = solas_catalogue::load::parse_description(&path, &text)
                .unwrap_or_else(|e| panic!("{e}"));
            for (what, v) in [
                ("url", &d.url),
                ("licence", &d.licence),
                ("description", &d.description),
            ] {
                assert!(
                    v.as_deref().is_some_and(|s| !s.trim().is_empty()),
                    "{}: no {what}",
                    path.display()
                );
            }
            let s = &d.search;
            for class in [&s.synonym_class, &s.association_class, &s.annotation_class]
                .into_iter()
                .flatten()
            {
                assert!(
                    ["SN", "NT", "AGN", "CV", "VS", "BS", "UNCLEAR"].contains(&class.as_str()),
                    "{}: class {class}",
                    path.display()
                );
            }
            let c = &d.columns;
            assert_eq!(
                c.pm_ra.is_some(),
                c.epoch.is_some(),
                "{}: proper motions need their epoch",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 31, "{seen} descriptions");
}
