//! Nonlinear least squares as `scipy.optimize.least_squares` solves it with its defaults
//! (method `trf` without bounds, linear loss, `x_scale = 1`, tolerances 1e-8, Jacobian by
//! forward differences), step for step: models trained on features from scipy's fits need
//! the point where scipy's solver stops, not merely a good minimum. On the sigmoid fits of
//! actsnfink the problems are often flat (a rising exponential fits as well as any
//! sigmoid), and another solver (scipy's own Levenberg–Marquardt) changes one score in
//! seven. Written here because no crate reproduces scipy's path; the algorithm is Branch,
//! Coleman and Li's trust region with Moré's exact subproblem, as scipy documents it.
//!
//! The singular value decomposition is one-sided Jacobi and sums run in index order, so
//! steps differ from LAPACK's in the last bits. Where the cost is flat around the answer
//! that moves where the solver stops, as it moves scipy's own answer when only its SVD
//! driver changes (gesvd for gesdd): on the shared ZTF curves Solas's fits equal scipy's
//! to 1e-6 except on the few where scipy disagrees with itself (`tests/classify/`).

/// Where the solver stopped and why (scipy's `status`).
#[derive(Debug, Clone, PartialEq)]
pub struct Solution<const N: usize> {
    pub x: [f64; N],
    /// 0: `max_nfev` reached; 1: gradient; 2: cost (`ftol`); 3: step (`xtol`); 4: both.
    pub status: i32,
    /// Residual evaluations counted as scipy counts them (not the Jacobian's).
    pub nfev: usize,
    /// Half the sum of squared residuals at `x`.
    pub cost: f64,
}

/// Why no fit was made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrfError {
    /// scipy raises "Residuals are not finite in the initial point".
    #[error("residuals are not finite at the initial point")]
    NotFiniteAtStart,
    #[error("no residuals")]
    Empty,
}

const TOL: f64 = 1e-8;
/// The machine epsilon of f64 (numpy's `finfo(float).eps`).
const EPS: f64 = f64::EPSILON;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// A dense m×N matrix, row by row.
type Matrix<const N: usize> = Vec<[f64; N]>;

/// Solve `min ½ Σ fᵢ(x)²` from `x0`. `residuals(x, out)` writes the m residuals at x.
pub fn least_squares<const N: usize>(
    mut residuals: impl FnMut(&[f64; N], &mut [f64]),
    x0: [f64; N],
    m: usize,
) -> Result<Solution<N>, TrfError> {
    if m == 0 {
        return Err(TrfError::Empty);
    }
    let mut f = vec![0.0; m];
    residuals(&x0, &mut f);
    if f.iter().any(|v| !v.is_finite()) {
        return Err(TrfError::NotFiniteAtStart);
    }
    let max_nfev = 100 * N;
    let mut x = x0;
    let mut nfev = 1;
    let mut jac = jacobian(&mut residuals, &x, &f);
    let mut cost = 0.5 * dot(&f, &f);
    let mut g = gradient(&jac, &f);
    let mut delta = norm(&x0);
    if delta == 0.0 {
        delta = 1.0;
    }
    let mut alpha = 0.0;
    let mut status = None;
    let mut f_new = vec![0.0; m];
    loop {
        if g.iter().fold(0.0f64, |a, v| a.max(v.abs())) < TOL {
            status = Some(1);
        }
        if status.is_some() || nfev == max_nfev {
            break;
        }
        let svd = Svd::of(&jac);
        let uf = svd.ut_times(&f);
        let mut actual_reduction = -1.0;
        let mut cost_new = cost;
        let mut x_new = x;
        while actual_reduction <= 0.0 && nfev < max_nfev {
            let (step, new_alpha) = svd.trust_region_step(&uf, m, delta, alpha);
            alpha = new_alpha;
            let predicted_reduction = -quadratic(&jac, &g, &step);
            for i in 0..N {
                x_new[i] = x[i] + step[i];
            }
            residuals(&x_new, &mut f_new);
            nfev += 1;
            let step_norm = norm(&step);
            if f_new.iter().any(|v| !v.is_finite()) {
                delta = 0.25 * step_norm;
                continue;
            }
            cost_new = 0.5 * dot(&f_new, &f_new);
            actual_reduction = cost - cost_new;
            let (delta_new, ratio) = update_radius(
                delta,
                actual_reduction,
                predicted_reduction,
                step_norm,
                step_norm > 0.95 * delta,
            );
            status = termination(actual_reduction, cost, step_norm, norm(&x), ratio);
            if status.is_some() {
                break;
            }
            alpha *= delta / delta_new;
            delta = delta_new;
        }
        if actual_reduction > 0.0 {
            x = x_new;
            std::mem::swap(&mut f, &mut f_new);
            cost = cost_new;
            jac = jacobian(&mut residuals, &x, &f);
            g = gradient(&jac, &f);
        }
    }
    Ok(Solution {
        x,
        status: status.unwrap_or(0),
        nfev,
        cost,
    })
}

