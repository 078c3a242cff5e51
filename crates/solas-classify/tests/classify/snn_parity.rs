//! SuperNNova's SN-vs-other network through Solas (its input rows rebuilt in Rust, the
//! ONNX export run by tract) and through fink-science and SuperNNova's own code
//! (`tools/models/snn_reference.py`, answers kept in `tests/data/snn_reference_rubin.json`:
//! PyTorch is too heavy for CI). Every shared Rubin alert, and 220 longer light curves made
//! from the shared ZTF alerts' histories (the Rubin alerts are first detections).

use std::collections::HashMap;

use serde_json::Value;
use solas_classify::models::snn::{input_rows, Network, Norm, Point};
use solas_classify::{Model, ModelContext, Outcome};

/// Every shared Rubin alert in a container file, by diaSourceId (the wire-format files
/// hold the same alerts).
pub fn shared_rubin_alerts() -> HashMap<i64, solas_core::Alert> {
    let decoder = solas_decode::Decoder::new();
    let mut alerts = HashMap::new();
    for file in solas_testdata::shared_glob("lsst/real/*/*.avro") {
        let bytes = std::fs::read(&file).unwrap();
        let Ok(decoded) = decoder.decode(&bytes) else {
            continue; // wire format
        };
        for (_, alert) in decoded.records {
            let alert = alert.unwrap();
            alerts.insert(alert.alert_id, alert);
        }
    }
    alerts
}

fn reference() -> Value {
    serde_json::from_str(include_str!("../data/snn_reference_rubin.json")).unwrap()
}

fn load() -> (Norm, Network) {
    let dir = crate::fink_parity::models_dir().join("rubin-snn-sn");
    let norm = Norm::parse(&std::fs::read_to_string(dir.join("norm.json")).unwrap()).unwrap();
    let net = Network::from_onnx(&std::fs::read(dir.join("model.onnx")).unwrap(), 76).unwrap();
    (norm, net)
}

/// A recorded row (13 numbers, then the index of its one-hot or -1) as the 76 inputs.
fn expand(row: &Value) -> Vec<f32> {
    let r = row.as_array().unwrap();
    let mut x: Vec<f32> = r[..13].iter().map(|v| v.as_f64().unwrap() as f32).collect();
    x.resize(76, 0.0);
    let hot = r[13].as_i64().unwrap();
    if hot >= 0 {
        x[13 + hot as usize] = 1.0;
    }
    x
}

/// SuperNNova's own input rows of the recorded longer curves.
fn recorded_curves() -> Vec<Vec<Vec<f32>>> {
    reference()["curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["inputs"].as_array().unwrap().iter().map(expand).collect())
        .collect()
}

fn assert_rows_equal(what: &str, ours: &[Vec<f32>], theirs: &[Value]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: epochs");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let b = expand(b);
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                "{what} row {i} input {k}: Solas {x}, SuperNNova {y}"
            );
        }
    }
}

#[test]
fn longer_light_curves_get_supernnovas_inputs_and_scores() {
    let (norm, net) = load();
    let doc = reference();
    let curves = doc["curves"].as_array().unwrap();
    assert!(curves.len() >= 200);
    let mut worst = 0f64;
    let mut epochs = 0;
    for c in curves {
        let what = format!("curve of {} (rotated {})", c["candid"], c["rotated"]);
        let floats = |k: &str| -> Vec<f64> {
            c[k].as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let (mjd, flux, err) = (floats("mjd"), floats("flux"), floats("flux_err"));
        let points: Vec<Point> = c["band"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, b)| Point {
                mjd: mjd[i],
                band: b.as_str().unwrap().chars().next().unwrap(),
                flux: flux[i] as f32,
                flux_err: err[i] as f32,
            })
            .collect();
        let rows = input_rows(&points, &norm);
        let theirs = c["inputs"].as_array().unwrap();
        assert_rows_equal(&what, &rows, theirs);
        epochs += rows.len();
        let want = c["p_sn"].as_f64().unwrap();
        let p = f64::from(net.probabilities(&rows).unwrap()[0]);
        assert!(
            (p - want).abs() <= 1e-4,
            "{what}: Solas {p}, SuperNNova {want}"
        );
        // tract on SuperNNova's own rows: the network alone.
        let theirs: Vec<Vec<f32>> = theirs.iter().map(expand).collect();
        let p_theirs = f64::from(net.probabilities(&theirs).unwrap()[0]);
        worst = worst.max((p_theirs - want).abs());
    }
    // float32 sums in another order: inputs near -1000 (SuperNNova's odd flux
    // normalisation) cost a few 1e-5.
    assert!(
        worst <= 1e-4,
        "tract vs PyTorch on the same rows: {worst:e}"
    );
    eprintln!(
        "{} curves, {epochs} epochs; tract vs PyTorch worst {worst:.1e}",
        curves.len()
    );
}

