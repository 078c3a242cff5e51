//! Each rule of the algorithm on small hand-made catalogues (positions around NGC 7814's
//! real coordinates; the rows are constructed to sit exactly where each rule bites).

use crate::common;

use common::{description, row, MemoryStore};
use serde_json::json;
use solas_catalogue::CatalogueRow;
use solas_context::{classify, validate, Class, ContextError, DistanceFlag, Reliability};

const RA: f64 = 0.8120416666666667;
const DEC: f64 = 16.145416666666666;

/// A point `north`, `east` arcsec from (RA, DEC) (small offsets).
fn offset(north: f64, east: f64) -> (f64, f64) {
    (
        RA + east / 3600.0 / DEC.to_radians().cos(),
        DEC + north / 3600.0,
    )
}

fn galaxy(id: &str, z: Option<f64>, semi_major: Option<f64>) -> CatalogueRow {
    let mut r = row(id, RA, DEC);
    r.z = z;
    r.semi_major_axis_arcsec = semi_major;
    r
}

fn galaxies(rows: Vec<CatalogueRow>, rules: serde_json::Value) -> MemoryStore {
    let mut s = MemoryStore::new();
    s.add(description("gal", "galaxy", 2, rules), rows);
    s
}

fn sn_rules(kpc: Option<f64>, smaj: bool) -> serde_json::Value {
    json!({
        "synonym_radius_arcsec": 1.3,
        "association_radius_arcsec": 120.0,
        "association_radius_kpc": kpc,
        "synonym_class": "NT",
        "association_class": "SN",
        "within_semi_major_axis": smaj,
    })
}

#[test]
fn nucleus_is_a_synonym_and_nt() {
    let s = galaxies(
        vec![galaxy("G", Some(0.01), None)],
        sn_rules(Some(50.0), false),
    );
    let (ra, dec) = offset(0.5, 0.5);
    let c = classify(&s, ra, dec);
    assert_eq!(c.classification, Class::NT);
    assert_eq!(c.best.unwrap().reliability, Reliability::Synonym);
}

#[test]
fn physical_radius_replaces_the_angular_one_when_there_is_a_distance() {
    // z = 0.1: 1.844 kpc/″, so 50 kpc = 27.1″. At 40″ the angular radius (120″) would
    // accept, the physical one must not.
    let (ra, dec) = offset(40.0, 0.0);
    let with_z = galaxies(
        vec![galaxy("G", Some(0.1), None)],
        sn_rules(Some(50.0), false),
    );
    assert_eq!(classify(&with_z, ra, dec).classification, Class::ORPHAN);
    let (ra2, dec2) = offset(25.0, 0.0);
    let c = classify(&with_z, ra2, dec2);
    assert_eq!(c.classification, Class::SN);
    let kpc = c.best.unwrap().physical_separation_kpc.unwrap();
    assert!((kpc - 25.0 * 1.84430).abs() < 0.01, "{kpc}");
    // Without a distance, the angular radius decides.
    let no_z = galaxies(vec![galaxy("G", None, None)], sn_rules(Some(50.0), false));
    assert_eq!(classify(&no_z, ra, dec).classification, Class::SN);
    // And the angular radius stays an upper bound even for a very near galaxy.
    let near = galaxies(
        vec![galaxy("G", Some(0.0005), None)],
        sn_rules(Some(50.0), false),
    );
    let (ra3, dec3) = offset(130.0, 0.0);
    assert_eq!(classify(&near, ra3, dec3).classification, Class::ORPHAN);
}

#[test]
fn semi_major_axis_cut_applies_only_when_asked() {
    // a = 10″ → keep below 25″.
    let (ra, dec) = offset(0.0, 30.0);
    let cut = galaxies(vec![galaxy("G", None, Some(10.0))], sn_rules(None, true));
    assert_eq!(classify(&cut, ra, dec).classification, Class::ORPHAN);
    let (ra2, dec2) = offset(0.0, 24.0);
    let c = classify(&cut, ra2, dec2);
    assert_eq!(c.classification, Class::SN);
    assert_eq!(c.best.unwrap().major_axis_arcsec, Some(20.0));
    let uncut = galaxies(vec![galaxy("G", None, Some(10.0))], sn_rules(None, false));
    assert_eq!(classify(&uncut, ra, dec).classification, Class::SN);
    // A galaxy without a size is not cut.
    let sizeless = galaxies(vec![galaxy("G", None, None)], sn_rules(None, true));
    assert_eq!(classify(&sizeless, ra, dec).classification, Class::SN);
}

