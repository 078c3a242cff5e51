//! The classifier on real catalogues (all OpenNGC galaxies, all 3HSP blazars, all shared
//! Hipparcos-2 stars, real GCVS rows) at the positions of real ZTF and Rubin alerts. Expected
//! separations come from `catalogues/crossmatch_reference_astropy.csv` (astropy).

use crate::common;

use std::sync::OnceLock;

use common::{real_store, rubin_position, ztf_position, MemoryStore};
use solas_context::{classify, Class, ColumnValue, DistanceFlag, Reliability};

fn store() -> &'static MemoryStore {
    static STORE: OnceLock<MemoryStore> = OnceLock::new();
    STORE.get_or_init(real_store)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn ztf21abiuvdk_is_a_supernova_in_ngc7814() {
    let c = classify(store(), 0.814293, 16.1456989);
    assert_eq!(c.classification, Class::SN, "{c:#?}");
    let m = c.best.as_ref().unwrap();
    assert_eq!(m.catalogue_object_id, "NGC7814");
    assert_eq!(m.catalogue_table_name, "openngc");
    assert_eq!(m.reliability, Reliability::Association);
    assert_eq!(m.rank, 1);
    assert!(
        close(m.separation_arcsec, 7.851, 0.002),
        "{}",
        m.separation_arcsec
    );
    // NGC 7814 is at 00:03:14.89 +16:08:43.5; the transient is 1.01″ north, 7.79″ east.
    assert!(
        close(m.north_separation_arcsec, 1.0148, 0.002),
        "{}",
        m.north_separation_arcsec
    );
    assert!(
        close(m.east_separation_arcsec, 7.785, 0.002),
        "{}",
        m.east_separation_arcsec
    );
    // z = 0.003505 → D_A = 14.95 Mpc, 0.0725 kpc/″ (independent Python integration).
    assert_eq!(m.z, Some(0.003505));
    assert_eq!(m.best_distance_flag, Some(DistanceFlag::SpecZ));
    assert_eq!(m.best_distance_source.as_deref(), Some("openngc"));
    let kpc = m.physical_separation_kpc.unwrap();
    assert!(close(kpc, 0.5689, 0.001), "{kpc}");
    // D_L = (1 + z)·D_C = 15.0518 Mpc.
    assert!(
        close(m.best_distance_mpc.unwrap(), 15.0518, 1e-3),
        "{:?}",
        m.best_distance_mpc
    );
    // MajAx 4.37′ = 262.2″ (filled, unlike Lasair).
    assert!(close(m.major_axis_arcsec.unwrap(), 262.2, 1e-9));
    assert_eq!((m.mag, m.mag_filter.as_deref()), (Some(11.59), Some("B")));
    assert!(
        c.description.contains("supernova") && c.description.contains("NGC7814"),
        "{}",
        c.description
    );
    assert!(
        c.description.contains("7.9″") && c.description.contains(" E of "),
        "{}",
        c.description
    );
}

#[test]
fn ztf20aaelulu_is_a_supernova_in_m100() {
    let (ra, dec) = ztf_position("ZTF20aaelulu");
    let c = classify(store(), ra, dec);
    assert_eq!(c.classification, Class::SN, "{c:#?}");
    let m = c.best.as_ref().unwrap();
    assert_eq!(m.catalogue_object_id, "NGC4321");
    assert!(
        close(m.separation_arcsec, 6.659, 0.002),
        "{}",
        m.separation_arcsec
    );
    assert!(m.physical_separation_kpc.unwrap() < 1.0);
}

#[test]
fn ztf18aaqzpsv_is_the_3hsp_blazar() {
    let (ra, dec) = ztf_position("ZTF18aaqzpsv");
    let c = classify(store(), ra, dec);
    assert_eq!(c.classification, Class::AGN, "{c:#?}");
    let m = c.best.as_ref().unwrap();
    assert_eq!(m.catalogue_object_id, "3HSPJ174357.8+193509");
    assert_eq!(m.reliability, Reliability::Synonym);
    assert!(
        close(m.separation_arcsec, 0.129, 0.002),
        "{}",
        m.separation_arcsec
    );
    assert!(
        c.description.contains("active galactic nucleus"),
        "{}",
        c.description
    );
}

