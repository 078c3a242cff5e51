//! The converted forests against scikit-learn itself, live: the original pickle loaded by
//! scikit-learn 1.2.2 in the repo's Python venv scores the same feature vectors as Solas's
//! forest file. The kilonova pickle is kept in the repository
//! (`models/ztf-kilonova/partial.pkl`); the early SN Ia one (8.9 MB) is taken from the PyPI
//! wheel fink_science 7.4.0 (downloaded once into `.tools/downloads`, its sha256 checked
//! against the model's provenance), as is the Rubin early SN Ia one (11.5 MB, pickled by
//! scikit-learn 1.5.2, run by that release in a venv of its own). Vectors: the features
//! Solas computes on the shared alerts (or Fink's, for Rubin) and random ones spread over
//! each feature's range.

use std::process::Command;

use solas_classify::forest::Forest;
use solas_classify::models::{early_snia, kilonova};

#[test]
fn the_converted_kilonova_forest_scores_as_scikit_learn_on_the_pickle() {
    let dir = crate::fink_parity::models_dir().join("ztf-kilonova");
    let forest = Forest::read(&dir.join("model.forest")).unwrap();
    let pcs = kilonova::Pcs::read(&dir.join("pcs.txt")).unwrap();
    let mut vectors: Vec<Vec<f64>> = crate::fink_parity::shared_ztf_alerts()
        .values()
        .map(|a| kilonova::features(a, &pcs).to_vec())
        .collect();
    let mut next = uniform(11);
    let spans = [2.0, 2.0, 2.0, 20.0, 1e6, 2.0, 2.0, 2.0, 20.0, 1e6];
    for _ in 0..2000 {
        vectors.push(spans.iter().map(|s| (next() * 2.0 - 1.0) * s).collect());
    }
    let pickle = dir.join("partial.pkl");
    let theirs = scikit_learn(&python(), SKLEARN, &[pickle.as_os_str()], &vectors);
    same_scores(&forest, &vectors, &theirs);
}

#[test]
fn the_converted_early_snia_forest_scores_as_scikit_learn_on_the_pickle() {
    let dir = crate::fink_parity::models_dir().join("ztf-early-snia");
    let forest = Forest::read(&dir.join("model.forest")).unwrap();
    let mut vectors: Vec<Vec<f64>> = Vec::new();
    for alert in crate::fink_parity::shared_ztf_alerts().values() {
        let points = early_snia::points(alert);
        for k in 1..=points.len() {
            vectors.push(early_snia::features_of(&points[..k]).unwrap().to_vec());
        }
    }
    vectors.sort_by(|a, b| a.partial_cmp(b).unwrap());
    vectors.dedup();
    let mut next = uniform(13);
    // a, b, c, flux/error, mse, rising days per band, over the ranges fits give.
    let band = |next: &mut dyn FnMut() -> f64| {
        [
            next() * 5.0,
            next() * 50.0 - 10.0,
            next() * 2e6,
            next() * 100.0,
            next() * 1e-2,
            (4.0 + next() * 12.0).floor(),
        ]
    };
    for _ in 0..2000 {
        let mut v = band(&mut next).to_vec();
        v.extend(band(&mut next));
        vectors.push(v);
    }
    let member = "fink_science/data/models/default-model_sigmoid.obj";
    let theirs = scikit_learn_on_wheel(&python(), &dir, member, &vectors);
    same_scores(&forest, &vectors, &theirs);
}

#[test]
fn the_converted_rubin_early_snia_forest_scores_as_scikit_learn_on_the_pickle() {
    let dir = crate::fink_parity::models_dir().join("rubin-early-snia");
    let forest = Forest::read(&dir.join("model.forest")).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../data/rainbow_reference_rubin.json")).unwrap();
    let mut vectors: Vec<Vec<f64>> = Vec::new();
    for curve in doc["curves"].as_array().unwrap() {
        for v in curve["features"].as_object().unwrap().values() {
            vectors.push(
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect(),
            );
        }
    }
    let mut next = uniform(17);
    // npoints, amplitude, rise_time, Tmin, Tmax, t_color, reduced χ², largest flux (nJy),
    // over the ranges the fits give.
    for _ in 0..2000 {
        vectors.push(vec![
            (7.0 + next() * 40.0).floor(),
            next() * 20.0,
            next() * 30.0,
            1e3 + next() * 5e4,
            1e3 + next() * 5e4,
            next() * 100.0,
            next() * 50.0,
            next() * 1e5,
        ]);
    }
    // Pickled by scikit-learn 1.5.2, which reads no pickle of 1.0.x: a venv of its own.
    let python = solas_testdata::python_with_venv(
        "rainbow",
        &["numpy==1.26.4", "scipy==1.11.4", "scikit-learn==1.5.2"],
    );
    let member = "fink_science/data/models/elasticc_rainbow_earlyIa_nometa.pkl";
    let theirs = scikit_learn_on_wheel(&python, &dir, member, &vectors);
    same_scores(&forest, &vectors, &theirs);
}

