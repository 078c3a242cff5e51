//! Exact minimisers for the small convex fits that classifiers' features come from.
//!
//! kndetect fits three principal-component coefficients by a penalised least squares over
//! the box [-2, 2]³, with scipy's L-BFGS-B and finite-difference gradients. The loss is a
//! convex piecewise quadratic (the penalty on a negative first coefficient is `min(c₁,0)²`),
//! so its minimum is unique and can be found exactly: on each face of the box, in each of
//! the two pieces, the stationary point solves a linear system of at most three unknowns;
//! the feasible one with the lowest loss is the minimum. scipy stops near it (its
//! tolerances), so features agree to its precision, not bit for bit.

/// `cᵀ h c − 2 gᵀ c` over `c ∈ [lo, hi]³`, restricted to the candidates whose first
/// coordinate has the sign `first`: the stationary points of every face of the box.
fn face_candidates(h: &[[f64; 3]; 3], g: &[f64; 3], (lo, hi): (f64, f64), out: &mut Vec<[f64; 3]>) {
    // Each coordinate free (0), at its lower (1) or upper (2) bound: 27 faces.
    for face in 0..27u32 {
        let state = [face % 3, (face / 3) % 3, face / 9];
        let mut c = [0.0; 3];
        let mut free = Vec::with_capacity(3);
        for k in 0..3 {
            match state[k] {
                0 => free.push(k),
                1 => c[k] = lo,
                _ => c[k] = hi,
            }
        }
        // The free coordinates solve h_ff c_f = g_f − h_fx c_x.
        let n = free.len();
        let mut m = [[0.0f64; 4]; 3];
        for (r, &i) in free.iter().enumerate() {
            for (col, &j) in free.iter().enumerate() {
                m[r][col] = h[i][j];
            }
            m[r][3] = g[i]
                - (0..3)
                    .filter(|j| state[*j] != 0)
                    .map(|j| h[i][j] * c[j])
                    .sum::<f64>();
        }
        let Some(x) = solve(&mut m, n) else {
            continue;
        };
        for (r, &i) in free.iter().enumerate() {
            c[i] = x[r];
        }
        if c.iter().all(|v| v.is_finite() && *v >= lo && *v <= hi) {
            out.push(c);
        }
    }
}

/// Gaussian elimination with partial pivoting on the first `n` rows of `m` (the last
/// column is the right-hand side); None when singular.
fn solve(m: &mut [[f64; 4]; 3], n: usize) -> Option<[f64; 3]> {
    let scale = m
        .iter()
        .take(n)
        .flat_map(|r| r[..n].iter())
        .fold(0.0f64, |a, v| a.max(v.abs()));
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() <= scale * 1e-13 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for row in m.iter_mut().take(n).skip(col + 1) {
            let f = row[col] / pivot_row[col];
            for (v, p) in row.iter_mut().zip(pivot_row).skip(col) {
                *v -= f * p;
            }
        }
    }
    let mut x = [0.0; 3];
    for r in (0..n).rev() {
        let tail: f64 = (r + 1..n).map(|k| m[r][k] * x[k]).sum();
        x[r] = (m[r][3] - tail) / m[r][r];
    }
    Some(x)
}

/// The penalised least squares of kndetect: minimise
/// `Σᵢ ((Σₖ cₖ pᵢₖ − yᵢ) / eᵢ)² + w (c₂² + c₃² + min(c₁, 0)²)` over `c ∈ [lo, hi]³`, where
/// `rows[i] = (pᵢ, yᵢ, eᵢ)`. Returns the minimiser and its loss.
pub fn penalised_pcs(rows: &[([f64; 3], f64, f64)], w: f64, (lo, hi): (f64, f64)) -> [f64; 3] {
    let mut a = [[0.0; 3]; 3];
    let mut b = [0.0; 3];
    for (p, y, e) in rows {
        let inv = 1.0 / (e * e);
        for i in 0..3 {
            b[i] += p[i] * y * inv;
            for j in 0..3 {
                a[i][j] += p[i] * p[j] * inv;
            }
        }
    }
    let loss = |c: &[f64; 3]| {
        let chi2: f64 = rows
            .iter()
            .map(|(p, y, e)| {
                let d = c[0] * p[0] + c[1] * p[1] + c[2] * p[2] - y;
                d * d / (e * e)
            })
            .sum();
        chi2 + w * (c[1] * c[1] + c[2] * c[2] + c[0].min(0.0).powi(2))
    };
    let mut candidates = Vec::with_capacity(54);
    // c₁ ≥ 0: no penalty on it.
    let mut h = a;
    h[1][1] += w;
    h[2][2] += w;
    face_candidates(&h, &b, (lo, hi), &mut candidates);
    let n_plus = candidates.len();
    // c₁ ≤ 0: penalised too.
    h[0][0] += w;
    face_candidates(&h, &b, (lo, hi), &mut candidates);
    let in_piece = |i: usize, c: &[f64; 3]| if i < n_plus { c[0] >= 0.0 } else { c[0] <= 0.0 };
    candidates
        .iter()
        .enumerate()
        .filter(|(i, c)| in_piece(*i, c))
        .map(|(_, c)| (*c, loss(c)))
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(c, _)| c)
        // Every corner of the box is a candidate of one piece or the other, so this is
        // reached only with non-finite input.
        .unwrap_or([lo.max(0.0).min(hi); 3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimiser beats every point of a fine grid over the box (brute force).
    fn check_against_grid(rows: &[([f64; 3], f64, f64)], w: f64) {
        let c = penalised_pcs(rows, w, (-2.0, 2.0));
        let loss = |c: [f64; 3]| {
            let chi2: f64 = rows
                .iter()
                .map(|(p, y, e)| ((c[0] * p[0] + c[1] * p[1] + c[2] * p[2] - y) / e).powi(2))
                .sum();
            chi2 + w * (c[1] * c[1] + c[2] * c[2] + c[0].min(0.0).powi(2))
        };
        let best = loss(c);
        let steps = 40;
        for i in 0..=steps {
            for j in 0..=steps {
                for k in 0..=steps {
                    let g = |n: i32| -2.0 + 4.0 * n as f64 / steps as f64;
                    let p = [g(i), g(j), g(k)];
                    assert!(
                        loss(p) >= best - 1e-9 * best.abs().max(1.0),
                        "{p:?} beats {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_exact_minimum_is_no_worse_than_any_point_of_the_box() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        for case in 0..30 {
            let n = 2 + case % 6;
            let rows: Vec<_> = (0..n)
                .map(|_| {
                    (
                        [next(), next() * 0.5, next() * 0.2],
                        next() * 1.5,
                        0.05 + next().abs(),
                    )
                })
                .collect();
            let w = [0.0, 1.0, 50.0, 1e4][case % 4];
            check_against_grid(&rows, w);
        }
    }
}