/// Forward differences as scipy's `approx_derivative(method="2-point")`: a step of
/// √eps·max(1, |x|) signed as x (0 counts as positive), the step actually taken
/// recomputed from the rounded point.
fn jacobian<const N: usize>(
    residuals: &mut impl FnMut(&[f64; N], &mut [f64]),
    x: &[f64; N],
    f: &[f64],
) -> Matrix<N> {
    let m = f.len();
    let rstep = EPS.sqrt();
    let mut jac = vec![[0.0; N]; m];
    let mut shifted = vec![0.0; m];
    for i in 0..N {
        let sign = if x[i] >= 0.0 { 1.0 } else { -1.0 };
        let h = rstep * sign * x[i].abs().max(1.0);
        let mut xh = *x;
        xh[i] = x[i] + h;
        let dx = xh[i] - x[i];
        residuals(&xh, &mut shifted);
        for (row, (s, f0)) in jac.iter_mut().zip(shifted.iter().zip(f)) {
            row[i] = (s - f0) / dx;
        }
    }
    jac
}

fn gradient<const N: usize>(jac: &Matrix<N>, f: &[f64]) -> [f64; N] {
    let mut g = [0.0; N];
    for (row, fi) in jac.iter().zip(f) {
        for k in 0..N {
            g[k] += row[k] * fi;
        }
    }
    g
}

/// The model's predicted change of the cost for a step: ½‖J s‖² + sᵀg.
fn quadratic<const N: usize>(jac: &Matrix<N>, g: &[f64; N], step: &[f64; N]) -> f64 {
    let q: f64 = jac
        .iter()
        .map(|row| {
            let js = dot(row, step);
            js * js
        })
        .sum();
    0.5 * q + dot(step, g)
}

fn update_radius(
    delta: f64,
    actual: f64,
    predicted: f64,
    step_norm: f64,
    bound_hit: bool,
) -> (f64, f64) {
    let ratio = if predicted > 0.0 {
        actual / predicted
    } else if predicted == 0.0 && actual == 0.0 {
        1.0
    } else {
        0.0
    };
    let delta = if ratio < 0.25 {
        0.25 * step_norm
    } else if ratio > 0.75 && bound_hit {
        delta * 2.0
    } else {
        delta
    };
    (delta, ratio)
}

fn termination(dcost: f64, cost: f64, dx_norm: f64, x_norm: f64, ratio: f64) -> Option<i32> {
    let ftol = dcost < TOL * cost && ratio > 0.25;
    let xtol = dx_norm < TOL * (TOL + x_norm);
    match (ftol, xtol) {
        (true, true) => Some(4),
        (true, false) => Some(2),
        (false, true) => Some(3),
        (false, false) => None,
    }
}

/// The thin singular value decomposition J = U diag(s) Vᵀ of an m×N matrix, singular
/// values in decreasing order (only min(m, N) of them, as LAPACK's thin SVD).
struct Svd<const N: usize> {
    /// Columns of U: `u[k]` has m entries.
    u: Vec<Vec<f64>>,
    s: Vec<f64>,
    /// Columns of V.
    v: Vec<[f64; N]>,
}

