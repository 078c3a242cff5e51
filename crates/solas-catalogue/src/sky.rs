//! Spherical geometry shared by loading, the store and its users.

/// Great-circle separation in arcsec between two (RA, Dec) positions in degrees.
///
/// Vincenty's formula (atan2 of the cross and dot products): well-conditioned at every
/// separation, unlike the plain cosine formula (bad below ~1″) or haversine (bad near 180°).
/// Double precision gives errors of order 1e-10″, far below the 1 mas requirement.
pub fn separation_arcsec(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (sd1, cd1) = dec1.to_radians().sin_cos();
    let (sd2, cd2) = dec2.to_radians().sin_cos();
    let (sdra, cdra) = (ra2 - ra1).to_radians().sin_cos();
    let a = cd2 * sdra;
    let b = cd1 * sd2 - sd1 * cd2 * cdra;
    let num = a.hypot(b);
    let den = sd1 * sd2 + cd1 * cd2 * cdra;
    num.atan2(den).to_degrees() * 3600.0
}

/// Unit vector of a position in degrees; the store pre-filters rows with dot products.
pub(crate) fn unit_vector(ra_deg: f64, dec_deg: f64) -> [f64; 3] {
    let (sr, cr) = ra_deg.to_radians().sin_cos();
    let (sd, cd) = dec_deg.to_radians().sin_cos();
    [cd * cr, cd * sr, sd]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_separations() {
        assert!((separation_arcsec(0.0, 0.0, 1.0, 0.0) - 3600.0).abs() < 1e-9);
        assert!((separation_arcsec(10.0, 89.0, 190.0, 89.0) - 7200.0).abs() < 1e-7);
        assert!((separation_arcsec(0.0, -90.0, 0.0, 90.0) - 648000.0).abs() < 1e-6);
        // 1 mas apart in Dec, near the pole and at the equator.
        let d = 1e-3 / 3600.0;
        assert!((separation_arcsec(123.0, 45.0, 123.0, 45.0 + d) - 1e-3).abs() < 1e-9);
        assert!((separation_arcsec(359.9999999, 0.0, 0.0000001, 0.0) - 0.00072).abs() < 1e-9);
    }
}
