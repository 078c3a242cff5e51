//! Great-circle separation, the one implementation every crate uses (catalogue cones,
//! context offsets, watchlist cones, the web's cone search).
//!
//! Vincenty's formula (an `atan2` of the cross and dot products) stays accurate from
//! micro-arcseconds to antipodal points, unlike the plain cosine formula (useless below
//! ~1″ in f64) or haversine (poor near 180°). Hand-written because it is three lines and
//! no astronomy crate here offers it without pulling in much more.

/// Great-circle separation, in arcseconds, between two positions in decimal degrees.
pub fn separation_arcsec(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    separation_rad(
        ra1.to_radians(),
        dec1.to_radians(),
        ra2.to_radians(),
        dec2.to_radians(),
    )
    .to_degrees()
        * 3600.0
}

/// Great-circle separation, in radians, between two positions in radians.
pub fn separation_rad(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (s1, c1) = lat1.sin_cos();
    let (s2, c2) = lat2.sin_cos();
    let (sd, cd) = (lon2 - lon1).sin_cos();
    let x = c2 * sd;
    let y = c1 * s2 - s1 * c2 * cd;
    let dot = s1 * s2 + c1 * c2 * cd;
    x.hypot(y).atan2(dot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separations_small_and_large() {
        // 1″ along the equator and along a meridian.
        assert!((separation_arcsec(10.0, 0.0, 10.0 + 1.0 / 3600.0, 0.0) - 1.0).abs() < 1e-9);
        assert!((separation_arcsec(10.0, 20.0, 10.0, 20.0 + 1.0 / 3600.0) - 1.0).abs() < 1e-9);
        // 1 mas at high declination: RA offset scaled by cos(dec), and in Dec.
        let d = 1e-3 / 3600.0;
        let s = separation_arcsec(0.0, 60.0, d / 60f64.to_radians().cos(), 60.0);
        assert!((s - 1e-3).abs() < 1e-9, "{s}");
        assert!((separation_arcsec(123.0, 45.0, 123.0, 45.0 + d) - 1e-3).abs() < 1e-9);
        // Whole degrees, across the pole, antipodes and across RA = 0.
        assert!((separation_arcsec(0.0, 0.0, 1.0, 0.0) - 3600.0).abs() < 1e-9);
        assert!((separation_arcsec(10.0, 89.0, 190.0, 89.0) - 7200.0).abs() < 1e-7);
        assert!((separation_arcsec(0.0, -90.0, 0.0, 90.0) - 648000.0).abs() < 1e-6);
        assert!((separation_arcsec(0.0, 0.0, 180.0, 0.0) - 648000.0).abs() < 1e-6);
        assert!((separation_arcsec(359.9, 0.0, 0.1, 0.0) - 720.0).abs() < 1e-6);
        assert!((separation_arcsec(359.9999999, 0.0, 0.0000001, 0.0) - 0.00072).abs() < 1e-9);
        assert!((separation_arcsec(0.0, 90.0, 123.0, 89.0) - 3600.0).abs() < 1e-6);
    }
}