#[test]
fn every_shared_rubin_alert_scores_as_fink_science() {
    let model = Model::load(&crate::fink_parity::models_dir().join("rubin-snn-sn")).unwrap();
    let (norm, _) = load();
    let alerts = shared_rubin_alerts();
    let doc = reference();
    let rows = doc["alerts"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    for r in rows {
        let id = r["diaSourceId"].as_i64().unwrap();
        let alert = &alerts[&id];
        let ours = input_rows(&solas_classify::models::snn::points(alert), &norm);
        assert_rows_equal(
            &format!("alert {id}"),
            &ours,
            r["inputs"].as_array().unwrap(),
        );
        let want = r["p_sn"].as_f64().unwrap();
        match model.score(alert, &ModelContext::default()) {
            Outcome::Scored(s) => assert!(
                (s.probability - want).abs() <= 1e-4,
                "{id}: Solas {}, fink {want}",
                s.probability
            ),
            other => panic!("{id}: not scored: {other:?}"),
        }
    }
}

/// Curves of many lengths through the network together give each its own answer.
#[test]
fn curves_scored_together_get_the_answers_they_get_alone() {
    let (_, net) = load();
    let curves = recorded_curves();
    let refs: Vec<&[Vec<f32>]> = curves.iter().map(|c| &c[..]).collect();
    let together = net.probabilities_of_many(&refs).unwrap();
    for (c, p) in curves.iter().zip(&together) {
        let alone = net.probabilities(c).unwrap();
        for (a, b) in alone.iter().zip(p) {
            assert!((a - b).abs() <= 1e-6, "alone {a}, together {b}");
        }
    }
}

/// A curve's score does not depend on the curves it goes through the network with: a
/// stored score must not change with how alerts fell into batches (a run after an outage
/// must store what a clean run stores).
#[test]
fn a_curves_score_is_the_same_bits_whatever_batch_it_is_in() {
    let (_, net) = load();
    let curves = recorded_curves();
    // Curves of one length, in several groupings: alone, in twos, in full runs, reversed.
    let mut by_length: std::collections::BTreeMap<usize, Vec<&[Vec<f32>]>> = Default::default();
    for c in &curves {
        by_length.entry(c.len()).or_default().push(&c[..]);
    }
    let group = by_length.values().max_by_key(|g| g.len()).unwrap();
    assert!(group.len() >= 20, "{} curves of one length", group.len());
    let all = net.probabilities_of_many(group).unwrap();
    let reversed: Vec<&[Vec<f32>]> = group.iter().rev().copied().collect();
    let mut back = net.probabilities_of_many(&reversed).unwrap();
    back.reverse();
    for (i, c) in group.iter().enumerate() {
        let alone = net.probabilities_of_many(&[c]).unwrap().remove(0);
        let pair = net
            .probabilities_of_many(&[c, group[(i + 1) % group.len()]])
            .unwrap()
            .remove(0);
        for (name, p) in [
            ("alone", &alone),
            ("in a pair", &pair),
            ("reversed", &back[i]),
        ] {
            assert_eq!(
                p.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                all[i].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "curve {i} {name}: {p:?} vs {:?}",
                all[i]
            );
        }
    }
}
