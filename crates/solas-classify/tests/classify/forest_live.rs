//! The converted forest against scikit-learn itself, live: the original pickle
//! (`models/ztf-kilonova/partial.pkl`) loaded by scikit-learn 1.2.2 in the repo's Python
//! venv scores the same feature vectors as Solas's forest file. Vectors: the features of
//! every shared ZTF alert and random ones spread over each feature's range.

use std::process::Command;

use solas_classify::forest::Forest;
use solas_classify::models::kilonova;

#[test]
fn the_converted_kilonova_forest_scores_as_scikit_learn_on_the_pickle() {
    let dir = crate::fink_parity::models_dir().join("ztf-kilonova");
    let forest = Forest::read(&dir.join("model.forest")).unwrap();
    let pcs = kilonova::Pcs::read(&dir.join("pcs.txt")).unwrap();
    let mut vectors: Vec<Vec<f64>> = crate::fink_parity::shared_ztf_alerts()
        .values()
        .map(|a| kilonova::features(a, &pcs).to_vec())
        .collect();
    let mut seed = 11u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let spans = [2.0, 2.0, 2.0, 20.0, 1e6, 2.0, 2.0, 2.0, 20.0, 1e6];
    for _ in 0..2000 {
        vectors.push(spans.iter().map(|s| (next() * 2.0 - 1.0) * s).collect());
    }
    let python = solas_testdata::python_with_venv(
        "models",
        &["numpy==1.26.4", "scipy==1.11.4", "scikit-learn==1.2.2"],
    );
    let input = tempfile_with(&vectors);
    let out = Command::new(python)
        .args(["-W", "ignore", "-c", SKLEARN])
        .arg(dir.join("partial.pkl"))
        .arg(input.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), vectors.len());
    for (x, p) in vectors.iter().zip(&theirs) {
        let ours = forest.score(x).unwrap();
        assert!(
            (ours - p).abs() <= 1e-12,
            "{x:?}: Solas {ours}, scikit-learn {p}"
        );
    }
}

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
