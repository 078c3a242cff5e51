//! Per-source radius rules: the bright-star radius that grows with brightness, and the
//! galaxy "within the semi-major axis" cut.

/// Synonym radius when a catalogue gives a synonym class but no radius (Sherlock's global
/// `synonym radius arcsec`; its docs still say 1.5″, its code uses 1.3″).
pub const DEFAULT_SYNONYM_RADIUS_ARCSEC: f64 = 1.3;

/// Bright-star rule: `r = 10^(A − B·mag)` arcsec, clamped to `[MIN, MAX]`.
///
/// Why this shape: the scattered light, ghosts and spikes around a star that make false
/// detections follow the outer PSF wing, which falls roughly as r⁻⁴ (a Moffat profile with
/// β ≈ 2). The radius where the wing drops below a fixed surface brightness therefore goes as
/// flux^(1/4), i.e. log10 r falls by 0.4/4 = 0.1 per magnitude. `A` is set so that a
/// Hp ≈ 9.5 star reaches ~90″ (the Rubin commissioning alerts lie 40–75″ from Hp 8.9–9.9
/// Hipparcos stars), which puts Hp = 3 at ~400″ and Hp = 0 at the 600″ cap. Faint stars get
/// small radii (mag 15: 25″, mag 18: 13″, floor 5″), much tighter than Sherlock, whose
/// generous radius made BS beat real hosts (sherlock#155, #167).
pub const BRIGHT_STAR_A: f64 = 2.9;
/// See [`BRIGHT_STAR_A`].
pub const BRIGHT_STAR_B: f64 = 0.1;
/// Smallest bright-star radius, arcsec (also used for stars without a magnitude).
pub const BRIGHT_STAR_MIN_ARCSEC: f64 = 5.0;
/// Largest bright-star radius, arcsec.
pub const BRIGHT_STAR_MAX_ARCSEC: f64 = 600.0;

/// Association radius around a bright star of magnitude `mag`, arcsec. Monotonic: brighter
/// (smaller `mag`) never gives a smaller radius. No magnitude → the minimum, because an
/// unknown star must not claim a wide area.
pub fn bright_star_radius_arcsec(mag: Option<f64>) -> f64 {
    match mag.filter(|m| m.is_finite()) {
        Some(m) => 10f64
            .powf(BRIGHT_STAR_A - BRIGHT_STAR_B * m)
            .clamp(BRIGHT_STAR_MIN_ARCSEC, BRIGHT_STAR_MAX_ARCSEC),
        None => BRIGHT_STAR_MIN_ARCSEC,
    }
}

/// Sherlock's stretch factor for the semi-major-axis cut, chosen by the major-axis
/// *diameter* (Sherlock's `smaj` column is the catalogue's major-axis diameter): 2.5 below
/// 10′, 2.5 × 0.7 below 100′, 2.5 × 0.5 beyond (very big galaxies have generous outer
/// isophotes already).
pub fn semi_major_axis_stretch(major_axis_diameter_arcsec: f64) -> f64 {
    if major_axis_diameter_arcsec < 600.0 {
        2.5
    } else if major_axis_diameter_arcsec < 6000.0 {
        2.5 * 0.7
    } else {
        2.5 * 0.5
    }
}

/// Angular association radius for a galaxy that has neither a size nor a distance, in a
/// catalogue that relies on both (`within_semi_major_axis`): nothing else bounds its reach,
/// and a catalogue searched out to 30′ for M31-sized galaxies would otherwise claim
/// everything within 30′ of a small anonymous one. 60″ is Sherlock's spec-galaxy radius.
pub const UNSIZED_GALAXY_RADIUS_ARCSEC: f64 = 60.0;

/// Galaxy cut: an association is kept only when the transient lies inside the stretched
/// semi-major axis, `sep < a × stretch(2a)`. Sherlock writes it `sep < smaj/2 × s` with
/// `smaj` the diameter, so for the same galaxy the two agree. A galaxy without a size is
/// kept (nothing to cut on), as in Sherlock.
pub fn within_semi_major_axis(sep_arcsec: f64, semi_major_axis_arcsec: Option<f64>) -> bool {
    match semi_major_axis_arcsec.filter(|a| a.is_finite() && *a > 0.0) {
        Some(a) => sep_arcsec < a * semi_major_axis_stretch(2.0 * a),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bright_star_radius_is_monotonic_and_sized() {
        let r = |m: f64| bright_star_radius_arcsec(Some(m));
        assert!((60.0..=120.0).contains(&r(9.0)) && (60.0..=120.0).contains(&r(10.0)));
        assert!(r(3.0) > 180.0, "Hp 3 gets several arcmin: {}", r(3.0));
        assert!(r(15.0) < 30.0);
        assert_eq!(r(-1.5), BRIGHT_STAR_MAX_ARCSEC);
        assert_eq!(r(30.0), BRIGHT_STAR_MIN_ARCSEC);
        assert_eq!(bright_star_radius_arcsec(None), BRIGHT_STAR_MIN_ARCSEC);
        let mut last = f64::INFINITY;
        for i in -20..250 {
            let v = r(i as f64 / 10.0);
            assert!(v <= last);
            last = v;
        }
    }

    #[test]
    fn semi_major_axis_cut() {
        // NGC 7814: MajAx 4.37′ → a = 131.1″, stretch 2.5 → 327.75″.
        let a = Some(4.37 * 60.0 / 2.0);
        assert!(within_semi_major_axis(7.9, a));
        assert!(within_semi_major_axis(327.0, a));
        assert!(!within_semi_major_axis(328.0, a));
        // A 20′ galaxy (a = 600″) uses 2.5 × 0.7.
        assert!(!within_semi_major_axis(1051.0, Some(600.0)));
        assert!(within_semi_major_axis(1049.0, Some(600.0)));
        assert_eq!(semi_major_axis_stretch(7000.0), 1.25);
        assert!(within_semi_major_axis(1e6, None));
    }
}
