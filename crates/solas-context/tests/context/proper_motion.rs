//! Stars are matched where they are at the alert's epoch. Barnard's star (Gaia DR3
//! 4472832130942575872: epoch 2016.0, μα* −801.551, μδ 10362.394 mas/yr) is 104″ from its
//! catalogue position by 2026; an alert on it then must be called a star, not an orphan.
//! The reference positions come from astropy 8.0.2's `SkyCoord.apply_space_motion` (no
//! distance or radial velocity given, as the catalogue has none).

use solas_catalogue::Store;
use solas_context::{classify, classify_at, julian_year, Class};

const CATALOGUE: &str = "\
source_id,ra,dec,pmra,pmdec,parallax,phot_g_mean_mag
4472832130942575872,269.44850252543836,4.739420051112412,-801.551,10362.394,546.976,8.195
4472832130942575999,269.45850252543836,4.749420051112412,3.0,-4.0,,15.2
4472832130942576000,269.43,4.73,,,,16.1
";

/// astropy: Barnard's star at 2026.0 and at 1991.25.
const AT_2026: (f64, f64) = (269.4462682626982, 4.76820447285995);
const AT_1991: (f64, f64) = (269.45403152541274, 4.668178607437495);

fn store(dir: &std::path::Path) -> Store {
    std::fs::write(dir.join("gaia.csv"), CATALOGUE).unwrap();
    std::fs::write(
        dir.join("gaia.toml"),
        r#"
name = "gaia_dr3"
kind = "star"
[source]
path = "gaia.csv"
format = "csv"
[columns]
ra = "ra"
dec = "dec"
ra_unit = "deg"
id = "source_id"
mags = [{ column = "phot_g_mean_mag", filter = "G" }]
pm_ra = "pmra"
pm_dec = "pmdec"
epoch = 2016.0
parallax = "parallax"
[search]
synonym_radius_arcsec = 1.0
synonym_class = "VS"
association_radius_arcsec = 2.0
association_class = "VS"
"#,
    )
    .unwrap();
    let mut store = Store::open(&dir.join("store")).unwrap();
    store.add(&dir.join("gaia.toml")).unwrap();
    store
}

#[test]
fn barnards_star_is_matched_where_it_is_at_the_alerts_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    // Barnard's star alone is fast enough to be indexed again among the movers.
    let movers = std::fs::read_to_string(tmp.path().join("store/gaia_dr3/movers/manifest.toml"))
        .expect("a movers table");
    assert!(movers.contains("rows = 1\n"), "{movers}");
    // The store keeps each star's parallax and proper motion with it.
    let mut near = Vec::new();
    store.cone_at(0, AT_2026.0, AT_2026.1, 1.0, Some(2026.0), &mut near);
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].parallax_mas, Some(546.976));
    assert_eq!(near[0].pm_dec_mas_yr, Some(10362.394));
    for (epoch, (ra, dec)) in [(2026.0, AT_2026), (1991.25, AT_1991)] {
        let c = classify_at(&store, ra, dec, Some(epoch));
        assert_eq!(c.classification, Class::VS, "{epoch}: {c:#?}");
        let m = c.best.as_ref().unwrap();
        assert_eq!(m.catalogue_object_id, "4472832130942575872");
        // Moved to within 5 mas of astropy's position.
        assert!(
            m.separation_arcsec < 0.005,
            "{epoch}: {}″",
            m.separation_arcsec
        );
        assert!((m.ra_deg - ra).abs() * 3.6e6 * dec.to_radians().cos() < 5.0);
        assert!((m.dec_deg - dec).abs() * 3.6e6 < 5.0);
        // At catalogue positions (Sherlock's way) the star is 104″ away: nothing matches.
        assert_eq!(classify(&store, ra, dec).classification, Class::ORPHAN);
    }
    // An MJD becomes the epoch: 2026-01-01 is MJD 61041.
    assert!((julian_year(61_041.0) - 2026.0).abs() < 0.01);
    // Slow stars are moved too (5 mas/yr × 10 yr), and found through the margin.
    let slow = (269.45850252543836, 4.749420051112412);
    let c = classify_at(&store, slow.0, slow.1, Some(2026.0));
    let m = c.best.as_ref().expect("the slow star");
    assert_eq!(m.catalogue_object_id, "4472832130942575999");
    assert!(
        (m.separation_arcsec - 0.05).abs() < 0.001,
        "{}",
        m.separation_arcsec
    );
    // A star without a proper motion stays where it is.
    let c = classify_at(&store, 269.43, 4.73, Some(2026.0));
    assert_eq!(c.best.unwrap().catalogue_object_id, "4472832130942576000");
}
