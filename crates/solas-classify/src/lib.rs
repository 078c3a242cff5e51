//! Trained classifiers run inside the pipeline: the community's models (fink-science's
//! random forests first) converted once by `tools/models/` and evaluated natively, each with
//! the feature extraction its authors trained it on, checked against their code
//! (`tests/classify/`). The pipeline's filter stage scores each object with every loaded
//! model on each new alert and stores the scores as a system annotator's annotations.
//!
//! - [`forest`]: tree ensembles (scikit-learn's binary forests) from Solas's forest file.
//! - [`fit`]: the exact convex fits features come from.
//! - [`trf`]: scipy's least-squares solver, step for step, for features from its fits.
//! - [`minuit`]: Minuit's variable-metric minimiser (MIGRAD) as iminuit runs it, step for
//!   step, for features from its fits.
//! - [`numpy`]: numpy's summation order and reductions, where features need the last bit.
//! - [`models`]: one module per model family: its inputs, cuts and features.
//! - [`registry`]: models described by `models/<name>/model.toml`, loaded from a folder.

pub mod fit;
pub mod forest;
pub mod minuit;
pub mod models;
pub mod numpy;
pub mod registry;
pub mod trf;

use std::path::{Path, PathBuf};

pub use registry::{Description, Model, ModelSet};

/// What a model made of one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Scored(Score),
    /// The model's own cuts leave the alert out (not an error: most alerts are not
    /// candidates for most models).
    NotScored(String),
    /// An input the model needs is missing or bad: reported, the object skipped.
    Missing(String),
}

/// A model's probability for its class, with the features it was computed from (so a user
/// can see why).
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub probability: f64,
    pub features: Vec<(&'static str, f64)>,
}

/// What an alert's context says that models' cuts use.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelContext<'a> {
    /// The context stage's class (Sherlock's: VS, CV, BS, AGN, SN, NT, ORPHAN, UNCLEAR);
    /// None when no context was computed.
    pub context_class: Option<&'a str>,
}

impl ModelContext<'_> {
    /// fink's extragalactic-host cut asks SIMBAD for an extragalactic, transient or unknown
    /// match; Solas's context stage answers the same question from its catalogues: the
    /// object is not on a star (VS, BS), a cataclysmic variable or an AGN. No context counts
    /// as unknown, which fink lets through.
    pub fn host_allows_transient(&self) -> bool {
        !matches!(self.context_class, Some("VS" | "BS" | "CV" | "AGN"))
    }
}

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Invalid { path: PathBuf, why: String },
    #[error("model inputs: {0}")]
    Inputs(String),
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
