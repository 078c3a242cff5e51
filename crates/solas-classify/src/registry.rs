//! Models described by `<folder>/<name>/model.toml` and loaded from the folder the
//! operator names (`solas run --models DIR`; the repository's `models/` by default). A
//! model that fails to load is reported and left out; the others run.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use solas_core::{Alert, Survey};

use crate::models::early_snia::EarlySnIa;
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
    /// Which of Solas's feature extractions feeds it (`kndetect`, `actsnfink`,
    /// `supernnova`, `rainbow`).
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
    /// A tree ensemble (`tools/models/convert_forest.py`).
    #[serde(default)]
    pub forest: Option<String>,
    /// kndetect's principal components.
    #[serde(default)]
    pub pcs: Option<String>,
    /// A network (ONNX) and its input normalisation.
    #[serde(default)]
    pub onnx: Option<String>,
    #[serde(default)]
    pub norm: Option<String>,
}

enum Family {
    Kilonova(Kilonova),
    EarlySnIa(EarlySnIa),
    SuperNNova(crate::models::snn::SuperNNova),
    Rainbow(crate::models::rainbow::RainbowSnIa),
}

/// A loaded model.
pub struct Model {
    pub description: Description,
    pub survey: Survey,
    family: Family,
}

/// The models built into Solas: the repository's `models/` folder, embedded so that the
/// binary carries the models its tests checked (about 8 MB, most of it the two early SN Ia
/// forests).
/// A built-in model: its folder's name, its `model.toml`, and its files by name.
type Builtin = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static [u8])],
);

const BUILTIN: &[Builtin] = &[
    (
        "rubin-early-snia",
        include_str!("../../../models/rubin-early-snia/model.toml"),
        &[(
            "model.forest",
            include_bytes!("../../../models/rubin-early-snia/model.forest"),
        )],
    ),
    (
        "rubin-snn-sn",
        include_str!("../../../models/rubin-snn-sn/model.toml"),
        &[
            (
                "model.onnx",
                include_bytes!("../../../models/rubin-snn-sn/model.onnx"),
            ),
            (
                "norm.json",
                include_bytes!("../../../models/rubin-snn-sn/norm.json"),
            ),
        ],
    ),
    (
        "ztf-early-snia",
        include_str!("../../../models/ztf-early-snia/model.toml"),
        &[(
            "model.forest",
            include_bytes!("../../../models/ztf-early-snia/model.forest"),
        )],
    ),
    (
        "ztf-kilonova",
        include_str!("../../../models/ztf-kilonova/model.toml"),
        &[
            (
                "model.forest",
                include_bytes!("../../../models/ztf-kilonova/model.forest"),
            ),
            (
                "pcs.txt",
                include_bytes!("../../../models/ztf-kilonova/pcs.txt"),
            ),
        ],
    ),
];

