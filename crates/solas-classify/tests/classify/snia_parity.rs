//! fink-science's early SN Ia score through Solas and through fink-science's own code
//! (actsnfink's sigmoid features, scipy's fits, the trained forest). Fink's answers were made
//! by `tools/models/snia_reference.py` and are kept in `tests/data/snia_reference_ztf.json`:
//! per shared ZTF alert (features and `rf_snia_vs_nonia` with Fink's cuts), and per prefix of
//! each alert's detections (the curve k detections in), because the early SN Ia model fits
//! only rising curves and few whole histories still rise. The forest is checked live against
//! scikit-learn in `forest_live`, the solver live against scipy in `trf_live`.

use solas_classify::forest::Forest;
use solas_classify::models::early_snia::{self, FEATURE_NAMES};
use solas_classify::{Model, ModelContext, Outcome};

use crate::fink_parity::{models_dir, shared_ztf_alerts};

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/snia_reference_ztf.json")).unwrap()
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Features equal to 1e-6, relative for large values (fluxes reach 1e5).
fn features_agree(ours: &[f64], theirs: &[f64]) -> bool {
    ours.iter()
        .zip(theirs)
        .all(|(a, b)| (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs())))
}

/// The forest's probability unless a band has no fit (Fink's flag), as Fink scores.
fn flagged_score(forest: &Forest, x: &[f64; 12]) -> f64 {
    if x[0] == 0.0 || x[6] == 0.0 {
        return 0.0;
    }
    forest.score(x).unwrap()
}