impl<const N: usize> Svd<N> {
    /// One-sided Jacobi (Hestenes): rotate pairs of columns until all are orthogonal to
    /// working precision; the column norms are then the singular values. Accurate to a few
    /// ulps relative, like LAPACK's, which is what the trust-region step needs.
    fn of(jac: &Matrix<N>) -> Svd<N> {
        let m = jac.len();
        let mut cols: Vec<Vec<f64>> = (0..N).map(|k| jac.iter().map(|r| r[k]).collect()).collect();
        let mut v = [[0.0; N]; N];
        for (k, row) in v.iter_mut().enumerate() {
            row[k] = 1.0;
        }
        for _sweep in 0..60 {
            let mut rotated = false;
            for p in 0..N {
                for q in p + 1..N {
                    let alpha = dot(&cols[p], &cols[p]);
                    let beta = dot(&cols[q], &cols[q]);
                    let gamma = dot(&cols[p], &cols[q]);
                    if gamma == 0.0 || gamma.abs() <= EPS * (alpha * beta).sqrt() {
                        continue;
                    }
                    rotated = true;
                    let zeta = (beta - alpha) / (2.0 * gamma);
                    let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                    let t = if zeta == 0.0 { 1.0 } else { t };
                    let c = 1.0 / (1.0 + t * t).sqrt();
                    let s = c * t;
                    let (left, right) = cols.split_at_mut(q);
                    for (a, b) in left[p].iter_mut().zip(right[0].iter_mut()) {
                        let (x, y) = (*a, *b);
                        *a = c * x - s * y;
                        *b = s * x + c * y;
                    }
                    for row in v.iter_mut() {
                        let (a, b) = (row[p], row[q]);
                        row[p] = c * a - s * b;
                        row[q] = s * a + c * b;
                    }
                }
            }
            if !rotated {
                break;
            }
        }
        let mut order: Vec<(f64, usize)> = cols.iter().map(|c| norm(c)).zip(0..N).collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        order.truncate(m.min(N));
        let mut svd = Svd {
            u: Vec::with_capacity(order.len()),
            s: Vec::with_capacity(order.len()),
            v: Vec::with_capacity(order.len()),
        };
        for (sigma, k) in order {
            let column: Vec<f64> = match sigma > 0.0 {
                true => cols[k].iter().map(|x| x / sigma).collect(),
                false => vec![0.0; m],
            };
            svd.u.push(column);
            svd.s.push(sigma);
            svd.v.push(std::array::from_fn(|i| v[i][k]));
        }
        svd
    }

    /// scipy's test: m ≥ N and the smallest singular value above eps·m times the largest.
    fn full_rank(&self, m: usize) -> bool {
        let k = self.s.len();
        m >= N && k > 0 && self.s[k - 1] > EPS * m as f64 * self.s[0]
    }

    fn ut_times(&self, f: &[f64]) -> Vec<f64> {
        self.u.iter().map(|u| dot(u, f)).collect()
    }

    /// `V · w` for coefficients w over the columns of V.
    fn v_times(&self, w: &[f64]) -> [f64; N] {
        let mut out = [0.0; N];
        for i in 0..N {
            out[i] = self.v.iter().zip(w).map(|(col, wk)| col[i] * wk).sum();
        }
        out
    }

