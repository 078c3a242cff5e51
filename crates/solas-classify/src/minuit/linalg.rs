//! Packed symmetric matrices and the few BLAS-style kernels whose exact
//! summation order MIGRAD's results depend on.

/// Symmetric n x n matrix, upper triangle packed column by column.
#[derive(Clone, Debug)]
pub(crate) struct Sym {
    pub n: usize,
    pub d: Vec<f64>,
}

impl Sym {
    pub fn zeros(n: usize) -> Sym {
        Sym {
            n,
            d: vec![0.0; n * (n + 1) / 2],
        }
    }
    /// The diagonal matrix of 1/g2 (Minuit's first error matrix from second
    /// derivatives), 1 where |g2| is at most `floor`.
    pub fn inverse_of_diagonal(g2: &[f64], floor: f64) -> Sym {
        let mut m = Sym::zeros(g2.len());
        for (i, g) in g2.iter().enumerate() {
            m.set(i, i, if g.abs() > floor { 1.0 / g } else { 1.0 });
        }
        m
    }
    #[inline]
    fn idx(i: usize, j: usize) -> usize {
        if i > j {
            j + i * (i + 1) / 2
        } else {
            i + j * (j + 1) / 2
        }
    }
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.d[Sym::idx(i, j)]
    }
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.d[Sym::idx(i, j)] = v;
    }
    /// y = alpha * A x  (reference DSPMV loop order, upper storage)
    pub fn mul_vec(&self, alpha: f64, x: &[f64]) -> Vec<f64> {
        let n = self.n;
        let mut y = vec![0.0; n];
        if alpha == 0.0 {
            return y;
        }
        let mut kk = 0;
        for j in 0..n {
            let t1 = alpha * x[j];
            let mut t2 = 0.0;
            for i in 0..j {
                let k = kk + i;
                y[i] += t1 * self.d[k];
                t2 += self.d[k] * x[i];
            }
            y[j] = y[j] + t1 * self.d[kk + j] + alpha * t2;
            kk += j + 1;
        }
        y
    }
    /// A += alpha * x x^T  (reference DSPR loop order, upper storage)
    pub fn rank1(&mut self, alpha: f64, x: &[f64]) {
        if alpha == 0.0 {
            return;
        }
        let mut kk = 0;
        for j in 0..self.n {
            if x[j] != 0.0 {
                let t = alpha * x[j];
                for i in 0..=j {
                    self.d[kk + i] += x[i] * t;
                }
            }
            kk += j + 1;
        }
    }
    /// Sum of absolute values of the stored elements (DASUM order = sequential).
    pub fn abs_sum(&self) -> f64 {
        let mut s = 0.0;
        for v in &self.d {
            s += v.abs();
        }
        s
    }
}

/// Dot product in DDOT order (sequential for unit strides).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// v^T A v
pub(crate) fn similarity(v: &[f64], a: &Sym) -> f64 {
    dot(v, &a.mul_vec(1.0, v))
}

/// In-place inversion of a positive-definite matrix by Minuit's scaled
/// Gauss-Jordan sweep.  Returns false on failure.
pub(crate) fn invert(a: &mut Sym) -> bool {
    let n = a.n;
    if n == 1 {
        let t = a.d[0];
        if !(t > 0.0) {
            return false;
        }
        a.d[0] = 1.0 / t;
        return true;
    }
    let mut s = vec![0.0; n];
    let mut q = vec![0.0; n];
    let mut pp = vec![0.0; n];
    for i in 0..n {
        let si = a.get(i, i);
        if si < 0.0 {
            return false;
        }
        s[i] = 1.0 / si.sqrt();
    }
    for i in 0..n {
        for j in i..n {
            let v = a.get(i, j) * (s[i] * s[j]);
            a.set(i, j, v);
        }
    }
    for k in 0..n {
        if a.get(k, k) == 0.0 {
            return false;
        }
        q[k] = 1.0 / a.get(k, k);
        pp[k] = 1.0;
        a.set(k, k, 0.0);
        for j in 0..k {
            pp[j] = a.get(j, k);
            q[j] = a.get(j, k) * q[k];
            a.set(j, k, 0.0);
        }
        for j in k + 1..n {
            pp[j] = a.get(k, j);
            q[j] = -a.get(k, j) * q[k];
            a.set(k, j, 0.0);
        }
        for j in 0..n {
            for l in j..n {
                let v = a.get(j, l) + pp[j] * q[l];
                a.set(j, l, v);
            }
        }
    }
    for j in 0..n {
        for l in j..n {
            let v = a.get(j, l) * (s[j] * s[l]);
            a.set(j, l, v);
        }
    }
    true
}

