//! The early SN Ia score for ZTF (Leoni et al. 2022, A&A 663, A13), as fink-science runs
//! it (`fink_science/ztf/random_forest_snia/processor.py`, model
//! `default-model_sigmoid.obj`): twelve features from sigmoid fits to the rising g and r
//! light curves of the alert (its history, then the triggering candidate) and a
//! 1,000-tree random forest.
//!
//! Features per band (actsnfink's `get_sigmoid_features_dev_fast`): SNANA fluxes from the
//! magnitudes; points averaged per day (JD rounded half to even; the day's time is the
//! rounded mean); days at or below −10 dropped; with at least four days left, each must be
//! rising (the difference of an exponentially weighted mean, centre of mass 3, not
//! negative; the first passes). Then the mean flux/error, the number of days, a fit of
//! `c / (1 + e^(−a (t − b)))` with scipy's solver from actsnfink's starting guess
//! ([`crate::trf`]), and the mean squared difference of the normalised fluxes and the
//! normalised fitted ones (rounded to 4 decimals, zeros as 1e-5). A band that fails gives
//! `[0, 0, 0, 0.1, 1e8, 0]`; an alert is scored only when both bands have a fit.

use solas_core::{Alert, Band};

use crate::forest::Forest;
use crate::trf::{self, TrfError};
use crate::Outcome;

pub const FEATURE_NAMES: [&str; 12] = [
    "a_g",
    "b_g",
    "c_g",
    "snratio_g",
    "mse_g",
    "nrise_g",
    "a_r",
    "b_r",
    "c_r",
    "snratio_r",
    "mse_r",
    "nrise_r",
];

/// actsnfink's answer for a band it cannot fit.
const UNFIT: [f64; 6] = [0.0, 0.0, 0.0, 0.1, 1e8, 0.0];
const LOW_FLUX: f64 = -10.0;
const MIN_DAYS: usize = 4;
const MIN_RISING: usize = 2;
/// pandas `ewm(com=3)`: weights (1 − α)^i with α = 1 / (1 + 3).
const EWM_DECAY: f64 = 0.75;
/// ZTF's JD = MJD + this.
const MJD_TO_JD: f64 = 2_400_000.5;

/// One detection as actsnfink sees it: JD, SNANA flux and its error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub jd: f64,
    pub flux: f64,
    pub err: f64,
}

impl Point {
    /// From a ZTF PSF magnitude and its error, with fink-utils' constants
    /// (`mag2fluxcal_snana`).
    pub fn from_mag(jd: f64, mag: f64, sigma: f64) -> Point {
        Point {
            jd,
            flux: 10f64.powf(-0.4 * mag) * 1e11,
            err: 9.21034e10 * (-0.921034 * mag).exp() * sigma,
        }
    }
}

fn mean(x: &[f64]) -> f64 {
    crate::numpy::mean(x)
}

/// A band's points averaged per day, days in time order: (day, flux, error). A day's
/// time is its points' mean JD rounded; only days above the low-flux cut are kept.
fn daily(points: &[Point]) -> Vec<(f64, f64, f64)> {
    let mut days: Vec<i64> = points
        .iter()
        .map(|p| p.jd.round_ties_even() as i64)
        .collect();
    days.sort_unstable();
    days.dedup();
    // Sums in the points' own order, as np.bincount adds them.
    let mut sums = vec![(0.0, 0usize, 0.0, 0usize, 0.0); days.len()];
    for p in points {
        let Ok(k) = days.binary_search(&(p.jd.round_ties_even() as i64)) else {
            continue;
        };
        let s = &mut sums[k];
        if !p.flux.is_nan() {
            s.0 += p.flux;
            s.1 += 1;
            s.4 += p.jd;
        }
        if !p.err.is_nan() {
            s.2 += p.err;
            s.3 += 1;
        }
    }
    sums.into_iter()
        .map(|(flux, n, err, n_err, jd)| {
            let n = n as f64;
            ((jd / n).round_ties_even(), flux / n, err / n_err as f64)
        })
        // NaN (a day without a flux) fails the cut as in numpy.
        .filter(|(_, flux, _)| *flux > LOW_FLUX)
        .collect()
}

/// Whether every day rises: the differences of pandas' `ewm(com=3).mean()` (adjusted
/// weights) are not negative.
fn all_rising(flux: &[f64]) -> bool {
    let mut avg = flux[0];
    let mut old_wt = 1.0;
    for &cur in &flux[1..] {
        let previous = avg;
        old_wt *= EWM_DECAY;
        if avg != cur {
            avg = (old_wt * avg + cur) / (old_wt + 1.0);
        }
        old_wt += 1.0;
        if avg - previous < 0.0 {
            return false;
        }
    }
    true
}

fn sigmoid(t: f64, [a, b, c]: [f64; 3]) -> f64 {
    c / (1.0 + (-a * (t - b)).exp())
}

