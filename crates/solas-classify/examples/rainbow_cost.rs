//! Per-curve time of the Rubin early SN Ia model (Rainbow fit and forest) on the ELAsTiCC
//! curves its parity test uses (every prefix of fink-science's 556 test alerts): the time
//! of every curve, of those its cuts leave out and of those it fits, 20 rounds each.
//!
//!     cargo run --release -p solas-classify --example rainbow_cost -- \
//!         crates/solas-classify/tests/data/rainbow_reference_rubin.json

use std::time::Instant;

use solas_classify::forest::Forest;
use solas_classify::models::rainbow::{self, Source};
use solas_core::Band;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: rainbow_cost REFERENCE.json")?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let forest_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/rubin-early-snia/model.forest"
    );
    let forest = Forest::read(std::path::Path::new(forest_path))?;
    let mut curves: Vec<Vec<Source>> = Vec::new();
    for c in doc["curves"].as_array().ok_or("no curves")? {
        let n = c["mjd"].as_array().map_or(0, |a| a.len());
        let all: Vec<Source> = (0..n)
            .filter_map(|i| {
                Some(Source {
                    mjd: c["mjd"][i].as_f64()?,
                    band: Band::ALL
                        .into_iter()
                        .find(|b| Some(b.as_str()) == c["band"][i].as_str())?,
                    flux: c["flux"][i].as_f64().map(|v| v as f32),
                    flux_err: c["flux_err"][i].as_f64().map(|v| v as f32),
                })
            })
            .collect();
        curves.extend((1..=all.len()).map(|k| all[..k].to_vec()));
    }
    let (mut cut, mut fitted) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        for curve in &curves {
            let started = Instant::now();
            let outcome = rainbow::features(curve).map(|x| forest.score(&x));
            let us = started.elapsed().as_secs_f64() * 1e6;
            match outcome {
                Ok(_) => fitted.push(us),
                Err(_) => cut.push(us),
            }
        }
    }
    let report = |name: &str, v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "{name:<8} {:>5} curves: median {:.1} µs, mean {:.1} µs, p99 {:.1} µs",
            v.len() / 20,
            at(0.5),
            mean,
            at(0.99)
        );
    };
    let mut all: Vec<f64> = cut.iter().chain(&fitted).copied().collect();
    report("all", &mut all);
    report("cut", &mut cut);
    report("fitted", &mut fitted);
    Ok(())
}
