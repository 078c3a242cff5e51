//! The jump detector: how many standard deviations recent fluxes sit from an older baseline.

use solas_core::Band;

/// The baseline window is 10 < T − t < 70 days before the last detection T …
pub const SAMPLE_FROM: f64 = 10.0;
pub const SAMPLE_TO: f64 = 70.0;
/// … and needs at least this many points in a band.
pub const MIN_SAMPLE: usize = 5;

/// (jump1, jump2): the largest and second largest per-band |f − μ|/σ over detections in
/// the last 10 days, against the band's baseline mean μ and sample σ. 0 when there is none.
///
/// Lasair's test window is 0 < T − t < 10, which leaves out the newest detection itself
/// (the one that most likely triggered the alert); Solas includes it (0 ≤ T − t < 10).
pub fn jumps(lc: &[(f64, Band, f64)]) -> (f64, f64) {
    let Some(last) = lc.iter().map(|o| o.0).max_by(f64::total_cmp) else {
        return (0.0, 0.0);
    };
    let mut stats = [(0usize, 0.0f64, 0.0f64); 6];
    for &(t, b, f) in lc {
        let age = last - t;
        if age > SAMPLE_FROM && age < SAMPLE_TO {
            let s = &mut stats[b.index()];
            s.0 += 1;
            s.1 += f;
            s.2 += f * f;
        }
    }
    let baseline: Vec<Option<(f64, f64)>> = stats
        .iter()
        .map(|&(n, sum, sum2)| {
            if n < MIN_SAMPLE {
                return None;
            }
            let n = n as f64;
            let mean = sum / n;
            let sd = ((sum2 - n * mean * mean) / (n - 1.0)).max(0.0).sqrt();
            (sd > 0.0 && sd.is_finite()).then_some((mean, sd))
        })
        .collect();
    let mut best = [0.0f64; 6];
    for &(t, b, f) in lc {
        let age = last - t;
        if (0.0..SAMPLE_FROM).contains(&age) {
            if let Some((mean, sd)) = baseline[b.index()] {
                best[b.index()] = best[b.index()].max((f - mean).abs() / sd);
            }
        }
    }
    best.sort_by(|a, b| b.total_cmp(a));
    (best[0], best[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_counts_the_newest_point() {
        // Baseline in g: 100, 102, 98, 101, 99 (mean 100, sd ≈ 1.58), 20–40 days before.
        let mut lc: Vec<(f64, Band, f64)> = [100.0, 102.0, 98.0, 101.0, 99.0]
            .iter()
            .enumerate()
            .map(|(i, &f)| (60.0 + 5.0 * i as f64, Band::G, f))
            .collect();
        lc.push((100.0, Band::G, 110.0));
        let sd = (10.0f64 / 4.0).sqrt();
        let (j1, j2) = jumps(&lc);
        assert!((j1 - 10.0 / sd).abs() < 1e-9, "{j1}");
        assert_eq!(j2, 0.0);
        // A second band with its own jump becomes jump2 when smaller.
        for (i, f) in [50.0, 51.0, 49.0, 50.0, 50.0].iter().enumerate() {
            lc.push((61.0 + 5.0 * i as f64, Band::R, *f));
        }
        lc.push((99.0, Band::R, 52.0));
        let (j1b, j2b) = jumps(&lc);
        assert_eq!(j1b, j1);
        let sd_r = (2.0f64 / 4.0).sqrt();
        assert!((j2b - 2.0 / sd_r).abs() < 1e-9, "{j2b}");
    }

    #[test]
    fn too_little_baseline_gives_zero() {
        let lc = vec![
            (0.0, Band::I, 1.0),
            (20.0, Band::I, 2.0),
            (30.0, Band::I, 50.0),
        ];
        assert_eq!(jumps(&lc), (0.0, 0.0));
        assert_eq!(jumps(&[]), (0.0, 0.0));
    }
}
