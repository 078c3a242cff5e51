//! fink-science's early SN Ia model for Rubin (`fink_science/rubin/random_forest_snia`,
//! `rfscore_rainbow_elasticc_nometa`): a Rainbow fit (Russeil et al. 2024: one blackbody
//! whose bolometric flux and temperature are sigmoids in time, fitted to every band at
//! once) to the rising part of a young transient, then a 50-tree forest trained on
//! ELAsTiCC. Features as actsnfink's `fit_rainbow` computes them with light-curve 0.10.0's
//! `RainbowFit`, the release the model was trained with.
//!
//! Cuts (actsnfink `filter_data_rainbow`): at least 7 sources with a flux; per band, the
//! fluxes at or above −10 nJy averaged per day (MJD rounded half to even) must never fall;
//! more bands must pass than `max(2, min(3, bands seen))`. Fluxes are float32 as Fink reads
//! them from the alert, and the arithmetic before the fit keeps numpy's types (float32
//! where numpy stays in float32), because the fit is flat in places and its end moves with
//! the last bits of its inputs.

use solas_core::{Alert, Band};

use crate::forest::Forest;
use crate::minuit;
use crate::numpy::{mean, median, pairwise_sum, ptp, std};
use crate::Outcome;

/// The forest's inputs, in its order (Fink's names: `delta_T` is Rainbow's `Tmax`,
/// `k_sig` its `t_color`).
pub const FEATURE_NAMES: [&str; 8] = [
    "npoints",
    "amplitude",
    "rise_time",
    "Tmin",
    "delta_T",
    "k_sig",
    "reduced_chi2",
    "lc_max",
];

/// Effective wavelengths (Å) fink-science gives the fit, in light-curve's band order.
const BANDS: [(Band, f64); 6] = [
    (Band::U, 3671.0),
    (Band::G, 4827.0),
    (Band::R, 6223.0),
    (Band::I, 7546.0),
    (Band::Z, 8691.0),
    (Band::Y, 9712.0),
];
const MIN_POINTS: usize = 7;
const LOW_BOUND: f32 = -10.0;

// light-curve 0.10.0's constants (CGS).
const PLANCK: f64 = 6.62607004e-27;
const LIGHT: f64 = 2.99792458e10;
const BOLTZMANN: f64 = 1.380649e-16;
const STEFAN_BOLTZMANN: f64 = 5.6703744191844314e-05;
/// The weight of the cost's barrier at each parameter's limits.
const BARRIER: f64 = 0.0001;

/// One source as the model reads it: Rubin's `midpointMjdTai`, band and `psfFlux` with its
/// error (nJy, float32 as the alert carries them; None when absent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    pub mjd: f64,
    pub band: Band,
    pub flux: Option<f32>,
    pub flux_err: Option<f32>,
}

/// The alert's sources: the history, then the new one (Fink's order).
pub fn sources(alert: &Alert) -> Vec<Source> {
    super::in_fink_order(alert)
        .map(|d| Source {
            mjd: d.mjd,
            band: d.band,
            flux: d.flux.map(|f| f as f32),
            flux_err: d.flux_err.map(|f| f as f32),
        })
        .collect()
}

/// Why an alert gets no features.
#[derive(Debug, Clone, PartialEq)]
pub enum Unfit {
    /// The model's cuts leave it out (Fink scores it −1).
    Cut(&'static str),
    /// The fit did not converge (Fink's `RuntimeError`: also −1).
    NotConverged,
}

/// The fit as light-curve sets it up: data scaled (times by their mean and standard
/// deviation, fluxes by their standard deviation), start and limits per parameter in the
/// order `reference_time, amplitude, rise_time, Tmin, Tmax, t_color`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub t: Vec<f64>,
    pub wave_cm: Vec<f64>,
    pub m: Vec<f64>,
    pub sigma: Vec<f64>,
    pub start: [f64; 6],
    pub limits: [(f64, f64); 6],
    pub average_nu: f64,
    t_scale: f64,
    m_scale: f32,
    /// The largest flux, by which fluxes were divided first (the last feature).
    lc_max: f32,
}