#[test]
fn gcvs_synonyms_are_variable_stars() {
    for (object, id, sep) in [
        ("ZTF17aaajnnn", "56599", 0.2),
        ("ZTF17aadcuwj", "14991", 0.665),
        ("ZTF18aawmdot", "58852", 0.284),
    ] {
        let (ra, dec) = ztf_position(object);
        let c = classify(store(), ra, dec);
        assert_eq!(c.classification, Class::VS, "{object}: {c:#?}");
        let m = c.best.as_ref().unwrap();
        assert_eq!(
            (
                m.catalogue_table_name.as_str(),
                m.catalogue_object_id.as_str()
            ),
            ("gcvs", id)
        );
        assert_eq!(m.reliability, Reliability::Synonym);
        assert!(
            close(m.separation_arcsec, sep, 0.006),
            "{object}: {}",
            m.separation_arcsec
        );
    }
}

#[test]
fn rubin_alerts_near_hp9_stars_are_bright_star_artefacts() {
    for (object, hip, sep) in [
        ("169298432621019290", "HIP 3016", 74.997),
        ("169298432895221807", "HIP 2979", 40.028),
        ("169298433314127898", "HIP 3285", 57.359),
        ("169298433324089478", "HIP 2714", 45.617),
    ] {
        let (ra, dec) = rubin_position(object);
        let c = classify(store(), ra, dec);
        assert_eq!(c.classification, Class::BS, "{object}: {c:#?}");
        let m = c.best.as_ref().unwrap();
        assert_eq!(m.catalogue_object_id, hip, "{object}");
        assert_eq!(m.reliability, Reliability::Association);
        assert!(
            close(m.separation_arcsec, sep, 0.002),
            "{object}: {}",
            m.separation_arcsec
        );
        assert!(c.description.contains("bright star"), "{}", c.description);
    }
}

#[test]
fn a_faint_star_does_not_claim_a_wide_area() {
    // 150″ north of HIP 2979 (Hp 9.52): outside its ~89″ radius → nothing else is near.
    let (ra, dec) = (9.48155918, -44.85250038 + 150.0 / 3600.0);
    let c = classify(store(), ra, dec);
    assert_eq!(c.classification, Class::ORPHAN, "{c:#?}");
}

#[test]
fn empty_sky_is_an_orphan() {
    let c = classify(store(), 100.0, -80.0);
    assert_eq!(c.classification, Class::ORPHAN, "{c:#?}");
    assert!(c.best.is_none() && c.matches.is_empty());
    assert_eq!(
        c.description,
        "No catalogued source is close enough to say what this transient is."
    );
    let cols = c.columns();
    assert_eq!(cols[0], ("classification", ColumnValue::Text("ORPHAN")));
    assert!(cols[1..cols.len() - 1]
        .iter()
        .all(|(_, v)| *v == ColumnValue::Null));
    let j = c.to_json();
    assert_eq!(j["classification"], "ORPHAN");
    assert!(j["crossmatches"].as_array().unwrap().is_empty());
}

/// NGC 988 has the Hp 7.13 star HIP 12055 superposed 52″ from its nucleus.
const NGC988: (f64, f64) = (38.865625, -9.356194444444444);
const HIP12055: (f64, f64) = (38.85195144, -9.35074005);

#[test]
fn a_star_synonym_outranks_a_galaxy_association() {
    let (ra, dec) = (HIP12055.0, HIP12055.1 + 0.3 / 3600.0);
    let c = classify(store(), ra, dec);
    assert_eq!(c.classification, Class::VS, "{c:#?}");
    let ids: Vec<(&str, Class, u32)> = c
        .matches
        .iter()
        .map(|m| (m.catalogue_object_id.as_str(), m.association_type, m.rank))
        .collect();
    assert_eq!(
        ids,
        [("HIP 12055", Class::VS, 1), ("NGC0988", Class::SN, 2)]
    );
}

