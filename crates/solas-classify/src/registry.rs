//! Models described by `<folder>/<name>/model.toml` and loaded from the folder the
//! operator names (`solas run --models DIR`; the repository's `models/` by default). A
//! model that fails to load is reported and left out; the others run.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use solas_core::{Alert, Survey};

use crate::models::kilonova::{Kilonova, Pcs};
use crate::{ModelContext, ModelError, Outcome};

/// A model's `model.toml`: who made it, what it says, where its files are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// The annotator topic its scores are stored under (`annotator:<name>` in filters).
    pub name: String,
    /// `ztf` or `lsst`: the alerts it scores.
    pub survey: String,
    /// Which of Solas's feature extractions feeds it (`kndetect`).
    pub family: String,
    /// Recorded with every score.
    pub version: String,
    /// The class a high probability means (the annotation's classification when the
    /// probability reaches `threshold`).
    pub class: String,
    #[serde(default = "half")]
    pub threshold: f64,
    pub description: String,
    pub url: String,
    pub licence: String,
    /// Files of the model, relative to its folder.
    pub files: Files,
    /// Where the files came from and how they were converted (kept for people).
    #[serde(default)]
    pub provenance: toml::Table,
}

fn half() -> f64 {
    0.5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Files {
    pub forest: String,
    #[serde(default)]
    pub pcs: Option<String>,
}

enum Family {
    Kilonova(Kilonova),
}

/// A loaded model.
pub struct Model {
    pub description: Description,
    pub survey: Survey,
    family: Family,
}

impl Model {
    /// The model in `dir` (its `model.toml` and the files it names).
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        let path = dir.join("model.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let invalid = |why: String| ModelError::Invalid {
            path: path.clone(),
            why,
        };
        let description: Description =
            toml::from_str(&text).map_err(|e| invalid(e.message().to_string()))?;
        let survey = match description.survey.as_str() {
            "ztf" => Survey::Ztf,
            "lsst" => Survey::Lsst,
            other => return Err(invalid(format!("unknown survey {other:?}"))),
        };
        let file = |name: &str| dir.join(name);
        let family = match description.family.as_str() {
            "kndetect" => {
                let pcs = description
                    .files
                    .pcs
                    .as_deref()
                    .ok_or_else(|| invalid("kndetect needs files.pcs".into()))?;
                let forest = crate::forest::Forest::read(&file(&description.files.forest))?;
                if forest.features() != crate::models::kilonova::FEATURE_NAMES.len() {
                    return Err(invalid(format!(
                        "the forest takes {} features, kndetect makes 10",
                        forest.features()
                    )));
                }
                Family::Kilonova(Kilonova {
                    forest,
                    pcs: Pcs::read(&file(pcs))?,
                })
            }
            other => return Err(invalid(format!("unknown model family {other:?}"))),
        };
        Ok(Model {
            description,
            survey,
            family,
        })
    }

    pub fn name(&self) -> &str {
        &self.description.name
    }

    /// Score one alert (Outcome::NotScored for another survey's alerts).
    pub fn score(&self, alert: &Alert, context: &ModelContext) -> Outcome {
        if alert.survey != self.survey {
            return Outcome::NotScored(format!("a {} model", self.description.survey));
        }
        match &self.family {
            Family::Kilonova(m) => m.score(alert, context.host_allows_transient()),
        }
    }

    /// The annotation's classification for a probability.
    pub fn class_for(&self, probability: f64) -> String {
        if probability >= self.description.threshold {
            self.description.class.clone()
        } else {
            format!("not {}", self.description.class)
        }
    }
}

/// Every model of a folder that loaded, and why the others did not.
#[derive(Default)]
pub struct ModelSet {
    pub models: Vec<Model>,
    pub failed: Vec<(PathBuf, ModelError)>,
}

impl ModelSet {
    /// Each subfolder of `dir` holding a `model.toml`, in name order. A model that fails
    /// to load is kept in `failed` (and logged); two models may not share a name.
    pub fn load_dir(dir: &Path) -> Result<ModelSet, ModelError> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| ModelError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("model.toml").is_file())
            .collect();
        dirs.sort();
        let mut set = ModelSet::default();
        for d in dirs {
            match Model::load(&d) {
                Ok(m) if set.models.iter().any(|o| o.name() == m.name()) => {
                    let why = format!("a second model named {:?}", m.name());
                    log::error!("model {} not loaded: {why}", d.display());
                    set.failed
                        .push((d.clone(), ModelError::Invalid { path: d, why }));
                }
                Ok(m) => set.models.push(m),
                Err(e) => {
                    log::error!("model {} not loaded: {e}", d.display());
                    set.failed.push((d, e));
                }
            }
        }
        Ok(set)
    }
}
