//! A small Levenberg–Marquardt least-squares solver.
//!
//! Hand-written because the fits here have 3–5 parameters and no Rust crate offers LM
//! without pulling in a linear-algebra stack (nalgebra/ndarray) far larger than the job.
//! It mirrors what Lasair gets from `scipy.optimize.leastsq` (MINPACK `lmdif`) where that
//! matters for acceptance: a forward-difference Jacobian, function evaluations counted the
//! same way (each Jacobian costs one call per parameter), `maxfev` as a hard failure,
//! MINPACK's default tolerances, and the unscaled covariance `(JᵀJ)⁻¹` at the solution.

/// MINPACK's default ftol/xtol in scipy: sqrt(machine epsilon).
const TOL: f64 = 1.490_116_119_384_765_6e-8;

#[derive(Debug, Clone, PartialEq)]
pub struct LmFit {
    pub params: Vec<f64>,
    /// Sum of squared residuals at `params`.
    pub sse: f64,
    /// Residual-function calls used, Jacobian columns included.
    pub nfev: usize,
    /// `(JᵀJ)⁻¹` at the solution (scipy's `cov_x`, not scaled by the residual variance);
    /// None when singular.
    pub cov: Option<Vec<Vec<f64>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LmError {
    /// The residuals are not finite at the starting point.
    BadStart,
    /// `maxfev` function evaluations were used without converging (Lasair: a failed fit).
    MaxFev,
}

/// Minimise Σ rᵢ(p)² from `p0`. `residuals(p, out)` fills `out` (length `m`).
pub fn levenberg_marquardt<F>(
    residuals: F,
    p0: &[f64],
    m: usize,
    maxfev: usize,
) -> Result<LmFit, LmError>
where
    F: Fn(&[f64], &mut [f64]),
{
    let n = p0.len();
    let mut nfev = 0usize;
    let eval = |p: &[f64], out: &mut Vec<f64>, nfev: &mut usize| -> f64 {
        residuals(p, out);
        *nfev += 1;
        let s: f64 = out.iter().map(|r| r * r).sum();
        if s.is_finite() {
            s
        } else {
            f64::INFINITY
        }
    };

    let mut p = p0.to_vec();
    let mut r = vec![0.0; m];
    let mut sse = eval(&p, &mut r, &mut nfev);
    if !sse.is_finite() || n == 0 {
        return Err(LmError::BadStart);
    }
    let mut scale = vec![0.0f64; n];
    let mut r_new = vec![0.0; m];
    // Trust-region radius in scaled units (MINPACK: factor 100 times |D·x0|).
    let mut delta = 0.0;
    let mut first = true;
    let mut first_iteration = true;

    loop {
        let jac = jacobian(&residuals, &p, &r, &mut nfev);
        if nfev >= maxfev {
            return Err(LmError::MaxFev);
        }
        let (a, g) = normal_equations(&jac, &r, n);
        // Scale by the running maximum of the Jacobian's column norms (as MINPACK).
        for j in 0..n {
            scale[j] = scale[j].max(a[j][j].sqrt());
            if scale[j] == 0.0 {
                scale[j] = 1.0;
            }
        }
        if first {
            let xnorm = norm_scaled(&p, &scale);
            delta = if xnorm > 0.0 { 100.0 * xnorm } else { 100.0 };
            first = false;
        }
        if g.iter().all(|x| *x == 0.0) {
            return Ok(finish(&residuals, p, sse, nfev, &r));
        }
        // Inner loop: shrink the trust region until a step reduces the sum of squares.
        loop {
            let Some((step, lambda)) = constrained_step(&a, &g, &scale, delta) else {
                return Ok(finish(&residuals, p, sse, nfev, &r));
            };
            let pnorm = norm_scaled(&step, &scale);
            if first_iteration {
                // As MINPACK: the first step's length bounds the region from then on.
                delta = delta.min(pnorm);
                first_iteration = false;
            }
            let p_new: Vec<f64> = p.iter().zip(&step).map(|(x, d)| x + d).collect();
            let sse_new = eval(&p_new, &mut r_new, &mut nfev);
            // Predicted reduction of the linearised model.
            let ad: f64 = (0..n)
                .map(|i| step[i] * (0..n).map(|j| a[i][j] * step[j]).sum::<f64>())
                .sum();
            let gd: f64 = g.iter().zip(&step).map(|(x, d)| x * d).sum();
            let predicted = -(2.0 * gd + ad) / sse;
            let actual = if sse_new.is_finite() {
                (sse - sse_new) / sse
            } else {
                -1.0
            };
            let ratio = if predicted > 0.0 {
                actual / predicted
            } else {
                0.0
            };
            if ratio <= 0.25 {
                delta = 0.5 * delta.min(10.0 * pnorm);
            } else if lambda == 0.0 || ratio >= 0.75 {
                delta = 2.0 * pnorm;
            }
            let accepted = ratio >= 1e-4 && sse_new < sse;
            if accepted {
                p = p_new;
                sse = sse_new;
                std::mem::swap(&mut r, &mut r_new);
            }
            let xnorm = norm_scaled(&p, &scale);
            let ftol_met = actual.abs() <= TOL && predicted <= TOL && 0.5 * ratio <= 1.0;
            if ftol_met || delta <= TOL * xnorm || sse == 0.0 {
                return Ok(finish(&residuals, p, sse, nfev, &r));
            }
            if nfev >= maxfev {
                return Err(LmError::MaxFev);
            }
            if accepted {
                break;
            }
        }
    }
}

/// The Levenberg–Marquardt step −(JᵀJ + λD²)⁻¹Jᵀr whose scaled length is about `delta`
/// (λ = 0, the Gauss–Newton step, when that already fits). Returns the step and λ.
fn constrained_step(
    a: &[Vec<f64>],
    g: &[f64],
    scale: &[f64],
    delta: f64,
) -> Option<(Vec<f64>, f64)> {
    let n = g.len();
    let step_for = |lambda: f64| -> Option<Vec<f64>> {
        let mut mat = a.to_vec();
        for j in 0..n {
            mat[j][j] += lambda * scale[j] * scale[j];
        }
        let s = solve(mat, g.iter().map(|x| -x).collect())?;
        s.iter().all(|x| x.is_finite()).then_some(s)
    };
    if let Some(s) = step_for(0.0) {
        if norm_scaled(&s, scale) <= 1.1 * delta {
            return Some((s, 0.0));
        }
    }
    // |D·step(λ)| falls monotonically with λ: bracket, then bisect in log λ.
    let mut hi = 1e-12f64;
    let long_enough = |l: f64| step_for(l).map(|s| norm_scaled(&s, scale) > delta);
    while long_enough(hi) != Some(false) {
        hi *= 10.0;
        if hi > 1e30 {
            return None;
        }
    }
    let mut lo = hi / 10.0;
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        match step_for(mid) {
            Some(s) => {
                let len = norm_scaled(&s, scale);
                if (len - delta).abs() <= 0.1 * delta {
                    return Some((s, mid));
                }
                if len > delta {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            None => lo = mid,
        }
    }
    step_for(hi).map(|s| (s, hi))
}

fn finish<F: Fn(&[f64], &mut [f64])>(
    residuals: &F,
    params: Vec<f64>,
    sse: f64,
    nfev: usize,
    r: &[f64],
) -> LmFit {
    let mut dummy = 0;
    let jac = jacobian(residuals, &params, r, &mut dummy);
    let (a, _) = normal_equations(&jac, r, params.len());
    LmFit {
        cov: invert(a),
        params,
        sse,
        nfev,
    }
}

/// Forward-difference Jacobian, columns `jac[j][i] = ∂rᵢ/∂pⱼ`; step sqrt(eps)·|pⱼ| as MINPACK.
fn jacobian<F: Fn(&[f64], &mut [f64])>(
    residuals: &F,
    p: &[f64],
    r: &[f64],
    nfev: &mut usize,
) -> Vec<Vec<f64>> {
    let eps = f64::EPSILON.sqrt();
    let mut q = p.to_vec();
    let mut out = vec![0.0; r.len()];
    let mut jac = Vec::with_capacity(p.len());
    for j in 0..p.len() {
        let h = if p[j] == 0.0 { eps } else { eps * p[j].abs() };
        q[j] = p[j] + h;
        residuals(&q, &mut out);
        *nfev += 1;
        q[j] = p[j];
        jac.push(out.iter().zip(r).map(|(a, b)| (a - b) / h).collect());
    }
    jac
}

fn normal_equations(jac: &[Vec<f64>], r: &[f64], n: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut a = vec![vec![0.0; n]; n];
    let mut g = vec![0.0; n];
    for i in 0..n {
        for j in 0..n {
            a[i][j] = jac[i].iter().zip(&jac[j]).map(|(x, y)| x * y).sum();
        }
        g[i] = jac[i].iter().zip(r).map(|(x, y)| x * y).sum();
    }
    (a, g)
}

fn norm_scaled(v: &[f64], scale: &[f64]) -> f64 {
    v.iter()
        .zip(scale)
        .map(|(x, s)| (x * s) * (x * s))
        .sum::<f64>()
        .sqrt()
}

/// Solve `a x = b` by Gaussian elimination with partial pivoting; None if singular.
pub fn solve(a: Vec<Vec<f64>>, b: Vec<f64>) -> Option<Vec<f64>> {
    solve_with_min_pivot(a, b, 0.0)
}

/// Gaussian elimination treating any pivot with |pivot| ≤ `min_pivot` (or not finite) as
/// singular.
fn solve_with_min_pivot(mut a: Vec<Vec<f64>>, mut b: Vec<f64>, min_pivot: f64) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let pv = a[piv][col];
        if !pv.is_finite() || pv.abs() <= min_pivot || pv == 0.0 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (x, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    Some(x)
}

/// Inverse of a symmetric positive semi-definite matrix; None if (numerically) singular.
///
/// The matrix is first scaled to unit diagonal so that the singularity test does not
/// depend on the parameters' very different units (A ~ 1e6 against rates ~ 0.1).
pub fn invert(a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let d: Vec<f64> = (0..n).map(|i| a[i][i].sqrt()).collect();
    if d.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return None;
    }
    let scaled: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| a[i][j] / (d[i] * d[j])).collect())
        .collect();
    let mut inv = vec![vec![0.0; n]; n];
    for col in 0..n {
        let mut e = vec![0.0; n];
        e[col] = 1.0;
        // Pivots below 1e-14 of a unit-diagonal matrix mean a singular one.
        let x = solve_with_min_pivot(scaled.clone(), e, 1e-14)?;
        for row in 0..n {
            inv[row][col] = x[row] / (d[row] * d[col]);
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_line_exactly() {
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 * x - 2.0).collect();
        let fit = levenberg_marquardt(
            |p, out| {
                for (i, x) in xs.iter().enumerate() {
                    out[i] = ys[i] - (p[0] * x + p[1]);
                }
            },
            &[1.0, 1.0],
            xs.len(),
            500,
        )
        .unwrap();
        assert!((fit.params[0] - 3.0).abs() < 1e-8 && (fit.params[1] + 2.0).abs() < 1e-8);
        assert!(fit.sse < 1e-12);
        // (JᵀJ)⁻¹ for a line through x = 0..4: var(slope) = 1/Σ(x−x̄)² = 0.1.
        let cov = fit.cov.unwrap();
        assert!((cov[0][0] - 0.1).abs() < 1e-6, "{cov:?}");
    }

    #[test]
    fn fits_an_exponential() {
        let ts: Vec<f64> = (0..20).map(|i| i as f64 * 0.5).collect();
        let ys: Vec<f64> = ts.iter().map(|t| 50.0 * (-0.3 * t).exp()).collect();
        let fit = levenberg_marquardt(
            |p, out| {
                for (i, t) in ts.iter().enumerate() {
                    out[i] = ys[i] - p[0] * (p[1] * t).exp();
                }
            },
            &[1.0, 0.0],
            ts.len(),
            500,
        )
        .unwrap();
        assert!((fit.params[0] - 50.0).abs() < 1e-5, "{:?}", fit.params);
        assert!((fit.params[1] + 0.3).abs() < 1e-7);
    }

    #[test]
    fn maxfev_is_a_failure() {
        let r = levenberg_marquardt(
            |p, out| {
                out[0] = 1.0 - p[0];
                out[1] = 10.0 * (p[1] - p[0] * p[0]);
            },
            &[-1.2, 1.0],
            2,
            5,
        );
        assert_eq!(r, Err(LmError::MaxFev));
    }

    #[test]
    fn nan_start_is_refused() {
        let r = levenberg_marquardt(|_, out| out[0] = f64::NAN, &[1.0], 1, 500);
        assert_eq!(r, Err(LmError::BadStart));
    }

    #[test]
    fn singular_matrix() {
        assert_eq!(invert(vec![vec![1.0, 1.0], vec![1.0, 1.0]]), None);
        assert_eq!(
            solve(vec![vec![0.0, 0.0], vec![0.0, 0.0]], vec![1.0, 1.0]),
            None
        );
    }
}
