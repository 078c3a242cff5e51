//! Colours and blackbody temperatures from close pairs of detections in different bands.

use solas_core::Band;

use crate::extinction::wavelength_um;

/// Two detections closer than this (days) make a pair (Lasair: 40 minutes; its docs say 33).
pub const PAIR_WINDOW_DAYS: f64 = 40.0 / (24.0 * 60.0);
const HC_K: f64 = 14.387;

/// A colour measured from one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairColour {
    /// MJD of the later detection of the pair.
    pub mjd: f64,
    /// −2.5 log10(f_blue / f_red).
    pub colour_mag: f64,
    /// "blue-red", e.g. "g-i".
    pub bands: String,
    /// Blackbody temperature (kK) with that flux ratio; None if the solve fails.
    pub temp: Option<f64>,
}

fn bb(wl: f64, t: f64) -> f64 {
    wl.powi(-3) / ((HC_K / (wl * t)).exp() - 1.0)
}

fn dbb_dt(wl: f64, t: f64) -> f64 {
    let q = (HC_K / (wl * t)).exp();
    wl.powi(-3) * (HC_K / (wl * t * t)) * q / ((q - 1.0) * (q - 1.0))
}

/// Temperature (kK) whose blackbody has flux ratio `ratio` = B(λb)/B(λr): Newton's method
/// from 12 kK, at most 50 steps, |ΔT| < 0.001 to converge; negative T is rejected.
pub fn colour_temperature(ratio: f64, wl_blue: f64, wl_red: f64) -> Option<f64> {
    let mut t = 12.0;
    for _ in 0..50 {
        let f = bb(wl_blue, t) - ratio * bb(wl_red, t);
        let df = dbb_dt(wl_blue, t) - ratio * dbb_dt(wl_red, t);
        let dt = f / df;
        if !dt.is_finite() {
            return None;
        }
        t -= dt;
        if t <= 0.0 {
            return None;
        }
        if dt.abs() < 0.001 {
            return Some(t);
        }
    }
    None
}

/// Colour of a pair (later point first). Lasair only initialises its temperature guess when
/// the later point is the redder one, so it reports no temperature otherwise; Solas always
/// solves (the physics does not depend on which band came first).
pub fn pair_colour(later: (f64, Band, f64), earlier: (f64, Band, f64)) -> Option<PairColour> {
    let (mjd, b1, f1) = later;
    let (_, b2, f2) = earlier;
    let ((blue, fb), (red, fr)) = if b1 < b2 {
        ((b1, f1), (b2, f2))
    } else {
        ((b2, f2), (b1, f1))
    };
    let ratio = fb / fr;
    if !(ratio > 0.0 && ratio.is_finite()) {
        return None;
    }
    Some(PairColour {
        mjd,
        colour_mag: -2.5 * ratio.log10(),
        bands: format!("{}-{}", blue.as_str(), red.as_str()),
        temp: colour_temperature(ratio, wavelength_um(blue), wavelength_um(red)),
    })
}

/// Latest and penultimate pair colours from a time-sorted, extinction-corrected lightcurve
/// of (mjd, band, flux). Like Lasair: walk back over consecutive detections; the first
/// different-band pair inside the window is "latest" (even if its colour cannot be
/// computed), the next one is "penultimate".
pub fn latest_pairs(lc: &[(f64, Band, f64)]) -> (Option<PairColour>, Option<PairColour>) {
    let mut latest = None;
    let mut latest_done = false;
    for i in (1..lc.len()).rev() {
        let (later, earlier) = (lc[i], lc[i - 1]);
        if later.0 - earlier.0 < PAIR_WINDOW_DAYS && later.1 != earlier.1 {
            let c = pair_colour(later, earlier);
            if !latest_done {
                latest = c;
                latest_done = true;
            } else {
                return (latest, c);
            }
        }
    }
    (latest, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_reproduces_its_ratio() {
        for &t in &[3.0, 5.0, 10.0, 20.0] {
            let ratio = bb(0.5, t) / bb(0.74, t);
            let got = colour_temperature(ratio, 0.5, 0.74).unwrap();
            assert!((got - t).abs() < 0.01, "{t} -> {got}");
        }
        assert_eq!(colour_temperature(-1.0, 0.5, 0.74), None);
    }

    #[test]
    fn order_of_the_pair_does_not_matter() {
        // Same two fluxes, blue first or red first: same colour and temperature.
        let a = pair_colour((1.01, Band::I, 2000.0), (1.0, Band::G, 1000.0)).unwrap();
        let b = pair_colour((1.01, Band::G, 1000.0), (1.0, Band::I, 2000.0)).unwrap();
        assert_eq!(a.bands, "g-i");
        assert_eq!(b.bands, "g-i");
        assert!((a.colour_mag - 0.7525749891599529).abs() < 1e-12);
        assert_eq!(a.colour_mag, b.colour_mag);
        assert!(a.temp.is_some());
        assert_eq!(a.temp, b.temp);
    }

    #[test]
    fn walk_finds_latest_and_penultimate() {
        let lc = vec![
            (1.0, Band::G, 100.0),
            (1.01, Band::R, 120.0),
            (2.0, Band::R, 130.0),
            (2.001, Band::R, 131.0),
            (2.01, Band::I, 150.0),
        ];
        let (l, p) = latest_pairs(&lc);
        let l = l.unwrap();
        assert_eq!(l.mjd, 2.01);
        assert_eq!(l.bands, "r-i");
        let p = p.unwrap();
        assert_eq!(p.mjd, 1.01);
        assert_eq!(p.bands, "g-r");
        assert_eq!(latest_pairs(&[]), (None, None));
        // Negative flux: the pair is found but has no colour.
        let (l, p) = latest_pairs(&[(1.0, Band::G, -5.0), (1.01, Band::R, 10.0)]);
        assert_eq!((l, p), (None, None));
    }
}
