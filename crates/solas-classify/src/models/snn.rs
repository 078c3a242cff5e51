//! SuperNNova (Möller & de Boissière 2020) as fink-science runs it on Rubin alerts
//! (`fink_science/rubin/snn/processor.py`, model `elasticc_binary_broad/SN_vs_other`): a
//! recurrent network over the alert's light curve (its previous sources, then the new one),
//! exported once to ONNX by `tools/models/snn_reference.py` and evaluated by tract.
//!
//! The input rows are SuperNNova's own (`validate_onthefly.format_data`, `make_dataset.
//! pivot_dataframe_single_from_df`, `training_utils.normalize_arr`), reproduced here:
//! fluxes to SNANA's zero point 27.5 (float32, as Fink computes them); sources sorted by
//! time and gathered into epochs (a new epoch when more than 0.33 d after the current one's
//! start); per epoch and band the source with the smallest error; one row per epoch with
//! the flux and error of each band (0 where absent), the days since the previous epoch and
//! the one-hot of the bands present; the 13 numbers clipped, logged and standardised with
//! the training set's table. The model's bands are `ugrizY`: Rubin's `y` matches none, as
//! in Fink, so a `y` source adds nothing but an epoch of zeros.

use tract_onnx::prelude::*;

use solas_core::{Alert, Band};

/// SNANA's FLUXCAL from Rubin's nJy: 10^(-(31.4 - 27.5) / 2.5), applied in float32.
fn njy_to_fluxcal() -> f32 {
    10f64.powf(-(31.4 - 27.5) / 2.5) as f32
}

/// Sources within this many days of an epoch's first belong to it.
const EPOCH_DAYS: f64 = 0.33;

/// One source as SuperNNova reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub mjd: f64,
    /// `u g r i z y` as Rubin names them.
    pub band: char,
    /// Rubin's psfFlux and its error (nJy), float32 as the alert carries them.
    pub flux: f32,
    pub flux_err: f32,
}

/// The normalisation table and feature layout (`norm.json`, written with the ONNX file).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Norm {
    pub features: Vec<String>,
    pub normalised: Vec<String>,
    pub min: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub list_filters: Vec<String>,
}

impl Norm {
    pub fn parse(text: &str) -> Result<Norm, String> {
        let n: Norm = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let k = n.normalised.len();
        // The layout this module builds: 6 fluxes, 6 errors, delta_time, then one-hots.
        if n.list_filters.len() != 6
            || k != 13
            || n.min.len() != k
            || n.mean.len() != k
            || n.std.len() != k
            || n.features[..k] != n.normalised[..]
            || n.features.len() != k + 63
        {
            return Err(
                "not SuperNNova's 6-band layout (13 normalised features, 63 band sets)".into(),
            );
        }
        Ok(n)
    }
}