#[test]
fn north_and_east_signs() {
    let s = galaxies(vec![galaxy("G", None, None)], sn_rules(None, false));
    for (n, e) in [(5.0, 3.0), (-5.0, 3.0), (5.0, -3.0), (-5.0, -3.0)] {
        let (ra, dec) = offset(n, e);
        let m = classify(&s, ra, dec).best.unwrap();
        assert!(
            (m.north_separation_arcsec - n).abs() < 1e-3,
            "{n} {e}: {m:?}"
        );
        assert!(
            (m.east_separation_arcsec - e).abs() < 1e-3,
            "{n} {e}: {m:?}"
        );
    }
}

#[test]
fn annotation_pass_runs_only_when_nothing_else_matched() {
    let mut s = MemoryStore::new();
    s.add(
        description(
            "phot",
            "galaxy",
            5,
            json!({ "association_radius_arcsec": 10.0, "annotation_class": "SN" }),
        ),
        vec![row("P", RA, DEC)],
    );
    let (ra, dec) = offset(5.0, 0.0);
    let c = classify(&s, ra, dec);
    assert_eq!(c.classification, Class::SN);
    assert_eq!(c.best.unwrap().reliability, Reliability::Annotation);
    // A star synonym elsewhere in the field stops the annotation pass.
    let (sra, sdec) = offset(5.0, 0.3);
    s.add(
        description("stars", "star", 5, json!({ "synonym_radius_arcsec": 1.0, "association_radius_arcsec": 1.0, "synonym_class": "VS" })),
        vec![row("S", sra, sdec)],
    );
    let c = classify(&s, ra, dec);
    assert_eq!(c.matches.len(), 1, "{c:#?}");
    assert_eq!(c.classification, Class::VS);
}

#[test]
fn a_host_without_distance_beats_an_unclear_source() {
    // Sherlock's dead branch scores an SN association without distance like UNCLEAR, so the
    // closer ambiguous source would win; with the branch fixed the galaxy wins.
    let mut s = MemoryStore::new();
    s.add(
        description("gal", "galaxy", 2, sn_rules(None, false)),
        vec![galaxy("G", None, None)],
    );
    let (ura, udec) = offset(4.0, 0.0);
    s.add(
        description(
            "ps1",
            "unclear",
            8,
            json!({ "association_radius_arcsec": 1.5, "association_class": "UNCLEAR" }),
        ),
        vec![row("U", ura, udec)],
    );
    let (ra, dec) = offset(3.0, 0.0);
    let c = classify(&s, ra, dec);
    let order: Vec<&str> = c
        .matches
        .iter()
        .map(|m| m.catalogue_object_id.as_str())
        .collect();
    assert_eq!(order, ["G", "U"]);
    assert_eq!(c.classification, Class::SN);
}

#[test]
fn merged_duplicates_borrow_the_redshift_and_say_where_from() {
    // The better catalogue (priority 1) has no redshift; a worse one 0.5″ away has it.
    let mut s = MemoryStore::new();
    s.add(
        description("good", "galaxy", 1, sn_rules(None, false)),
        vec![galaxy("A", None, None)],
    );
    let (ra2, dec2) = offset(0.5, 0.0);
    let mut b = row("B", ra2, dec2);
    b.z = Some(0.05);
    b.photoz = Some(0.07);
    s.add(
        description("zcat", "galaxy", 3, sn_rules(None, false)),
        vec![b],
    );
    let (ra, dec) = offset(0.0, 10.0);
    let c = classify(&s, ra, dec);
    assert_eq!(c.matches.len(), 1, "{c:#?}");
    let m = &c.matches[0];
    assert_eq!(m.catalogue_object_id, "A");
    assert_eq!(m.z, Some(0.05));
    assert_eq!(m.best_distance_flag, Some(DistanceFlag::SpecZ));
    assert_eq!(m.best_distance_source.as_deref(), Some("zcat"));
    assert!(m.physical_separation_kpc.unwrap() > 9.0);
    // Two sources 1.5″ apart stay separate.
    let mut s2 = MemoryStore::new();
    s2.add(
        description("good", "galaxy", 1, sn_rules(None, false)),
        vec![galaxy("A", None, None)],
    );
    let (ra3, dec3) = offset(1.5, 0.0);
    s2.add(
        description("zcat", "galaxy", 3, sn_rules(None, false)),
        vec![row("B", ra3, dec3)],
    );
    assert_eq!(classify(&s2, ra, dec).matches.len(), 2);
}

