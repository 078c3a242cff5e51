//! Per-alert time of each built-in model on real alerts: every alert of the given Avro
//! files (container files) scored by every model of its survey, many rounds, with the
//! median and the 99th percentile per alert; then all of them together, as the filter
//! stage scores a batch (`Model::score_many`).
//!
//!     cargo run --release -p solas-classify --example model_cost -- FILE...

use std::time::Instant;

use solas_classify::{ModelContext, ModelSet, Outcome};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        return Err("usage: model_cost FILE...".into());
    }
    let decoder = solas_decode::Decoder::new();
    let mut alerts = Vec::new();
    for f in &files {
        let Ok(decoded) = decoder.decode(&std::fs::read(f)?) else {
            continue; // not a container file
        };
        alerts.extend(decoded.records.into_iter().filter_map(|(_, a)| a.ok()));
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