/// actsnfink's starting guess for a fit: the slope between the faintest and the brightest
/// day (in days' indices per day), the brightest flux, and the midpoint that puts the first
/// flux on the curve.
pub fn sigmoid_guess(t: &[f64], flux: &[f64]) -> [f64; 3] {
    // The first extreme, as np.argmax and np.argmin.
    let first = |better: fn(f64, f64) -> bool| {
        (0..flux.len()).fold(
            0,
            |best, i| if better(flux[i], flux[best]) { i } else { best },
        )
    };
    let (imax, imin) = (first(|a, b| a > b), first(|a, b| a < b));
    let slope = if t[imax] - t[0] > 0.0 {
        (imax as f64 - imin as f64) / (t[imax] - t[imin])
    } else {
        1.0
    };
    let f0 = if flux[0] > 0.0 { flux[0] } else { 0.0 };
    let c = flux[imax];
    let b = if f0 != 0.0 && c / f0 != 1.0 {
        (c / f0 - 1.0).ln() / slope
    } else {
        1.0
    };
    [slope, b, c]
}

/// actsnfink's `fit_sigmoid`: its starting guess, then scipy's least squares on the
/// absolute residuals.
pub fn fit_sigmoid(t: &[f64], flux: &[f64]) -> Result<trf::Solution<3>, TrfError> {
    trf::least_squares(
        |x: &[f64; 3], out: &mut [f64]| {
            for ((o, t), y) in out.iter_mut().zip(t).zip(flux) {
                *o = (y - sigmoid(*t, *x)).abs();
            }
        },
        sigmoid_guess(t, flux),
        t.len(),
    )
}

/// A band's curve as actsnfink fits it, when it does: days since the first, and each
/// day's mean flux and error.
#[derive(Debug, Clone, PartialEq)]
pub struct RisingCurve {
    pub t: Vec<f64>,
    pub flux: Vec<f64>,
    pub err: Vec<f64>,
}

/// The band's daily curve if it has at least four days and every day rises.
pub fn rising_curve(points: &[Point]) -> Option<RisingCurve> {
    let days = daily(points);
    if days.len() < MIN_DAYS.max(MIN_RISING) {
        return None;
    }
    let flux: Vec<f64> = days.iter().map(|d| d.1).collect();
    if !all_rising(&flux) {
        return None;
    }
    Some(RisingCurve {
        t: days.iter().map(|d| d.0 - days[0].0).collect(),
        flux,
        err: days.iter().map(|d| d.2).collect(),
    })
}

/// The six features of one band's points (in the alert's order).
fn band_features(points: &[Point]) -> Result<[f64; 6], TrfError> {
    let Some(RisingCurve { t, flux, err }) = rising_curve(points) else {
        return Ok(UNFIT);
    };
    let ratio: Vec<f64> = flux.iter().zip(&err).map(|(f, e)| f / e).collect();
    let p = fit_sigmoid(&t, &flux)?.x;
    let predicted: Vec<f64> = t
        .iter()
        .map(|t| {
            let v = (sigmoid(*t, p) * 1e4).round_ties_even() / 1e4;
            if v == 0.0 {
                1e-5
            } else {
                v
            }
        })
        .collect();
    // Python's sum(): left to right.
    let (total, total_predicted) = (
        flux.iter().fold(0.0, |a, v| a + v),
        predicted.iter().fold(0.0, |a, v| a + v),
    );
    let squares: Vec<f64> = flux
        .iter()
        .zip(&predicted)
        .map(|(f, q)| {
            let d = f / total - q / total_predicted;
            d * d
        })
        .collect();
    Ok([
        p[0],
        p[1],
        p[2],
        mean(&ratio),
        mean(&squares),
        t.len() as f64,
    ])
}

/// The twelve features from detections in fink's order (band, JD, magnitude, error).
pub fn features_of(points: &[(Band, Point)]) -> Result<[f64; 12], TrfError> {
    let band = |b: Band| -> Vec<Point> {
        points
            .iter()
            .filter(|(pb, _)| *pb == b)
            .map(|(_, p)| *p)
            .collect()
    };
    let g = band_features(&band(Band::G))?;
    let r = band_features(&band(Band::R))?;
    let mut out = [0.0; 12];
    out[..6].copy_from_slice(&g);
    out[6..].copy_from_slice(&r);
    Ok(out)
}

/// An alert's detections as actsnfink's points, in fink's order.
pub fn points(alert: &Alert) -> Vec<(Band, Point)> {
    super::in_fink_order(alert)
        .filter_map(|d| {
            Some((
                d.band,
                Point::from_mag(d.mjd + MJD_TO_JD, d.mag?, d.mag_err?),
            ))
        })
        .collect()
}

/// The early SN Ia model: actsnfink's features and fink-science's forest.
pub struct EarlySnIa {
    pub forest: Forest,
}

impl EarlySnIa {
    /// fink-science's cuts (four detections, at most 20 in the survey's history, a host
    /// that may hold a supernova), then the features and the forest.
    pub fn score(&self, alert: &Alert, host_ok: bool) -> Outcome {
        if let Err(cut) = super::fink_ztf_cuts(alert, 4) {
            return cut;
        }
        if !host_ok {
            return Outcome::NotScored("context: a star, CV or AGN".into());
        }
        let x = match features_of(&points(alert)) {
            Ok(x) => x,
            Err(e) => return Outcome::Missing(format!("sigmoid fit: {e}")),
        };
        if x[0] == 0.0 || x[6] == 0.0 {
            return Outcome::NotScored("no rising fit in both g and r".into());
        }
        super::forest_score(&self.forest, &FEATURE_NAMES, &x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_falling_day_stops_the_fit() {
        let f = [10.0, 20.0, 30.0, 40.0];
        assert!(all_rising(&f));
        assert!(!all_rising(&[10.0, 40.0, 30.0, 20.0]));
    }
}