/// The network's input rows, `features().len()` numbers each (normalised, then one-hot).
pub fn input_rows(points: &[Point], norm: &Norm) -> Vec<Vec<f32>> {
    let fac = njy_to_fluxcal();
    let mut pts: Vec<(f64, char, f64, f64)> = points
        .iter()
        .map(|p| {
            (
                p.mjd,
                p.band,
                f64::from(p.flux * fac),
                f64::from(p.flux_err * fac),
            )
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Epochs: a source starts one when it is the first, when it shares the previous one's
    // time (SuperNNova's `delta_time == 0`) or when it is more than 0.33 d after the epoch's
    // start; otherwise it joins the previous source's epoch.
    let mut epochs: Vec<f64> = Vec::with_capacity(pts.len());
    let mut last_change = 0.0;
    for (i, p) in pts.iter().enumerate() {
        let dt = if i == 0 { 0.0 } else { p.0 - pts[i - 1].0 };
        if dt == 0.0 || p.0 - last_change > EPOCH_DAYS {
            epochs.push(p.0);
            last_change = p.0;
        } else {
            let previous = epochs[i - 1];
            epochs.push(previous);
        }
    }
    // Per epoch and band, the source with the smallest error.
    let filters: Vec<char> = norm
        .list_filters
        .iter()
        .filter_map(|f| f.chars().next())
        .collect();
    let mut times: Vec<f64> = epochs.clone();
    times.dedup();
    // Per epoch: each model band's (flux, error), and the epoch's time.
    type Epoch = ([Option<(f64, f64)>; 6], f64);
    let mut rows: Vec<Epoch> = times.iter().map(|&t| ([None; 6], t)).collect();
    for (p, epoch) in pts.iter().zip(&epochs) {
        let Some(slot) = filters.iter().position(|f| *f == p.1) else {
            continue; // Rubin's y: the model's Y is another band name
        };
        let row = times.partition_point(|t| t < epoch);
        let cell = &mut rows[row].0[slot];
        if cell.is_none_or(|(_, err)| p.3 < err) {
            *cell = Some((p.2, p.3));
        }
    }
    let onehots = &norm.features[13..];
    let mut previous = None;
    rows.iter()
        .map(|(cells, t)| {
            let mut x = vec![0f32; norm.features.len()];
            for (slot, cell) in cells.iter().enumerate() {
                if let Some((flux, err)) = cell {
                    x[slot] = *flux as f32;
                    x[6 + slot] = *err as f32;
                }
            }
            x[12] = previous.map_or(0.0, |p: f64| t - p) as f32;
            previous = Some(*t);
            for (k, value) in x.iter_mut().take(13).enumerate() {
                // Clipped into float32 first (Fink's array), then logged in float64.
                let v = f64::from(value.max(norm.min[k] as f32));
                *value = (((v - norm.min[k] + 1e-5).ln() - norm.mean[k]) / norm.std[k]) as f32;
            }
            let set: String = filters
                .iter()
                .zip(cells)
                .filter(|(_, c)| c.is_some())
                .map(|(f, _)| *f)
                .collect();
            if let Some(i) = onehots.iter().position(|c| *c == set) {
                x[13 + i] = 1.0;
            }
            x
        })
        .collect()
}

/// The alert's sources in Fink's order (history, then the new one), with flux and error.
pub fn points(alert: &Alert) -> Vec<Point> {
    super::in_fink_order(alert)
        .filter_map(|d| {
            Some(Point {
                mjd: d.mjd,
                band: band_letter(d.band),
                flux: d.flux? as f32,
                flux_err: d.flux_err? as f32,
            })
        })
        .collect()
}

fn band_letter(b: Band) -> char {
    b.as_str().chars().next().unwrap_or('?')
}

/// Curves that go through the network together. tract's LSTM (a Scan) runs with a fixed
/// number of curves but not with a symbolic one (its body clashes on the batch size), so the
/// network is prepared for this many; a group of curves of one length is cut into runs of
/// this many, the last padded with copies. Every curve goes through this one plan, even
/// alone: a plan for one curve sums in another order and gives other last bits, and a
/// stored score must not depend on how alerts fell into batches.
const TOGETHER: usize = 16;

/// The exported network, ready to run.
pub struct Network {
    plan: std::sync::Arc<TypedRunnableModel>,
    features: usize,
}

impl Network {
    pub fn from_onnx(bytes: &[u8], features: usize) -> Result<Network, String> {
        let plan = |curves: usize| -> TractResult<std::sync::Arc<TypedRunnableModel>> {
            // The exporter's intermediate shapes are its example's: tract infers its own.
            let mut model = tract_onnx::onnx()
                .with_ignore_value_info(true)
                .with_ignore_output_shapes(true)
                .model_for_read(&mut &bytes[..])?;
            let time = model.symbols.sym("time");
            let shape: TVec<TDim> = tvec![time.into(), curves.to_dim(), features.to_dim()];
            model.set_input_fact(0, f32::fact(shape).into())?;
            model.into_optimized()?.into_runnable()
        };
        Ok(Network {
            plan: plan(TOGETHER).map_err(|e| format!("{e:#}"))?,
            features,
        })
    }

    /// One run: `curves` (all of one length, at most [`TOGETHER`]; padded with copies of
    /// the first); the probabilities of each given curve.
    fn run(&self, curves: &[&[Vec<f32>]]) -> Result<Vec<Vec<f32>>, String> {
        let width = TOGETHER;
        let length = curves[0].len();
        let mut flat = Vec::with_capacity(length * width * self.features);
        for t in 0..length {
            for k in 0..width {
                let curve = if k < curves.len() {
                    curves[k]
                } else {
                    curves[0]
                };
                flat.extend_from_slice(&curve[t]);
            }
        }
        let input = Tensor::from_shape(&[length, width, self.features], &flat)
            .map_err(|e| format!("{e:#}"))?;
        let result = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| format!("{e:#}"))?;
        let view = result[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| format!("{e:#}"))?;
        let values: Vec<f32> = view.iter().copied().collect();
        let classes = values.len() / width;
        Ok((0..curves.len())
            .map(|k| values[k * classes..(k + 1) * classes].to_vec())
            .collect())
    }

    /// The class probabilities for one light curve's rows.
    pub fn probabilities(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, String> {
        let mut out = self.probabilities_of_many(&[rows])?;
        Ok(out.pop().unwrap_or_default())
    }

    /// The class probabilities of many light curves, in their order. Curves of one length
    /// go through the network together (one run, one matrix product per step): a Rubin
    /// batch is mostly curves of a few lengths.
    pub fn probabilities_of_many(&self, curves: &[&[Vec<f32>]]) -> Result<Vec<Vec<f32>>, String> {
        let mut out = vec![Vec::new(); curves.len()];
        let mut by_length: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (i, rows) in curves.iter().enumerate() {
            if rows.is_empty() || rows.iter().any(|r| r.len() != self.features) {
                return Err(format!("rows of {} numbers expected", self.features));
            }
            by_length.entry(rows.len()).or_default().push(i);
        }
        for members in by_length.into_values() {
            for chunk in members.chunks(TOGETHER) {
                let curves_of: Vec<&[Vec<f32>]> = chunk.iter().map(|&i| curves[i]).collect();
                let answers = self.run(&curves_of)?;
                for (&i, p) in chunk.iter().zip(answers) {
                    out[i] = p;
                }
            }
        }
        Ok(out)
    }
}

/// The SN-vs-other model: P(class 0), the supernovae.
pub struct SuperNNova {
    pub network: Network,
    pub norm: Norm,
}

impl SuperNNova {
    /// No cuts (Fink applies none): every Rubin alert with a measured flux is scored.
    pub fn score(&self, alert: &Alert) -> crate::Outcome {
        self.score_many(&[alert])
            .pop()
            .unwrap_or(crate::Outcome::Missing("no answer".into()))
    }

    /// [`SuperNNova::score`] for many alerts, through the network together.
    pub fn score_many(&self, alerts: &[&Alert]) -> Vec<crate::Outcome> {
        let rows: Vec<Vec<Vec<f32>>> = alerts
            .iter()
            .map(|a| input_rows(&points(a), &self.norm))
            .collect();
        let scored: Vec<&[Vec<f32>]> = rows
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| &r[..])
            .collect();
        let answers = match self.network.probabilities_of_many(&scored) {
            Ok(p) => p,
            Err(e) => {
                return alerts
                    .iter()
                    .map(|_| crate::Outcome::Missing(e.clone()))
                    .collect()
            }
        };
        let mut answers = answers.into_iter();
        rows.iter()
            .map(|r| {
                if r.is_empty() {
                    return crate::Outcome::NotScored("no source with a flux".into());
                }
                match answers.next() {
                    Some(p) if !p.is_empty() && p.iter().all(|v| v.is_finite()) => {
                        crate::Outcome::Scored(crate::Score {
                            probability: f64::from(p[0]),
                            features: vec![("epochs", r.len() as f64)],
                        })
                    }
                    other => crate::Outcome::Missing(format!("the network answered {other:?}")),
                }
            })
            .collect()
    }
}
