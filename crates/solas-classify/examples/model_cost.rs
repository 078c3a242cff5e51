//! Per-alert time of each built-in model on real alerts: every alert of the given Avro
//! files (container files) scored by every model of its survey, many rounds, with the
//! median and the 99th percentile per alert; then all of them together, as the filter
//! stage scores a batch (`Model::score_many`). With `--young`, each ZTF alert is replaced by
//! the alerts its object would have sent on the way (its first k detections, k = 1..n, with
//! `ndethist` = k): the shared files hold mostly old objects, which the early SN Ia and
//! kilonova cuts leave out, while a real stream starts every object young.
//!
//!     cargo run --release -p solas-classify --example model_cost -- [--young] FILE...

use std::time::Instant;

use solas_classify::{ModelContext, ModelSet, Outcome};
use solas_core::{Alert, SurveyObject};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    let young = files.first().is_some_and(|f| f == "--young");
    if young {
        files.remove(0);
    }
    if files.is_empty() {
        return Err("usage: model_cost [--young] FILE...".into());
    }
    let decoder = solas_decode::Decoder::new();
    let mut alerts = Vec::new();
    for f in &files {
        let Ok(decoded) = decoder.decode(&std::fs::read(f)?) else {
            continue; // not a container file
        };
        alerts.extend(decoded.records.into_iter().filter_map(|(_, a)| a.ok()));
    }
    if young {
        alerts = alerts.iter().flat_map(prefixes).collect();
    }
    let models = ModelSet::builtin();
    for model in &models.models {
        let mine: Vec<_> = alerts.iter().filter(|a| a.survey == model.survey).collect();
        if mine.is_empty() {
            continue;
        }
        let mut times = Vec::new();
        let mut scored = 0;
        for round in 0..20 {
            for alert in &mine {
                let started = Instant::now();
                let outcome = model.score(alert, &ModelContext::default());
                times.push(started.elapsed().as_secs_f64() * 1e6);
                if round == 0 && matches!(outcome, Outcome::Scored(_)) {
                    scored += 1;
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{:<10} {:>4} alerts ({scored} scored): median {:.1} µs, mean {:.1} µs, p99 {:.1} µs per alert",
            model.name(),
            mine.len(),
            at(0.5),
            mean,
            at(0.99)
        );
        let together: Vec<_> = mine.iter().map(|a| (*a, ModelContext::default())).collect();
        let started = Instant::now();
        let rounds = 20;
        for _ in 0..rounds {
            std::hint::black_box(model.score_many(&together));
        }
        println!(
            "{:<10} together: {:.1} µs per alert",
            model.name(),
            started.elapsed().as_secs_f64() * 1e6 / (rounds * mine.len()) as f64
        );
    }
    Ok(())
}

/// A ZTF alert as its object's k-th alert, for each k (other alerts as they are).
fn prefixes(alert: &Alert) -> Vec<Alert> {
    let SurveyObject::Ztf(_) = &alert.survey_object else {
        return vec![alert.clone()];
    };
    // Oldest first: the history as the packet lists it, then the trigger.
    let mut in_order: Vec<_> = alert.detections.iter().skip(1).cloned().collect();
    in_order.extend(alert.detections.first().cloned());
    (1..=in_order.len())
        .map(|k| {
            let mut young = alert.clone();
            let mut first = in_order[..k].to_vec();
            let trigger = first.pop().expect("k >= 1");
            young.detections = std::iter::once(trigger).chain(first).collect();
            if let SurveyObject::Ztf(ztf) = &mut young.survey_object {
                ztf.ndethist = Some(k as i32);
            }
            young
        })
        .collect()
}
