//! Equatorial (ICRS/J2000) ↔ galactic coordinates.

/// Right ascension of the north galactic pole (degrees, J2000).
pub const RA_NGP: f64 = 192.85948;
/// Declination of the north galactic pole as Lasair writes it (27.1283°; the IAU value is
/// 27.12825°). Kept so `glat` matches Lasair's stored values to the 4th decimal.
pub const DEC_NGP_LASAIR: f64 = 27.1283;
/// IAU J2000 declination of the north galactic pole.
pub const DEC_NGP: f64 = 27.12825;
/// Galactic longitude of the north celestial pole (J2000).
pub const L_NCP: f64 = 122.93192;

/// Galactic latitude (degrees) of an equatorial position, with Lasair's pole.
pub fn galactic_lat(ra_deg: f64, dec_deg: f64) -> f64 {
    let (a, d) = (ra_deg.to_radians(), dec_deg.to_radians());
    let (ap, dp) = (RA_NGP.to_radians(), DEC_NGP_LASAIR.to_radians());
    let s = dp.sin() * d.sin() + dp.cos() * d.cos() * (a - ap).cos();
    s.clamp(-1.0, 1.0).asin().to_degrees()
}

/// Galactic longitude (degrees, 0..360) of an equatorial position.
pub fn galactic_lon(ra_deg: f64, dec_deg: f64) -> f64 {
    equatorial_to_galactic(ra_deg, dec_deg).0
}

/// (l, b) in degrees, l in 0..360, using the IAU J2000 pole.
pub fn equatorial_to_galactic(ra_deg: f64, dec_deg: f64) -> (f64, f64) {
    let (a, d) = (ra_deg.to_radians(), dec_deg.to_radians());
    let (ap, dp) = (RA_NGP.to_radians(), DEC_NGP.to_radians());
    let sinb = dp.sin() * d.sin() + dp.cos() * d.cos() * (a - ap).cos();
    let b = sinb.clamp(-1.0, 1.0).asin();
    let y = d.cos() * (a - ap).sin();
    let x = d.sin() * dp.cos() - d.cos() * dp.sin() * (a - ap).cos();
    let l = (L_NCP.to_radians() - y.atan2(x))
        .to_degrees()
        .rem_euclid(360.0);
    (l, b.to_degrees())
}

/// (ra, dec) in degrees, ra in 0..360: the inverse of [`equatorial_to_galactic`].
pub fn galactic_to_equatorial(l_deg: f64, b_deg: f64) -> (f64, f64) {
    let (l, b) = (l_deg.to_radians(), b_deg.to_radians());
    let (ap, dp) = (RA_NGP.to_radians(), DEC_NGP.to_radians());
    let lo = L_NCP.to_radians();
    let sind = dp.sin() * b.sin() + dp.cos() * b.cos() * (lo - l).cos();
    let d = sind.clamp(-1.0, 1.0).asin();
    let y = b.cos() * (lo - l).sin();
    let x = b.sin() * dp.cos() - b.cos() * dp.sin() * (lo - l).cos();
    let a = (ap + y.atan2(x)).to_degrees().rem_euclid(360.0);
    (a, d.to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poles_and_centre() {
        // The north galactic pole has b = 90.
        assert!((galactic_lat(RA_NGP, DEC_NGP_LASAIR) - 90.0).abs() < 1e-6);
        // The galactic centre (Sgr A* region) is at l ≈ 0, b ≈ 0.
        let (l, b) = equatorial_to_galactic(266.40499, -28.93617);
        assert!(!(0.01..=359.99).contains(&l), "l = {l}");
        assert!(b.abs() < 0.01, "b = {b}");
    }

    #[test]
    fn round_trip() {
        for &(ra, dec) in &[(10.0, 20.0), (200.0, -60.0), (359.0, 1.0), (91.0, 45.0)] {
            let (l, b) = equatorial_to_galactic(ra, dec);
            let (ra2, dec2) = galactic_to_equatorial(l, b);
            assert!(
                (ra - ra2).abs() < 1e-9 && (dec - dec2).abs() < 1e-9,
                "{ra},{dec}"
            );
        }
    }

    #[test]
    fn golden_glat() {
        let g = galactic_lat(9.057050050707765, -44.117973609689805);
        assert!((g - -72.73667083272069).abs() < 1e-9, "{g}");
    }
}
