//! numpy's arithmetic where a model's features depend on its last bits: summation order,
//! mean and standard deviation as numpy computes them (in the array's own precision).
//! Models trained on features from flat fits need their inputs to the bit, or the fit
//! stops elsewhere.

use std::ops::{Add, Div, Mul, Sub};

/// The float types numpy's reductions run in here (float32 and float64).
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
{
    fn from_count(n: usize) -> Self;
    fn sqrt(self) -> Self;
}

impl Real for f64 {
    fn from_count(n: usize) -> f64 {
        n as f64
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
}

impl Real for f32 {
    fn from_count(n: usize) -> f32 {
        n as f32
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
}

/// numpy's pairwise summation (`np.add.reduce` over a contiguous array): sequential from
/// zero below 8 values, eight interleaved partial sums up to 128, halves above.
pub fn pairwise_sum<T: Real>(x: &[T]) -> T {
    let n = x.len();
    if n < 8 {
        return x.iter().fold(T::default(), |a, v| a + *v);
    }
    if n <= 128 {
        let mut r = [T::default(); 8];
        r.copy_from_slice(&x[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for k in 0..8 {
                r[k] = r[k] + x[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &x[i..] {
            res = res + *v;
        }
        return res;
    }
    let half = (n / 2) - (n / 2) % 8;
    pairwise_sum(&x[..half]) + pairwise_sum(&x[half..])
}

/// `np.mean`.
pub fn mean<T: Real>(x: &[T]) -> T {
    pairwise_sum(x) / T::from_count(x.len())
}

/// `np.std` (population, `ddof = 0`): the mean, the squared deviations summed pairwise,
/// divided by the count, square-rooted, all in `T`.
pub fn std<T: Real>(x: &[T]) -> T {
    let m = mean(x);
    let squares: Vec<T> = x
        .iter()
        .map(|v| {
            let d = *v - m;
            d * d
        })
        .collect();
    (pairwise_sum(&squares) / T::from_count(x.len())).sqrt()
}

/// `np.median`: the middle value, or the mean of the two middle ones.
pub fn median(x: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// `np.ptp`: largest minus smallest.
pub fn ptp<T: Real>(x: &[T]) -> Option<T> {
    let first = *x.first()?;
    let (lo, hi) = x.iter().fold((first, first), |(lo, hi), v| {
        (if *v < lo { *v } else { lo }, if *v > hi { *v } else { hi })
    });
    Some(hi - lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_adds_as_numpy_does() {
        let x: Vec<f64> = (0..20).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let direct: f64 = x.iter().sum();
        assert!((pairwise_sum(&x) - direct).abs() < 1e-14);
        assert_eq!(pairwise_sum(&[1.0, 2.0]), 3.0);
        // float32 sums stay in float32: 2^24 + 1 is lost as numpy loses it.
        assert_eq!(pairwise_sum(&[16_777_216.0f32, 1.0]), 16_777_216.0f32);
    }

    #[test]
    fn std_and_median_of_small_arrays() {
        assert_eq!(std(&[1.0f64, 3.0]), 1.0);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(ptp(&[2.0f32, -1.0, 5.0]), Some(6.0));
    }
}