/// Eigenvalues (ascending) of a symmetric matrix: Householder
/// tridiagonalisation then implicit QL, the classic EISPACK-style routine
/// Minuit uses (precision 1e-6, at most 2n sweeps).
pub(crate) fn eigenvalues(m: &Sym) -> Vec<f64> {
    let n = m.n;
    // 1-based column-major work array a[i + j*n], i,j in 1..=n
    let dim = n;
    let mut a = vec![0.0; (n + 1) * (n + 1) + 1];
    let at = |i: usize, j: usize| i + j * dim; // offset handled by allocation size
    for i in 0..n {
        for j in 0..=i {
            let v = m.get(i, j);
            a[at(i + 1, j + 1)] = v;
            a[at(j + 1, i + 1)] = v;
        }
    }
    let mut w = vec![0.0; 2 * n + 1];
    let mits = 2 * n;
    let precis = 1e-6;
    let mut i = n;
    for _i1 in 2..=n {
        let mut l = i - 2;
        let mut f = a[at(i, i - 1)];
        let mut gl = 0.0;
        if l >= 1 {
            for k in 1..=l {
                let r = a[at(i, k)];
                gl += r * r;
            }
        }
        let mut h = gl + f * f;
        if !(gl > 1e-35) {
            w[i] = 0.0;
            w[n + i] = f;
        } else {
            l += 1;
            gl = h.sqrt();
            if f >= 0.0 {
                gl = -gl;
            }
            w[n + i] = gl;
            h -= f * gl;
            a[at(i, i - 1)] = f - gl;
            f = 0.0;
            for j in 1..=l {
                a[at(j, i)] = a[at(i, j)] / h;
                gl = 0.0;
                for k in 1..=j {
                    gl += a[at(j, k)] * a[at(i, k)];
                }
                if j < l {
                    for k in j + 1..=l {
                        gl += a[at(k, j)] * a[at(i, k)];
                    }
                }
                w[n + j] = gl / h;
                f += gl * a[at(j, i)];
            }
            let hh = f / (h + h);
            for j in 1..=l {
                f = a[at(i, j)];
                gl = w[n + j] - hh * f;
                w[n + j] = gl;
                for k in 1..=j {
                    a[at(j, k)] = a[at(j, k)] - f * w[n + k] - gl * a[at(i, k)];
                }
            }
            w[i] = h;
        }
        i -= 1;
    }
    w[1] = 0.0;
    w[n + 1] = 0.0;
    for i in 1..=n {
        let l = i - 1;
        if !(w[i] == 0.0 || l == 0) {
            for j in 1..=l {
                let mut gl = 0.0;
                for k in 1..=l {
                    gl += a[at(i, k)] * a[at(k, j)];
                }
                for k in 1..=l {
                    a[at(k, j)] -= gl * a[at(k, i)];
                }
            }
        }
        w[i] = a[at(i, i)];
        a[at(i, i)] = 1.0;
        for j in 1..=l {
            a[at(i, j)] = 0.0;
            a[at(j, i)] = 0.0;
        }
    }
    for i in 2..=n {
        let i0 = n + i - 1;
        w[i0] = w[i0 + 1];
    }
    w[n + n] = 0.0;
    let mut b: f64 = 0.0;
    let mut f = 0.0;
    let mut m_: usize = 0;
    for l in 1..=n {
        let mut j = 0;
        let h = precis * (w[l].abs() + w[n + l].abs());
        if b < h {
            b = h;
        }
        for m1 in l..=n {
            m_ = m1;
            if w[n + m_].abs() <= b {
                break;
            }
        }
        if m_ != l {
            loop {
                if j == mits {
                    // Minuit ignores the failure flag and uses the unsorted values
                    return w[1..=n].to_vec();
                }
                j += 1;
                let mut pt = (w[l + 1] - w[l]) / (w[n + l] * 2.0);
                let mut r = (pt * pt + 1.0).sqrt();
                let mut pr = pt + r;
                if pt < 0.0 {
                    pr = pt - r;
                }
                let mut h = w[l] - w[n + l] / pr;
                for i in l..=n {
                    w[i] -= h;
                }
                f += h;
                pt = w[m_];
                let mut c = 1.0;
                let mut s = 0.0;
                let mut i = m_;
                let mut i1 = l;
                while i1 < m_ {
                    let jj = i;
                    i -= 1;
                    let gl = c * w[n + i];
                    h = c * pt;
                    if pt.abs() >= w[n + i].abs() {
                        c = w[n + i] / pt;
                        r = (c * c + 1.0).sqrt();
                        w[n + jj] = s * pt * r;
                        s = c / r;
                        c = 1.0 / r;
                    } else {
                        c = pt / w[n + i];
                        r = (c * c + 1.0).sqrt();
                        w[n + jj] = s * w[n + i] * r;
                        s = 1.0 / r;
                        c /= r;
                    }
                    pt = c * w[i] - s * gl;
                    w[jj] = h + s * (c * gl + s * w[i]);
                    for k in 1..=n {
                        let hk = a[at(k, jj)];
                        a[at(k, jj)] = s * a[at(k, i)] + c * hk;
                        a[at(k, i)] = c * a[at(k, i)] - s * hk;
                    }
                    i1 += 1;
                }
                w[n + l] = s * pt;
                w[l] = c * pt;
                if !(w[n + l].abs() > b) {
                    break;
                }
            }
        }
        w[l] += f;
    }
    // selection sort ascending (eigenvectors not needed)
    for i in 1..n {
        let mut k = i;
        let mut pt = w[i];
        for j in i + 1..=n {
            if !(w[j] >= pt) {
                k = j;
                pt = w[j];
            }
        }
        if k != i {
            w[k] = w[i];
            w[i] = pt;
        }
    }
    w[1..=n].to_vec()
}
