//! fink-science's early SN Ia model for Rubin through Solas (the cuts, the Rainbow fit by
//! Solas's MIGRAD, the converted forest) and through Fink's own code
//! (`tools/models/rainbow_reference.py`: actsnfink and light-curve 0.10.0 with iminuit
//! 2.30.1; answers kept in `tests/data/rainbow_reference_rubin.json`, as actsnfink is not on
//! PyPI). Curves: every prefix of the 556 ELAsTiCC alerts fink-science tests the model with
//! (4,900 curves, 363 of which Fink scores), and the shared Rubin alerts.
//!
//! The fits are flat, and where Minuit stops depends on the last bits of the cost: the
//! reference is Fink's code where numpy calls the C library's `exp` and `pow`, as Solas
//! does (numpy's AVX-512 kernels change 101 of the 363 scores, by up to 0.21). Even so,
//! Fink's answer is not a function of the alert alone: fitted again from a start one part
//! in 2^52 away, 293 fits end elsewhere and 91 scores move. Solas must give Fink's score
//! where it is stable, and its features where they are.

use serde_json::Value;
use solas_classify::models::rainbow::{self, Source};
use solas_classify::{Model, ModelContext, Outcome};
use solas_core::Band;

fn reference() -> Value {
    serde_json::from_str(include_str!("../data/rainbow_reference_rubin.json")).unwrap()
}

fn band(letter: &str) -> Band {
    Band::ALL
        .into_iter()
        .find(|b| b.as_str() == letter)
        .unwrap()
}

/// The first `k` sources of a recorded curve.
fn sources(curve: &Value, k: usize) -> Vec<Source> {
    let num = |name: &str, i: usize| curve[name][i].as_f64();
    (0..k)
        .map(|i| Source {
            mjd: num("mjd", i).unwrap(),
            band: band(curve["band"][i].as_str().unwrap()),
            flux: num("flux", i).map(|v| v as f32),
            flux_err: num("flux_err", i).map(|v| v as f32),
        })
        .collect()
}

fn model() -> Model {
    Model::load(&crate::fink_parity::models_dir().join("rubin-early-snia")).unwrap()
}

/// Fink's score of a curve (−1 where it gives none) from Solas's features.
fn solas_score(forest: &solas_classify::forest::Forest, s: &[Source]) -> (f64, Option<[f64; 8]>) {
    match rainbow::features(s) {
        Ok(x) if x[1] != 0.0 => (forest.score(&x).unwrap(), Some(x)),
        _ => (-1.0, None),
    }
}

