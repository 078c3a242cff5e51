//! kndetect's kilonova score through Solas and through fink-science's own code on every
//! shared ZTF alert. Fink's answers (features, `knscore` with its cuts, and the forest's
//! score without the cuts) were made by `tools/models/fink_reference.py` and are kept in
//! `tests/data/fink_reference_ztf.json`: the authors' code is not on PyPI, so CI cannot run
//! it (the forest itself is checked live against scikit-learn in `forest_live`).

use std::collections::HashMap;
use std::path::PathBuf;

use solas_classify::models::kilonova::{self, FEATURE_NAMES};
use solas_classify::{Model, ModelContext, Outcome};
use solas_core::Alert;

pub fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/fink_reference_ztf.json")).unwrap()
}

/// Every shared ZTF alert by candid.
pub fn shared_ztf_alerts() -> HashMap<i64, Alert> {
    let decoder = solas_decode::Decoder::new();
    let mut out = HashMap::new();
    for file in solas_testdata::shared_glob("ztf/alerts/*/*.avro") {
        let bytes = std::fs::read(&file).unwrap();
        for (_, alert) in decoder.decode(&bytes).unwrap().records {
            let alert = alert.unwrap();
            out.insert(alert.alert_id, alert);
        }
    }
    out
}

/// Relative agreement of two features, with an absolute floor for values near zero.
fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= abs + rel * a.abs().max(b.abs())
}

#[test]
fn kilonova_scores_equal_fink_science_on_every_shared_ztf_alert() {
    let model = Model::load(&models_dir().join("ztf-kilonova")).unwrap();
    let pcs = kilonova::Pcs::read(&models_dir().join("ztf-kilonova/pcs.txt")).unwrap();
    let forest =
        solas_classify::forest::Forest::read(&models_dir().join("ztf-kilonova/model.forest"))
            .unwrap();
    let alerts = shared_ztf_alerts();
    let reference = reference();
    let rows = reference["alerts"].as_array().unwrap();
    assert_eq!(rows.len(), 208, "one reference row per shared ZTF alert");
    let (mut compared, mut scored, mut cut) = (0, 0, 0);
    let mut worst_feature = 0.0f64;
    for row in rows {
        let candid = row["candid"].as_i64().unwrap();
        let alert = &alerts[&candid];
        let fink_features: Vec<f64> = row["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let ours = kilonova::features(alert, &pcs);
        // Fink gives zeros to alerts with fewer than two detections; Solas computes them
        // anyway (and does not score them).
        let fink_fitted = fink_features.iter().any(|v| *v != 0.0);
        if fink_fitted {
            for (i, (a, b)) in ours.iter().zip(&fink_features).enumerate() {
                // Coefficients and residuals: scipy's L-BFGS-B stops within its tolerance of
                // the exact minimum Solas finds; fluxes are exact.
                assert!(
                    close(*a, *b, 1e-5, 1e-5),
                    "{candid} {}: Solas {a}, fink {b}",
                    FEATURE_NAMES[i]
                );
                worst_feature = worst_feature.max((a - b).abs() / b.abs().max(1.0));
            }
            compared += 1;
        }
        // The forest on both sides' features, without the cuts.
        if let Some(p) = row["score_without_cuts"].as_f64() {
            if fink_features[0] != 0.0 && fink_features[5] != 0.0 {
                let ours = forest.score(&ours).unwrap();
                assert!((ours - p).abs() <= 1e-6, "{candid}: Solas {ours}, fink {p}");
                scored += 1;
            }
        }
        // With the cuts, as fink-science's knscore (cdsxmatch "Unknown": no context).
        let knscore = row["knscore"].as_f64().unwrap();
        match model.score(alert, &ModelContext::default()) {
            Outcome::Scored(s) => {
                assert!(
                    (s.probability - knscore).abs() <= 1e-6,
                    "{candid}: {} vs {knscore}",
                    s.probability
                );
                cut += 1;
            }
            Outcome::NotScored(why) | Outcome::Missing(why) => {
                assert_eq!(
                    knscore, 0.0,
                    "{candid}: Solas did not score ({why}), fink {knscore}"
                )
            }
        }
    }
    eprintln!(
        "{compared} alerts' features compared (worst relative difference {worst_feature:.1e}), \
         {scored} forest scores, {cut} scored after the cuts"
    );
    assert!(
        compared >= 100 && scored >= 90 && cut >= 5,
        "{compared} {scored} {cut}"
    );
}