    /// The trust-region subproblem `min ‖J p + f‖` over `‖p‖ ≤ Δ`, solved as scipy's
    /// `solve_lsq_trust_region` (Moré 1977: the Gauss–Newton step if it fits, otherwise a
    /// safeguarded Newton iteration on the Levenberg–Marquardt parameter α, relative
    /// tolerance 0.01, at most 10 iterations). Returns the step and α.
    fn trust_region_step(&self, uf: &[f64], m: usize, delta: f64, alpha0: f64) -> ([f64; N], f64) {
        let s = &self.s;
        let suf: Vec<f64> = s.iter().zip(uf).map(|(s, u)| s * u).collect();
        let full_rank = self.full_rank(m);
        if full_rank {
            let w: Vec<f64> = uf.iter().zip(s).map(|(u, s)| -(u / s)).collect();
            let p = self.v_times(&w);
            if norm(&p) <= delta {
                return (p, 0.0);
            }
        }
        let phi_and_derivative = |alpha: f64| {
            let q: Vec<f64> = suf
                .iter()
                .zip(s)
                .map(|(x, s)| x / (s * s + alpha))
                .collect();
            let p_norm = norm(&q);
            let d: f64 = suf
                .iter()
                .zip(s)
                .map(|(x, s)| {
                    let denom = s * s + alpha;
                    x * x / (denom * denom * denom)
                })
                .sum();
            (p_norm - delta, -d / p_norm)
        };
        let mut alpha_upper = norm(&suf) / delta;
        let mut alpha_lower = if full_rank {
            let (phi, phi_prime) = phi_and_derivative(0.0);
            -phi / phi_prime
        } else {
            0.0
        };
        let restart = |lower: f64, upper: f64| (0.001 * upper).max((lower * upper).sqrt());
        let mut alpha = if !full_rank && alpha0 == 0.0 {
            restart(alpha_lower, alpha_upper)
        } else {
            alpha0
        };
        for _ in 0..10 {
            if alpha < alpha_lower || alpha > alpha_upper {
                alpha = restart(alpha_lower, alpha_upper);
            }
            let (phi, phi_prime) = phi_and_derivative(alpha);
            if phi < 0.0 {
                alpha_upper = alpha;
            }
            let ratio = phi / phi_prime;
            alpha_lower = alpha_lower.max(alpha - ratio);
            alpha -= (phi + delta) * ratio / delta;
            if phi.abs() < 0.01 * delta {
                break;
            }
        }
        let w: Vec<f64> = suf
            .iter()
            .zip(s)
            .map(|(x, s)| -(x / (s * s + alpha)))
            .collect();
        let mut p = self.v_times(&w);
        let scale = delta / norm(&p);
        for v in p.iter_mut() {
            *v *= scale;
        }
        (p, alpha)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_problem_is_solved_in_one_gauss_newton_step() {
        // y = 2 + 3 t, exact data: the first step lands on the answer.
        let t = [0.0, 1.0, 2.0, 3.0];
        let fit = least_squares(
            |x: &[f64; 2], out: &mut [f64]| {
                for (o, t) in out.iter_mut().zip(&t) {
                    *o = x[0] + x[1] * t - (2.0 + 3.0 * t);
                }
            },
            [1.0, 1.0],
            4,
        )
        .unwrap();
        assert!(
            (fit.x[0] - 2.0).abs() < 1e-9 && (fit.x[1] - 3.0).abs() < 1e-9,
            "{fit:?}"
        );
    }

    #[test]
    fn the_svd_reconstructs_its_matrix() {
        let jac: Matrix<3> = vec![
            [1.0, 2.0, 3.0],
            [4.0, 5.0, 6.5],
            [7.0, 8.0, 9.0],
            [1e-3, 2.0, -1.0],
        ];
        let svd = Svd::of(&jac);
        assert!(svd.s.windows(2).all(|w| w[0] >= w[1]));
        for (i, row) in jac.iter().enumerate() {
            for (j, value) in row.iter().enumerate() {
                let back: f64 = (0..3).map(|k| svd.u[k][i] * svd.s[k] * svd.v[k][j]).sum();
                assert!((back - value).abs() < 1e-13, "{i},{j}: {back} vs {value}");
            }
        }
    }

    #[test]
    fn non_finite_residuals_at_the_start_are_an_error_not_a_panic() {
        let fit = least_squares(|_: &[f64; 1], out: &mut [f64]| out[0] = f64::NAN, [0.0], 1);
        assert_eq!(fit, Err(TrfError::NotFiniteAtStart));
    }
}