/// Numbers in [0, 1) from a fixed seed (a linear congruential generator: the same vectors
/// every run).
fn uniform(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The models venv's python (scikit-learn 1.2.2 reads pickles of 1.0.x; scipy 1.11.4 is
/// the solver the early SN Ia features were made with).
fn python() -> String {
    solas_testdata::python_with_venv(
        "models",
        &["numpy==1.26.4", "scipy==1.11.4", "scikit-learn==1.2.2"],
    )
}

/// `script` run by the models venv's python with `args` and environment variables set
/// (e.g. the BLAS kernel numpy uses): its standard output.
pub(crate) fn run_python_with(
    script: &str,
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> String {
    run_python_in(&python(), script, args, env)
}

/// `script` run by `python` with `args` and environment variables `env`: its output.
fn run_python_in(
    python: &str,
    script: &str,
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> String {
    let out = Command::new(python)
        .envs(env.iter().copied())
        .args(["-W", "ignore", "-c", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// scikit-learn's probabilities for `vectors` from the pickle `member` of the fink_science
/// wheel (its sha256 the model's provenance gives), run by `python`.
fn scikit_learn_on_wheel(
    python: &str,
    model_dir: &std::path::Path,
    member: &str,
    vectors: &[Vec<f64>],
) -> Vec<f64> {
    let toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(model_dir.join("model.toml")).unwrap()).unwrap();
    let sha256 = toml["provenance"]["source_sha256"].as_str().unwrap();
    let wheel = fink_science_wheel(python);
    let args = [wheel.as_os_str(), member.as_ref(), sha256.as_ref()];
    scikit_learn(python, SKLEARN_FROM_WHEEL, &args, vectors)
}

/// scikit-learn's probabilities for `vectors`: `script` run by `python` with `args` then the
/// vectors' file.
fn scikit_learn(
    python: &str,
    script: &str,
    args: &[&std::ffi::OsStr],
    vectors: &[Vec<f64>],
) -> Vec<f64> {
    let input = tempfile_with(vectors);
    let mut args = args.to_vec();
    args.push(input.path().as_os_str());
    let theirs: Vec<f64> = run_python_in(python, script, &args, &[])
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), vectors.len());
    theirs
}

/// Solas's forest gives scikit-learn's probability for every vector, to 1e-12.
fn same_scores(forest: &Forest, vectors: &[Vec<f64>], theirs: &[f64]) {
    for (x, p) in vectors.iter().zip(theirs) {
        let ours = forest.score(x).unwrap();
        assert!(
            (ours - p).abs() <= 1e-12,
            "{x:?}: Solas {ours}, scikit-learn {p}"
        );
    }
}

/// fink_science 7.4.0's wheel from PyPI, downloaded once into `.tools/downloads`.
fn fink_science_wheel(python: &str) -> std::path::PathBuf {
    let dir = crate::fink_parity::models_dir().join("../.tools/downloads");
    let wheel = dir.join("fink_science-7.4.0-py3-none-any.whl");
    if !wheel.is_file() {
        let out = Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-deps",
            ])
            .args(["--only-binary=:all:", "fink_science==7.4.0", "--dest"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "downloading fink_science 7.4.0 failed (needs PyPI the first time):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wheel
}

/// The pickle inside a wheel (its sha256 checked), then as [`SKLEARN`].
const SKLEARN_FROM_WHEEL: &str = "
import hashlib, pickle, sys, zipfile
import numpy as np
wheel, member, sha256, vectors = sys.argv[1:5]
raw = zipfile.ZipFile(wheel).read(member)
if hashlib.sha256(raw).hexdigest() != sha256:
    sys.exit(f'{member} in {wheel} is not the converted pickle')
model = pickle.loads(raw)
X = np.loadtxt(vectors, ndmin=2)
for p in model.predict_proba(X)[:, 1]:
    print(repr(float(p)))
";

const SKLEARN: &str = "
import pickle, sys
import numpy as np
model = pickle.load(open(sys.argv[1], 'rb'))
X = np.loadtxt(sys.argv[2], ndmin=2)
for p in model.predict_proba(X)[:, 1]:
    print(repr(float(p)))
";

/// The vectors as text, one per line, each number printed to round-trip (removed when
/// dropped).
fn tempfile_with(vectors: &[Vec<f64>]) -> tempfile::NamedTempFile {
    let text: String = vectors
        .iter()
        .map(|v| {
            v.iter()
                .map(|x| format!("{x:e}"))
                .collect::<Vec<_>>()
                .join(" ")
                + "\n"
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}