#[test]
fn early_snia_features_and_scores_equal_fink_science_on_every_prefix_of_the_shared_ztf_alerts() {
    let forest = Forest::read(&models_dir().join("ztf-early-snia/model.forest")).unwrap();
    let alerts = shared_ztf_alerts();
    let reference = reference();
    let names: Vec<&str> = reference["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, FEATURE_NAMES);
    let prefixes = reference["prefixes"].as_array().unwrap();
    assert_eq!(
        prefixes.len(),
        1647,
        "every prefix of every shared ZTF alert"
    );
    let (mut fitted, mut scored, mut sensitive, mut disagree) = (0, 0, 0, Vec::new());
    for p in prefixes {
        let candid = p["candid"].as_i64().unwrap();
        let k = p["detections"].as_u64().unwrap() as usize;
        let points = early_snia::points(&alerts[&candid]);
        assert!(points.len() >= k, "{candid}: {} detections", points.len());
        let ours = early_snia::features_of(&points[..k]).unwrap();
        let theirs = numbers(&p["features"]);
        let (score, fink_score) = (flagged_score(&forest, &ours), p["score"].as_f64().unwrap());
        fitted += usize::from(theirs[0] != 0.0 || theirs[6] != 0.0);
        scored += usize::from(fink_score > 0.0);
        // Where scipy's own fit moves when only its SVD driver changes, where the solver
        // stops follows rounding (see solas_classify::trf): the score must agree there,
        // the fitted values need not.
        let solver_sensitive = p["solver_sensitive"].as_bool().unwrap();
        sensitive += usize::from(solver_sensitive);
        let features_differ = !solver_sensitive && !features_agree(&ours, &theirs);
        if features_differ || (score - fink_score).abs() > 1e-6 {
            disagree.push(format!(
                "{candid} first {k}: Solas {ours:?} → {score}, Fink {theirs:?} → {fink_score}"
            ));
        }
    }
    assert_eq!(
        (fitted, scored, sensitive),
        (313, 105, 38),
        "curves with a fit, curves scored, fits sensitive to the SVD"
    );
    assert!(
        disagree.is_empty(),
        "{} of {} prefixes differ:\n{}",
        disagree.len(),
        prefixes.len(),
        disagree.join("\n")
    );
}

#[test]
fn early_snia_scores_equal_fink_science_on_every_shared_ztf_alert() {
    let model = Model::load(&models_dir().join("ztf-early-snia")).unwrap();
    let alerts = shared_ztf_alerts();
    let reference = reference();
    let rows = reference["alerts"].as_array().unwrap();
    assert_eq!(rows.len(), 208, "one reference row per shared ZTF alert");
    // The whole curve is the alert's last prefix; its flag says whether scipy agrees with
    // itself on it.
    let sensitive: std::collections::HashSet<(i64, u64)> = reference["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["solver_sensitive"].as_bool().unwrap())
        .map(|p| {
            (
                p["candid"].as_i64().unwrap(),
                p["detections"].as_u64().unwrap(),
            )
        })
        .collect();
    let (mut cut, mut compared) = (0, 0);
    for row in rows {
        let candid = row["candid"].as_i64().unwrap();
        let alert = &alerts[&candid];
        // Fink extracts features only for the alerts its cuts keep (zeros for the others).
        let theirs = numbers(&row["features"]);
        let points = early_snia::points(alert);
        if theirs.iter().any(|v| *v != 0.0) && !sensitive.contains(&(candid, points.len() as u64)) {
            let ours = early_snia::features_of(&points).unwrap();
            assert!(
                features_agree(&ours, &theirs),
                "{candid}: Solas {ours:?}, Fink {theirs:?}"
            );
            compared += 1;
        }
        // Fink's column is 0 for an alert its cuts leave out, as for a zero score.
        let fink = row["pIa"].as_f64().unwrap();
        match model.score(alert, &ModelContext::default()) {
            Outcome::Scored(s) => assert!(
                (s.probability - fink).abs() <= 1e-6,
                "{candid}: Solas {}, Fink {fink}",
                s.probability
            ),
            Outcome::NotScored(_) => {
                cut += 1;
                assert_eq!(
                    fink, 0.0,
                    "{candid}: Fink scored what Solas's cuts leave out"
                )
            }
            Outcome::Missing(why) => panic!("{candid}: {why}"),
        }
    }
    // The shared alerts' histories are long: none still rises in both bands (their
    // prefixes above are the curves that do).
    assert_eq!(cut, 208);
    assert_eq!(
        compared, 9,
        "the alerts Fink's cuts keep (at least 4 detections, 20 in all)"
    );
}

/// The alert as it would have been `k` detections in: its first k detections in Fink's
/// order (the k-th as the trigger), with `ndethist` counting them.
fn young(alert: &solas_core::Alert, k: usize) -> solas_core::Alert {
    let mut fink_order: Vec<_> = alert.detections[1..].to_vec();
    fink_order.push(alert.detections[0].clone());
    fink_order.retain(|d| d.mag.is_some() && d.mag_err.is_some());
    fink_order.truncate(k);
    let mut young = alert.clone();
    let trigger = fink_order.pop().unwrap();
    young.detections = std::iter::once(trigger).chain(fink_order).collect();
    if let solas_core::SurveyObject::Ztf(ztf) = &mut young.survey_object {
        ztf.ndethist = Some(k as i32);
    }
    young
}

#[test]
fn the_early_snia_model_scores_young_rising_alerts_as_fink() {
    let model = Model::load(&models_dir().join("ztf-early-snia")).unwrap();
    let alerts = shared_ztf_alerts();
    let reference = reference();
    let mut scored = 0;
    for p in reference["prefixes"].as_array().unwrap() {
        let k = p["detections"].as_u64().unwrap() as usize;
        let fink = p["score"].as_f64().unwrap();
        if fink == 0.0 || k > 20 {
            continue;
        }
        let alert = young(&alerts[&p["candid"].as_i64().unwrap()], k);
        match model.score(&alert, &ModelContext::default()) {
            Outcome::Scored(s) => {
                assert!(
                    (s.probability - fink).abs() <= 1e-6,
                    "{}: {} vs {fink}",
                    alert.alert_id,
                    s.probability
                );
                assert_eq!(s.features.len(), 12);
                scored += 1;
            }
            other => panic!("{}: {other:?}", alert.alert_id),
        }
        // On a star the cut leaves it out, as Fink's SIMBAD cut would.
        let star = ModelContext {
            context_class: Some("VS"),
        };
        assert!(matches!(model.score(&alert, &star), Outcome::NotScored(_)));
    }
    assert_eq!(scored, 67, "the scored prefixes of at most 20 detections");
}
