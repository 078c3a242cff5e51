//! kndetect's kilonova score for ZTF (Biswas et al. 2022), as fink-science runs it
//! (`fink_science/ztf/kilonova/processor.py`, model `partial.pkl`): ten features from a
//! fit of three principal components to the g and r light curves of the alert (its
//! history, then the triggering candidate), and a 30-tree random forest.
//!
//! Features per band (`kndetect/features.py`): fluxes from magnitudes with SNANA's zero
//! point; the points within ±50 days (exclusive) of the brightest, each put in the nearest
//! of 401 bins of 0.25 d (ties to even, as `np.around`); if the brightest flux exceeds 200
//! and two points remain, the coefficients minimising χ² plus `(max/σ_max)²` times the
//! penalty on the second and third and on a negative first, within [-2, 2] ([`crate::fit`]);
//! the fit's RMS normalised residual; the brightest flux. A band that cannot be fitted
//! gives zeros, and an alert without a fit in both bands is not scored (fink gives it 0).

use std::path::Path;

use solas_core::{Alert, Band};

use crate::forest::Forest;
use crate::{ModelError, Outcome};

/// 0.25 d a bin, 401 bins: the window is 100 days wide.
const BIN_DAYS: f64 = 0.25;
const FLUX_LIMIT: f64 = 200.0;
const BOUNDS: (f64, f64) = (-2.0, 2.0);
/// ZTF's JD = MJD + this.
const MJD_TO_JD: f64 = 2_400_000.5;

pub const FEATURE_NAMES: [&str; 10] = [
    "coeff1_g",
    "coeff2_g",
    "coeff3_g",
    "residuo_g",
    "maxflux_g",
    "coeff1_r",
    "coeff2_r",
    "coeff3_r",
    "residuo_r",
    "maxflux_r",
];

/// The three principal components, 401 values each.
pub struct Pcs(Vec<[f64; 3]>);

impl Pcs {
    /// Three whitespace-separated rows of numbers (`numpy.savetxt`), `#` comments allowed.
    pub fn read(path: &Path) -> Result<Pcs, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Pcs::parse(&text).map_err(|why| ModelError::Invalid {
            path: path.to_path_buf(),
            why,
        })
    }

    pub fn parse(text: &str) -> Result<Pcs, String> {
        let rows: Vec<Vec<f64>> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().map(str::parse).collect())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not numbers: {e}"))?;
        if rows.len() != 3 || rows.iter().any(|r| r.len() != rows[0].len()) || rows[0].len() < 3 {
            return Err("expected 3 rows of equal length".into());
        }
        if rows[0].len().is_multiple_of(2) {
            return Err("the number of bins must be odd (a central bin)".into());
        }
        Ok(Pcs((0..rows[0].len())
            .map(|i| [rows[0][i], rows[1][i], rows[2][i]])
            .collect()))
    }

    fn bins(&self) -> usize {
        self.0.len()
    }
}

/// One detection as kndetect sees it: JD, SNANA flux and its error.
#[derive(Debug, Clone, Copy)]
struct Point {
    jd: f64,
    flux: f64,
    err: f64,
}

/// SNANA's calibrated flux (zero point 27.5) and its error from a PSF magnitude, with
/// fink-utils' constants (`mag2fluxcal_snana`).
fn fluxcal(mag: f64, sigma: f64) -> (f64, f64) {
    (
        10f64.powf(-0.4 * mag) * 1e11,
        9.21034e10 * (-0.921034 * mag).exp() * sigma,
    )
}

/// Features of one band: three coefficients, residual, brightest flux (zeros if unfit).
fn band_features(points: &[Point], pcs: &Pcs) -> [f64; 5] {
    // The first brightest point, as np.argmax.
    let Some(brightest) = points
        .iter()
        .copied()
        .reduce(|a, b| if b.flux > a.flux { b } else { a })
    else {
        return [0.0; 5];
    };
    let half = (pcs.bins() - 1) as f64 / 2.0;
    let span = BIN_DAYS * (pcs.bins() - 1) as f64;
    let (start, end) = (brightest.jd - span / 2.0, brightest.jd + span / 2.0);
    let kept: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.jd > start && p.jd < end)
        .collect();
    if !(brightest.flux > FLUX_LIMIT && kept.len() >= 2) {
        return [0.0; 5];
    }
    let max = brightest.flux;
    let weight = {
        let r = max / brightest.err;
        r * r
    };
    let rows: Vec<([f64; 3], f64, f64)> = kept
        .iter()
        .map(|p| {
            let bin = ((p.jd - brightest.jd) / BIN_DAYS + half).round_ties_even() as usize;
            (pcs.0[bin.min(pcs.bins() - 1)], p.flux / max, p.err / max)
        })
        .collect();
    let c = crate::fit::penalised_pcs(&rows, weight, BOUNDS);
    let mean_sq = rows
        .iter()
        .map(|(p, y, e)| {
            let d = c[0] * p[0] + c[1] * p[1] + c[2] * p[2] - y;
            (d * d) / (e * e)
        })
        .sum::<f64>()
        / rows.len() as f64;
    [c[0], c[1], c[2], mean_sq.sqrt(), max]
}

/// The ten features of an alert (g then r), from its detections in fink's order: the
/// history as the packet lists it, then the triggering candidate.
pub fn features(alert: &Alert, pcs: &Pcs) -> [f64; 10] {
    let in_band = |band: Band| -> Vec<Point> {
        super::in_fink_order(alert)
            .filter(|d| d.band == band)
            .filter_map(|d| {
                let (flux, err) = fluxcal(d.mag?, d.mag_err?);
                (!flux.is_nan()).then_some(Point {
                    jd: d.mjd + MJD_TO_JD,
                    flux,
                    err,
                })
            })
            .collect()
    };
    let g = band_features(&in_band(Band::G), pcs);
    let r = band_features(&in_band(Band::R), pcs);
    let mut out = [0.0; 10];
    out[..5].copy_from_slice(&g);
    out[5..].copy_from_slice(&r);
    out
}

/// The kilonova model: kndetect's forest and components.
pub struct Kilonova {
    pub forest: Forest,
    pub pcs: Pcs,
}

impl Kilonova {
    /// fink-science's cuts, then the features and the forest. `host_ok` says the context
    /// does not place the object on a star, a CV or an AGN (fink asks SIMBAD for an
    /// extragalactic or unknown match).
    pub fn score(&self, alert: &Alert, host_ok: bool) -> Outcome {
        let ztf = match super::fink_ztf_cuts(alert, 2) {
            Ok(ztf) => ztf,
            Err(cut) => return cut,
        };
        let Some(jdstarthist) = ztf.jdstarthist else {
            return Outcome::Missing("candidate lacks jdstarthist".into());
        };
        let last = alert
            .detections
            .first()
            .map(|d| d.mjd + MJD_TO_JD)
            .unwrap_or(f64::NAN);
        // NaN (no trigger time) fails the cut too.
        if (last - jdstarthist).partial_cmp(&20.0) != Some(std::cmp::Ordering::Less) {
            return Outcome::NotScored("first detected 20 days or more ago".into());
        }
        if !host_ok {
            return Outcome::NotScored("context: a star, CV or AGN".into());
        }
        let x = features(alert, &self.pcs);
        if x[0] == 0.0 || x[5] == 0.0 {
            return Outcome::NotScored("no fit in both g and r".into());
        }
        super::forest_score(&self.forest, &FEATURE_NAMES, &x)
    }
}