/// The sources with a flux (Fink masks the others), sorted by time; a missing error is NaN
/// (which the fit then refuses).
fn measured(sources: &[Source]) -> Vec<(f64, Band, f32, f32)> {
    let mut v: Vec<(f64, Band, f32, f32)> = sources
        .iter()
        .filter_map(|s| match s.flux {
            Some(f) if !f.is_nan() => Some((s.mjd, s.band, f, s.flux_err.unwrap_or(f32::NAN))),
            _ => None,
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// actsnfink's rising test for one band: its fluxes at or above the low bound, averaged per
/// day as pandas does (`groupby(...).mean()` on float32: a compensated float32 sum), never
/// falling from one day to the next.
fn band_rises(points: &[(f64, Band, f32, f32)], band: Band) -> bool {
    let mut days: Vec<(f64, f32, f32, usize)> = Vec::new();
    for (mjd, _, flux, _) in points.iter().filter(|p| p.1 == band && p.2 >= LOW_BOUND) {
        let day = mjd.round_ties_even();
        match days.iter_mut().find(|d| d.0 == day) {
            Some(d) => {
                let y = flux - d.2;
                let t = d.1 + y;
                d.2 = (t - d.1) - y;
                d.1 = t;
                d.3 += 1;
            }
            None => days.push((day, *flux, 0.0, 1)),
        }
    }
    if days.is_empty() {
        return false;
    }
    days.sort_by(|a, b| a.0.total_cmp(&b.0));
    let means: Vec<f32> = days.iter().map(|d| d.1 / d.3 as f32).collect();
    means.windows(2).all(|w| w[0] <= w[1])
}

/// The median gap between consecutive times within each band (light-curve's
/// `median_dt`).
fn median_gap_per_band(t: &[f64], bands: &[Band]) -> Option<f64> {
    let mut gaps = Vec::new();
    for (band, _) in BANDS {
        let tb: Vec<f64> = t
            .iter()
            .zip(bands)
            .filter(|(_, b)| **b == band)
            .map(|(t, _)| *t)
            .collect();
        gaps.extend(tb.windows(2).map(|w| w[1] - w[0]));
    }
    median(&gaps)
}

/// The cuts, then the fit's data, start and limits as light-curve 0.10.0 makes them.
pub fn problem(sources: &[Source]) -> Result<Problem, Unfit> {
    let points = measured(sources);
    if points.len() < MIN_POINTS {
        return Err(Unfit::Cut("fewer than 7 sources with a flux"));
    }
    let seen = BANDS
        .iter()
        .filter(|(b, _)| points.iter().any(|p| p.1 == *b))
        .count();
    let needed = seen.clamp(2, 3);
    let rising = BANDS
        .iter()
        .filter(|(b, _)| band_rises(&points, *b))
        .count();
    if rising <= needed {
        return Err(Unfit::Cut("too few bands rising"));
    }
    let t_raw: Vec<f64> = points.iter().map(|p| p.0).collect();
    if t_raw.windows(2).any(|w| w[0] == w[1]) {
        // light-curve refuses repeated times (a ValueError, which Fink scores −1).
        return Err(Unfit::Cut("two sources at one time"));
    }
    let bands: Vec<Band> = points.iter().map(|p| p.1).collect();
    let lc_max = points.iter().map(|p| p.2).fold(f32::NEG_INFINITY, f32::max);
    let flux: Vec<f32> = points.iter().map(|p| p.2 / lc_max).collect();
    let err: Vec<f32> = points.iter().map(|p| p.3 / lc_max).collect();
    // light-curve refuses non-finite fluxes and NaN errors (a ValueError: Fink's −1).
    if flux.iter().any(|v| !v.is_finite()) || err.iter().any(|v| v.is_nan()) {
        return Err(Unfit::Cut("a flux or error not usable once normalised"));
    }

    let t_shift = mean(&t_raw);
    // A zero spread scales by 1, as light-curve's scalers do.
    let t_scale = Some(std(&t_raw)).filter(|s| *s != 0.0).unwrap_or(1.0);
    let m_scale = Some(std(&flux)).filter(|s| *s != 0.0).unwrap_or(1.0);
    let t: Vec<f64> = t_raw.iter().map(|v| (v - t_shift) / t_scale).collect();
    // numpy: the float32 fluxes less a float64 shift of zeros (so float64), over the
    // float32 scale; the errors over the scale stay float32.
    let m: Vec<f64> = flux.iter().map(|v| *v as f64 / m_scale as f64).collect();
    let sigma: Vec<f64> = err.iter().map(|v| (v / m_scale) as f64).collect();
    let wave = |b: Band| -> f64 {
        BANDS
            .iter()
            .find(|(x, _)| *x == b)
            .map_or(f64::NAN, |(_, aa)| 1e-8 * aa)
    };
    let wave_cm: Vec<f64> = bands.iter().map(|b| wave(*b)).collect();
    let waves: Vec<f64> = BANDS.iter().map(|(_, aa)| 1e-8 * aa).collect();
    let average_nu = LIGHT / mean(&waves);

    // Start and limits: the sigmoid bolometric term, then the sigmoid temperature term.
    let m_amplitude = ptp(&m).unwrap_or(0.0);
    let t_amplitude = ptp(&t).unwrap_or(0.0);
    let argmax = m
        .iter()
        .enumerate()
        .fold(0, |best, (i, v)| if *v > m[best] { i } else { best });
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let mean_dt = median(&gaps).unwrap_or(0.0);
    let med_dt = median_gap_per_band(&t, &bands).ok_or(Unfit::Cut("no two sources in one band"))?;
    let (t_min, t_max) = t
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let start = [t[argmax], m_amplitude, 1.0, 7000.0, 10000.0, 10.0 * med_dt];
    let limits = [
        (t_min - 10.0 * t_amplitude, t_max + 10.0 * t_amplitude),
        (0.0, 20.0 * m_amplitude),
        (0.1 * mean_dt, 10.0 * t_amplitude),
        (1e3, 2e6),
        (1e3, 2e6),
        (2.0 * med_dt, 10.0 * t_amplitude),
    ];
    Ok(Problem {
        t,
        wave_cm,
        m,
        sigma,
        start,
        limits,
        average_nu,
        t_scale,
        m_scale,
        lc_max,
    })
}

/// The model's flux at scaled time `t` and wavelength `wave_cm` for parameters `p`.
fn model(p: &[f64], t: f64, wave_cm: f64, average_nu: f64) -> f64 {
    let (t0, amplitude, rise_time, temp_min, temp_max, t_color) =
        (p[0], p[1], p[2], p[3], p[4], p[5]);
    let dt = t - t0;
    let bol = if dt > -100.0 * rise_time {
        amplitude / ((-dt / rise_time).exp() + 1.0)
    } else {
        0.0
    };
    let temp = if dt <= -100.0 * t_color {
        temp_max
    } else if dt < 100.0 * t_color {
        temp_min + (temp_max - temp_min) / (1.0 + (dt / t_color).exp())
    } else {
        temp_min
    };
    let norm = (STEFAN_BOLTZMANN * temp.powf(4.0)) / std::f64::consts::PI / average_nu;
    let nu = LIGHT / wave_cm;
    let planck = (2.0 * PLANCK / LIGHT.powf(2.0)) * nu.powf(3.0)
        / (PLANCK * nu / (BOLTZMANN * temp)).exp_m1()
        / norm;
    planck * bol
}

/// light-curve's `MaximumLikelihood` cost: half the χ², plus a barrier of 1e-4 / (distance
/// to each limit as a share of the range), infinite outside the limits.
pub fn cost(problem: &Problem, p: &[f64]) -> f64 {
    let terms: Vec<f64> = problem
        .t
        .iter()
        .zip(&problem.wave_cm)
        .zip(problem.m.iter().zip(&problem.sigma))
        .map(|((t, w), (m, s))| {
            let z = (m - model(p, *t, *w, problem.average_nu)) / s;
            -(z * z) / 2.0
        })
        .collect();
    let mut result = -pairwise_sum(&terms);
    let barrier = |x: f64| if x > 0.0 { 1.0 / x } else { f64::INFINITY };
    let (lower, upper): (Vec<f64>, Vec<f64>) = p
        .iter()
        .zip(&problem.limits)
        .map(|(v, (lo, hi))| {
            let scale = hi - lo;
            (barrier((v - lo) / scale), barrier((hi - v) / scale))
        })
        .unzip();
    result += BARRIER * pairwise_sum(&lower);
    result += BARRIER * pairwise_sum(&upper);
    result
}

/// The forest's eight inputs: the number of sources (with or without a flux), the fitted
/// parameters in the data's units but `reference_time`, the reduced χ² and the largest
/// flux.
pub fn features(sources: &[Source]) -> Result<[f64; 8], Unfit> {
    let problem = problem(sources)?;
    // iminuit takes the cost's limits (light-curve's cost names them) as Minuit limits.
    let limits: Vec<Option<(f64, f64)>> = problem.limits.iter().map(|l| Some(*l)).collect();
    let fit = minuit::rainbow_loop(|p: &[f64]| cost(&problem, p), &problem.start, &limits);
    if !fit.valid {
        return Err(Unfit::NotConverged);
    }
    let v = &fit.values;
    let reduced_chi2 = fit.fval / (problem.t.len() - 6) as f64;
    Ok([
        sources.len() as f64,
        v[1] * problem.m_scale as f64,
        v[2] * problem.t_scale,
        v[3],
        v[4],
        v[5] * problem.t_scale,
        reduced_chi2,
        problem.lc_max as f64,
    ])
}

/// The model: Rainbow features and fink-science's forest.
pub struct RainbowSnIa {
    pub forest: Forest,
}

impl RainbowSnIa {
    pub fn score(&self, alert: &Alert) -> Outcome {
        if alert.survey != solas_core::Survey::Lsst {
            return Outcome::NotScored("not a Rubin alert".into());
        }
        match features(&sources(alert)) {
            Ok(x) if x[1] == 0.0 => Outcome::NotScored("fitted amplitude 0".into()),
            Ok(x) => super::forest_score(&self.forest, &FEATURE_NAMES, &x),
            Err(Unfit::Cut(why)) => Outcome::NotScored(why.into()),
            Err(Unfit::NotConverged) => Outcome::NotScored("Rainbow fit did not converge".into()),
        }
    }
}
