//! ZTF's apparent ("DC") magnitude of a detection: the reference image's flux at the
//! position plus (or, for a negative subtraction, minus) the difference flux, as
//! Lasair-ZTF shows it beside the difference magnitude. The reference zero points are
//! ZTF's fixed ones per filter; a difference or reference brighter than 12 magnitudes
//! above the zero point is capped there, as Lasair caps it.

/// ZTF's reference-image zero points for fid 1, 2, 3 (g, r, i).
const REF_ZERO_POINTS: [f64; 3] = [26.325, 26.275, 25.660];

/// 2.5 / ln 10: a magnitude error from a relative flux error.
const MAG_PER_LN: f64 = 1.0857;

/// One ZTF detection's fields the apparent magnitude needs.
#[derive(Debug, Clone, Copy)]
pub struct ZtfPhotometry {
    pub fid: i64,
    pub magpsf: f64,
    pub sigmapsf: f64,
    /// The nearest reference source's magnitude and error (within 30″).
    pub magnr: f64,
    pub sigmagnr: f64,
    /// The science image's zero point (0 or missing: the reference's is used).
    pub magzpsci: Option<f64>,
    /// `isdiffpos`: the subtraction was science minus reference.
    pub positive: bool,
}

/// The apparent magnitude and its error, or `None` when the fields cannot give one (an
/// unknown filter, no reference source, or a total flux at or below zero). Lasair then
/// shows the zero point instead, which is no magnitude of the object.
pub fn dc_mag(p: &ZtfPhotometry) -> Option<(f64, f64)> {
    let zp_ref = *REF_ZERO_POINTS.get(usize::try_from(p.fid - 1).ok()?)?;
    if ![p.magpsf, p.sigmapsf, p.magnr, p.sigmagnr]
        .iter()
        .all(|v| v.is_finite())
        || p.magnr <= 0.0
    {
        return None;
    }
    let zp_sci = p
        .magzpsci
        .filter(|z| z.is_finite() && *z != 0.0)
        .unwrap_or(zp_ref);
    let flux = |zp: f64, mag: f64| 10f64.powf(0.4 * (zp - mag).min(12.0));
    let reference = flux(zp_ref, p.magnr);
    let reference_err = p.sigmagnr / MAG_PER_LN * reference;
    let difference = flux(zp_sci, p.magpsf);
    let difference_err = p.sigmapsf / MAG_PER_LN * difference;
    let total = if p.positive {
        reference + difference
    } else {
        reference - difference
    };
    if total <= 0.0 {
        return None;
    }
    let err = reference_err.hypot(difference_err);
    Some((zp_sci - 2.5 * total.log10(), err / total * MAG_PER_LN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phot(positive: bool) -> ZtfPhotometry {
        ZtfPhotometry {
            fid: 2,
            magpsf: 18.0,
            sigmapsf: 0.05,
            magnr: 18.0,
            sigmagnr: 0.02,
            magzpsci: Some(26.275),
            positive,
        }
    }

    #[test]
    fn equal_reference_and_difference_make_the_source_0_75_mag_brighter() {
        // Twice the reference flux: 2.5 log10 2 = 0.7526 brighter.
        let (m, e) = dc_mag(&phot(true)).unwrap();
        assert!((m - (18.0 - 2.5 * 2f64.log10())).abs() < 1e-9, "{m}");
        let want = (0.02f64.hypot(0.05)) / 2.0;
        assert!((e - want).abs() < 1e-9, "{e} {want}");
    }

    #[test]
    fn a_fading_source_cancelling_its_reference_has_no_magnitude() {
        assert!(dc_mag(&phot(false)).is_none());
        let mut p = phot(false);
        p.magpsf = 19.0;
        let (m, _) = dc_mag(&p).unwrap();
        // 1 − 10^−0.4 of the reference flux remains.
        assert!((m - (18.0 - 2.5 * (1.0 - 10f64.powf(-0.4)).log10())).abs() < 1e-9);
    }

    #[test]
    fn an_unknown_filter_or_missing_reference_gives_none() {
        let mut p = phot(true);
        p.fid = 4;
        assert!(dc_mag(&p).is_none());
        let mut p = phot(true);
        p.magnr = f64::NAN;
        assert!(dc_mag(&p).is_none());
    }
}