impl Model {
    /// The model in `dir` (its `model.toml` and the files it names).
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        let path = dir.join("model.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        Model::from_parts(&path, &text, |name| {
            let file = dir.join(name);
            std::fs::read(&file).map_err(|e| ModelError::io(&file, e))
        })
    }

    /// A model from its description and a reader of the files it names; `path` names the
    /// description in errors.
    fn from_parts(
        path: &Path,
        text: &str,
        read: impl Fn(&str) -> Result<Vec<u8>, ModelError>,
    ) -> Result<Model, ModelError> {
        let invalid = |why: String| ModelError::Invalid {
            path: path.to_path_buf(),
            why,
        };
        let description: Description =
            toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?;
        let Some(survey) = Survey::parse(&description.survey) else {
            return Err(invalid(format!("unknown survey {:?}", description.survey)));
        };
        let needs = |file: &Option<String>, what: &str| {
            file.clone()
                .ok_or_else(|| invalid(format!("{} needs files.{what}", description.family)))
        };
        let forest = |expected: usize| {
            let file = needs(&description.files.forest, "forest")?;
            let forest = crate::forest::Forest::from_bytes(&read(&file)?)
                .map_err(|why| invalid(format!("{file}: {why}")))?;
            if forest.features() != expected {
                return Err(invalid(format!(
                    "the forest takes {} features, {} makes {expected}",
                    forest.features(),
                    description.family
                )));
            }
            Ok(forest)
        };
        let family = match description.family.as_str() {
            "actsnfink" => Family::EarlySnIa(EarlySnIa {
                forest: forest(crate::models::early_snia::FEATURE_NAMES.len())?,
            }),
            "rainbow" => Family::Rainbow(crate::models::rainbow::RainbowSnIa {
                forest: forest(crate::models::rainbow::FEATURE_NAMES.len())?,
            }),
            "kndetect" => {
                let pcs = needs(&description.files.pcs, "pcs")?;
                let forest = forest(crate::models::kilonova::FEATURE_NAMES.len())?;
                let pcs = Pcs::parse(&String::from_utf8_lossy(&read(&pcs)?))
                    .map_err(|why| invalid(format!("{pcs}: {why}")))?;
                Family::Kilonova(Kilonova { forest, pcs })
            }
            "supernnova" => {
                let (onnx, norm) = (
                    needs(&description.files.onnx, "onnx")?,
                    needs(&description.files.norm, "norm")?,
                );
                let norm_table =
                    crate::models::snn::Norm::parse(&String::from_utf8_lossy(&read(&norm)?))
                        .map_err(|why| invalid(format!("{norm}: {why}")))?;
                let network = crate::models::snn::Network::from_onnx(
                    &read(&onnx)?,
                    norm_table.features.len(),
                )
                .map_err(|why| invalid(format!("{onnx}: {why}")))?;
                Family::SuperNNova(crate::models::snn::SuperNNova {
                    network,
                    norm: norm_table,
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
            Family::EarlySnIa(m) => m.score(alert, context.host_allows_transient()),
            Family::SuperNNova(m) => m.score(alert),
            Family::Rainbow(m) => m.score(alert),
        }
    }

    /// [`Model::score`] for many alerts: networks take them together (much cheaper per
    /// alert than one by one); the answers are in the alerts' order.
    pub fn score_many(&self, alerts: &[(&Alert, ModelContext)]) -> Vec<Outcome> {
        match &self.family {
            Family::SuperNNova(m) => {
                let mine: Vec<&Alert> = alerts
                    .iter()
                    .map(|(a, _)| *a)
                    .filter(|a| a.survey == self.survey)
                    .collect();
                let mut answers = m.score_many(&mine).into_iter();
                alerts
                    .iter()
                    .map(|(a, c)| match a.survey == self.survey {
                        true => answers
                            .next()
                            .unwrap_or(Outcome::Missing("no answer".into())),
                        false => self.score(a, c),
                    })
                    .collect()
            }
            _ => alerts.iter().map(|(a, c)| self.score(a, c)).collect(),
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
    /// The models built into Solas (see [`BUILTIN`]).
    pub fn builtin() -> ModelSet {
        let mut set = ModelSet::default();
        for (name, text, files) in BUILTIN {
            let path = PathBuf::from(format!("models/{name}/model.toml"));
            let read = |file: &str| {
                files
                    .iter()
                    .find(|(n, _)| *n == file)
                    .map(|(_, bytes)| bytes.to_vec())
                    .ok_or_else(|| ModelError::Invalid {
                        path: path.clone(),
                        why: format!("{file} is not built in"),
                    })
            };
            set.add(&path, Model::from_parts(&path, text, read));
        }
        set
    }

    /// [`ModelSet::builtin`], loaded once per process and shared: preparing the networks
    /// takes 16 ms (150 ms in a debug build), and every run configuration starts with them.
    pub fn shared_builtin() -> std::sync::Arc<ModelSet> {
        static SHARED: std::sync::OnceLock<std::sync::Arc<ModelSet>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| std::sync::Arc::new(ModelSet::builtin()))
            .clone()
    }

    /// A loaded model, or why it did not load (logged); a second model of one name is
    /// refused.
    pub fn add(&mut self, path: &Path, model: Result<Model, ModelError>) {
        let path = path.to_path_buf();
        match model {
            Ok(m) if self.models.iter().any(|o| o.name() == m.name()) => {
                let why = format!("a second model named {:?}", m.name());
                log::error!("model {} not loaded: {why}", path.display());
                self.failed
                    .push((path.clone(), ModelError::Invalid { path, why }));
            }
            Ok(m) => self.models.push(m),
            Err(e) => {
                log::error!("model {} not loaded: {e}", path.display());
                self.failed.push((path, e));
            }
        }
    }

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