#[test]
fn every_prefix_of_the_elasticc_test_alerts_scores_as_fink_science() {
    let forest = solas_classify::forest::Forest::read(
        &crate::fink_parity::models_dir().join("rubin-early-snia/model.forest"),
    )
    .unwrap();
    let doc = reference();
    let (mut prefixes, mut stable, mut unstable, mut unstable_equal) = (0, 0, 0, 0);
    let (mut compared, mut features_equal) = (0, 0);
    for curve in doc["curves"].as_array().unwrap() {
        let id = curve["alert_id"].as_i64().unwrap();
        let listed = |name: &str| -> Vec<usize> {
            curve[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        };
        let (sensitive, moves) = (listed("start_sensitive"), listed("score_unstable"));
        for (i, want) in curve["scores"].as_array().unwrap().iter().enumerate() {
            let k = i + 1;
            let want = want.as_f64().unwrap();
            let (ours, features) = solas_score(&forest, &sources(curve, k));
            prefixes += 1;
            let equal = (ours - want).abs() <= 1e-6;
            if moves.contains(&k) {
                unstable += 1;
                unstable_equal += usize::from(equal);
                continue;
            }
            assert!(
                equal,
                "alert {id}, first {k} sources: Solas {ours}, fink {want} ({features:?})"
            );
            if want == -1.0 {
                continue;
            }
            stable += 1;
            if sensitive.contains(&k) {
                continue;
            }
            compared += 1;
            let theirs = &curve["features"][k.to_string()];
            let ours = features.unwrap();
            let mut within_1e6 = true;
            for (f, (a, b)) in ours.iter().zip(theirs.as_array().unwrap()).enumerate() {
                let b = b.as_f64().unwrap();
                let off = (a - b).abs() / b.abs().max(1e-12);
                within_1e6 &= off <= 1e-6;
                assert!(
                    off <= 1e-5,
                    "alert {id}, first {k} sources, {}: Solas {a}, fink {b}",
                    rainbow::FEATURE_NAMES[f]
                );
            }
            features_equal += usize::from(within_1e6);
        }
    }
    assert_eq!(prefixes, 4900);
    assert_eq!((stable, unstable, compared), (272, 91, 70));
    // Where Fink's own answer moves with its last bits, Solas's still mostly equals it;
    // the two features off by more than 1e-6 (at most 1.1e-6) are one curve, sent twice,
    // where Solas's MIGRAD parts from Minuit's by one unit in the last place.
    assert!(unstable_equal >= 89, "{unstable_equal} of {unstable}");
    assert!(features_equal >= 68, "{features_equal} of {compared}");
}

#[test]
fn the_shared_rubin_alerts_are_first_detections_and_get_no_score_as_in_fink() {
    let model = model();
    let alerts = crate::snn_parity::shared_rubin_alerts();
    let doc = reference();
    let rows = doc["rubin"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    for r in rows {
        assert_eq!(r["score"].as_f64(), Some(-1.0));
        let alert = &alerts[&r["diaSourceId"].as_i64().unwrap()];
        match model.score(alert, &ModelContext::default()) {
            Outcome::NotScored(why) => assert!(why.contains("fewer than 7"), "{why}"),
            other => panic!("{}: {other:?}", alert.alert_id),
        }
    }
}

/// A shared Rubin alert whose sources are replaced by a curve's first `k`: the newest as
/// the triggering detection (Solas keeps it first), the others as its history.
fn as_alert(template: &solas_core::Alert, curve: &Value, k: usize) -> solas_core::Alert {
    let mut alert = template.clone();
    let model = alert.detections[0].clone();
    let mut detections: Vec<solas_core::Detection> = sources(curve, k)
        .into_iter()
        .enumerate()
        .map(|(i, s)| solas_core::Detection {
            source_id: i as i64 + 1,
            mjd: s.mjd,
            band: s.band,
            flux: s.flux.map(f64::from),
            flux_err: s.flux_err.map(f64::from),
            record: None,
            ..model.clone()
        })
        .collect();
    detections.rotate_right(1);
    alert.detections = detections;
    alert
}

#[test]
fn scored_curves_made_into_rubin_alerts_score_as_fink_through_the_builtin_model() {
    let set = solas_classify::ModelSet::builtin();
    let model = set
        .models
        .iter()
        .find(|m| m.name() == "rubin_early_snia")
        .unwrap();
    let alerts = crate::snn_parity::shared_rubin_alerts();
    let template = alerts.values().next().unwrap();
    let doc = reference();
    let mut checked = 0;
    for curve in doc["curves"].as_array().unwrap() {
        let moves: Vec<u64> = curve["score_unstable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        for k in curve["features"].as_object().unwrap().keys() {
            let k: usize = k.parse().unwrap();
            if moves.contains(&(k as u64)) {
                continue;
            }
            let want = curve["scores"][k - 1].as_f64().unwrap();
            let alert = as_alert(template, curve, k);
            match model.score(&alert, &ModelContext::default()) {
                Outcome::Scored(s) => {
                    assert!(
                        (s.probability - want).abs() <= 1e-6,
                        "{k}: {s:?}, fink {want}"
                    );
                    assert_eq!(s.features.len(), 8);
                    let class = model.class_for(s.probability);
                    assert_eq!(class == "SN Ia", want >= 0.5, "{class} for {want}");
                }
                other => panic!("{}: {other:?}", curve["alert_id"]),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 272);
}