#[test]
fn a_galaxy_association_outranks_a_bright_star_association() {
    // 40 % of the way from the galaxy centre to the star: 21″ from NGC 988 (2.2 kpc),
    // 31″ from HIP 12055 (inside its 154″ bright-star radius). Sherlock#155/#167: the host
    // must win.
    let t = 0.4;
    let (ra, dec) = (
        NGC988.0 + t * (HIP12055.0 - NGC988.0),
        NGC988.1 + t * (HIP12055.1 - NGC988.1),
    );
    let c = classify(store(), ra, dec);
    assert_eq!(c.classification, Class::SN, "{c:#?}");
    assert_eq!(c.matches.len(), 2);
    assert_eq!(c.matches[0].catalogue_object_id, "NGC0988");
    assert_eq!(
        (
            c.matches[1].catalogue_object_id.as_str(),
            c.matches[1].association_type
        ),
        ("HIP 12055", Class::BS)
    );
    assert_eq!(c.matches[1].rank, 2);
}

#[test]
fn one_star_in_two_catalogues_is_one_match() {
    // GCVS row 36 (an LB variable) is HIP 12298, 0.07″ apart. GCVS has the better priority
    // (4 vs 6), so it is the anchor; Hipparcos fills in the magnitude GCVS lacks.
    let (ra, dec) = (39.599124999999994 + 0.3 / 3600.0, 39.16941666666666);
    let c = classify(store(), ra, dec);
    assert_eq!(c.matches.len(), 1, "{c:#?}");
    let m = &c.matches[0];
    assert_eq!(
        (
            m.catalogue_table_name.as_str(),
            m.catalogue_object_id.as_str()
        ),
        ("gcvs", "36")
    );
    assert_eq!(m.catalogue_object_type.as_deref(), Some("LB"));
    assert_eq!(
        (m.mag, m.mag_filter.as_deref()),
        (Some(10.0812), Some("Hp"))
    );
    assert_eq!(
        (c.classification, m.reliability),
        (Class::VS, Reliability::Synonym)
    );
}

#[test]
fn json_uses_lasair_names_and_keeps_types() {
    let c = classify(store(), 0.814293, 16.1456989);
    let j = c.to_json();
    assert_eq!(j["classification"], "SN");
    assert_eq!(j["association_type"], "SN");
    assert_eq!(j["catalogue_table_name"], "openngc");
    assert_eq!(j["catalogue_object_id"], "NGC7814");
    assert_eq!(j["classificationReliability"], 2);
    assert!(j["classificationReliability"].is_i64());
    assert_eq!(j["best_distance_flag"], "sz");
    assert_eq!(j["z"], 0.003505);
    assert!(j["major_axis_arcsec"].is_f64());
    assert_eq!(j["description"], c.description.as_str());
    assert!(
        j.get("rank").is_none(),
        "rank is not a sherlock_classifications column"
    );
    let x = &j["crossmatches"][0];
    assert_eq!(x["rank"], 1);
    assert!(x["rank"].is_i64());
    for key in [
        "raDeg",
        "decDeg",
        "separationArcsec",
        "northSeparationArcsec",
        "eastSeparationArcsec",
        "physical_separation_kpc",
        "direct_distance",
        "best_distance",
        "best_distance_source",
        "photoZ",
        "photoZErr",
        "Mag",
        "MagFilter",
        "MagErr",
        "catalogue_object_type",
    ] {
        assert!(x.get(key).is_some(), "{key} missing");
    }
}

/// The typed row the pipeline carries says what Lasair's JSON row says, column for column,
/// for a galaxy host, a star and an orphan; and that JSON reads back into the same row.
#[test]
fn the_typed_row_agrees_with_the_json_row() {
    use solas_context::{SherlockRow, SHERLOCK_ROW_COLUMNS};
    for (ra, dec) in [
        (0.814293, 16.1456989),
        ztf_position("ZTF18aaqzpsv"),
        (123.0, -80.0),
    ] {
        let c = classify(store(), ra, dec);
        let row = SherlockRow::from(&c);
        let json = c.to_json();
        for (name, value) in SHERLOCK_ROW_COLUMNS.iter().zip(row.values()) {
            let want = json.get(*name).cloned().unwrap_or(serde_json::Value::Null);
            assert_eq!(value.to_json(), want, "({ra}, {dec}) {name}");
        }
        let back: SherlockRow = serde_json::from_value(json).unwrap();
        assert_eq!(back, row, "({ra}, {dec})");
    }
}