#[test]
fn merged_class_follows_sherlock_type_priority() {
    // A QSO also listed as a galaxy: AGN wins whichever catalogue is the anchor.
    let mut s = MemoryStore::new();
    s.add(
        description("gal", "galaxy", 1, sn_rules(None, false)),
        vec![galaxy("G", None, None)],
    );
    s.add(
        description("qso", "agn", 5, json!({ "synonym_radius_arcsec": 3.0, "association_radius_arcsec": 3.0, "synonym_class": "AGN" })),
        vec![row("Q", RA, DEC)],
    );
    let (ra, dec) = offset(0.0, 2.0);
    let c = classify(&s, ra, dec);
    assert_eq!(c.matches.len(), 1);
    assert_eq!(c.classification, Class::AGN);
    assert_eq!(c.matches[0].catalogue_object_id, "G");
    assert_eq!(c.matches[0].reliability, Reliability::Synonym);
}

#[test]
fn result_does_not_depend_on_row_order() {
    let mk = |rev: bool| {
        let mut rows: Vec<CatalogueRow> = (0..6)
            .map(|i| {
                let (ra, dec) = offset(3.0 * i as f64, 2.0);
                row(&format!("R{i}"), ra, dec)
            })
            .collect();
        if rev {
            rows.reverse();
        }
        galaxies(rows, sn_rules(None, false))
    };
    let (ra, dec) = offset(7.5, 0.0);
    assert_eq!(classify(&mk(false), ra, dec), classify(&mk(true), ra, dec));
}

#[test]
fn store_overshoot_is_ignored_and_bad_input_is_orphan() {
    struct Sloppy(MemoryStore);
    impl solas_context::ConeSearch for Sloppy {
        fn catalogues(&self) -> &[solas_catalogue::Description] {
            &self.0.descriptions
        }
        fn cone(&self, c: usize, _: f64, _: f64, _: f64, out: &mut Vec<CatalogueRow>) {
            out.extend(self.0.rows[c].iter().cloned()); // everything, whatever the radius
        }
    }
    let (fra, fdec) = offset(500.0, 0.0);
    let s = Sloppy(galaxies(vec![row("FAR", fra, fdec)], sn_rules(None, false)));
    assert_eq!(classify(&s, RA, DEC).classification, Class::ORPHAN);
    assert_eq!(classify(&s, f64::NAN, DEC).classification, Class::ORPHAN);
}

#[test]
fn unknown_rule_classes_are_reported_and_skipped() {
    let d = description(
        "hpm",
        "star",
        5,
        json!({ "synonym_radius_arcsec": 3.0, "association_radius_arcsec": 3.0, "synonym_class": "HPMS" }),
    );
    assert!(matches!(
        validate(std::slice::from_ref(&d)),
        Err(ContextError::UnknownClass { .. })
    ));
    let mut s = MemoryStore::new();
    s.add(d, vec![row("H", RA, DEC)]);
    assert_eq!(classify(&s, RA, DEC).classification, Class::ORPHAN);
    let bad = description(
        "g",
        "galaxy",
        1,
        json!({ "association_radius_arcsec": -1.0 }),
    );
    assert!(matches!(
        validate(&[bad]),
        Err(ContextError::BadRadius { .. })
    ));
    assert_eq!(validate(&common::real_store().descriptions), Ok(()));
}

#[test]
fn a_galaxy_without_size_or_distance_reaches_only_60_arcsec() {
    let rules = json!({
        "synonym_radius_arcsec": 1.3,
        "association_radius_arcsec": 1800.0,
        "association_radius_kpc": 50.0,
        "synonym_class": "NT",
        "association_class": "SN",
        "within_semi_major_axis": true,
    });
    let s = galaxies(vec![galaxy("G", None, None)], rules.clone());
    let (ra, dec) = offset(50.0, 0.0);
    assert_eq!(classify(&s, ra, dec).classification, Class::SN);
    let (ra, dec) = offset(300.0, 0.0);
    assert_eq!(classify(&s, ra, dec).classification, Class::ORPHAN);
    // With a size, the size decides (300" inside a 400" semi-major axis).
    let s = galaxies(vec![galaxy("G", None, Some(400.0))], rules);
    assert_eq!(classify(&s, ra, dec).classification, Class::SN);
}
