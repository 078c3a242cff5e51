//! MIGRAD: the seed (gradient, diagonal error matrix, negative-curvature search), the
//! variable-metric iterations with Davidon's update, and the positive-definite repair.
use super::*;

// ---------------------------------------------------- positive definiteness

pub(super) fn make_posdef(e: &MinError, prec: &Prec) -> MinError {
    let mut err = e.inv_h.clone();
    if err.d.len() == 1 && err.get(0, 0) < prec.eps {
        err.set(0, 0, 1.0);
        return MinError::with_status(err, ErrStatus::MadePosDef);
    }
    if err.d.len() == 1 && err.get(0, 0) > prec.eps {
        return e.clone();
    }
    let epspdf = cmax(1.0e-12, prec.eps2);
    let n = err.n;
    let mut dgmin = err.get(0, 0);
    for i in 0..n {
        if err.get(i, i) < dgmin {
            dgmin = err.get(i, i);
        }
    }
    let mut dg = 0.0;
    if dgmin <= 0.0 {
        dg = 0.5 + epspdf - dgmin;
    }
    let mut s = vec![0.0; n];
    let mut p = Sym::zeros(n);
    for i in 0..n {
        let v = err.get(i, i) + dg;
        err.set(i, i, v);
        if err.get(i, i) < 0.0 {
            err.set(i, i, 1.0);
        }
        s[i] = 1.0 / err.get(i, i).sqrt();
        for j in 0..=i {
            p.set(i, j, err.get(i, j) * s[i] * s[j]);
        }
    }
    let ev = eigenvalues(&p);
    let pmin = ev[0];
    let mut pmax = ev[ev.len() - 1];
    pmax = cmax(pmax.abs(), 1.0);
    if pmin > epspdf * pmax {
        return MinError::new(err, e.dcovar);
    }
    let padd = 0.001 * pmax - pmin;
    for i in 0..n {
        let v = err.get(i, i) * (1.0 + padd);
        err.set(i, i, v);
    }
    MinError::with_status(err, ErrStatus::MadePosDef)
}

pub(super) fn posdef_state(s: &State, prec: &Prec) -> State {
    State {
        err: make_posdef(&s.err, prec),
        ..s.clone()
    }
}

// -------------------------------------------------------- Davidon update

pub(super) fn davidon(s0: &State, p1: &Params, g1: &Grad) -> MinError {
    let n = p1.x.len();
    let v0 = &s0.err.inv_h;
    let dx: Vec<f64> = (0..n).map(|i| p1.x[i] - s0.p.x[i]).collect();
    let dg: Vec<f64> = (0..n).map(|i| g1.g[i] - s0.grad.g[i]).collect();
    let delgam = dot(&dx, &dg);
    let gvg = similarity(&dg, v0);
    if delgam == 0.0 {
        return s0.err.clone();
    }
    if gvg <= 0.0 {
        return s0.err.clone();
    }
    let vg = v0.mul_vec(1.0, &dg);
    let mut upd = Sym::zeros(n);
    upd.rank1(-(1.0 / gvg), &vg);
    upd.rank1(1.0 / delgam, &dx);
    if delgam > gvg {
        let a = 1.0 / delgam;
        let b = -(1.0 / gvg);
        let v: Vec<f64> = (0..n).map(|i| b * vg[i] + a * dx[i]).collect();
        upd.rank1(gvg, &v);
    }
    let sum_upd = upd.abs_sum();
    for k in 0..upd.d.len() {
        upd.d[k] += v0.d[k];
    }
    let dcov = 0.5 * (s0.err.dcovar + sum_upd / upd.abs_sum());
    MinError::new(upd, dcov)
}

// --------------------------------------------------------------- seeding

pub(super) fn has_negative_g2(g: &Grad) -> bool {
    g.g2.iter().any(|&v| v <= 0.0)
}

pub(super) fn negative_g2_search<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    st: &State,
    stra: &Strategy,
) -> State {
    let prec = fcn.trafo.prec;
    if !has_negative_g2(&st.grad) {
        return st.clone();
    }
    let n = st.p.x.len();
    let mut dgrad = st.grad.clone();
    let mut pa = st.p.clone();
    let mut iter = 0;
    loop {
        let mut iterate = false;
        for i in 0..n {
            if dgrad.g2[i] <= 0.0 {
                if dgrad.g[i].abs() < prec.eps && dgrad.g2[i].abs() < prec.eps {
                    continue;
                }
                let mut step = vec![0.0; n];
                step[i] = if dgrad.g[i] < 0.0 {
                    dgrad.gstep[i]
                } else {
                    -dgrad.gstep[i]
                };
                let gdel = step[i] * dgrad.g[i];
                let (px, py) = line_search(fcn, &pa, &step, gdel);
                for s in step.iter_mut() {
                    *s *= px;
                }
                let x: Vec<f64> = (0..n).map(|k| step[k] + pa.x[k]).collect();
                pa = Params::new(x, py);
                dgrad = numerical_gradient(fcn, &pa, &dgrad, stra);
                iterate = true;
                break;
            }
        }
        let more = iter < 2 * n;
        iter += 1;
        if !(more && iterate) {
            break;
        }
    }
    let mat = Sym::inverse_of_diagonal(&dgrad.g2, prec.eps);
    let mut err = MinError::new(mat.clone(), 1.0);
    let edm = estimate_edm(&dgrad, &err);
    if edm < 0.0 {
        err = MinError::with_status(mat, ErrStatus::NotPosDef);
    }
    State {
        p: pa,
        err,
        grad: dgrad,
        edm,
        nfcn: fcn.ncalls,
    }
}

pub(super) fn migrad_seed<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    us: &UserState,
    stra: &Strategy,
) -> State {
    let prec = fcn.trafo.prec;
    let x = us.int.clone();
    let fmin = fcn.call(&x);
    let pa = Params::new(x, fmin);
    let dgrad = full_gradient(fcn, &pa, &us.err, stra);
    let (mat, dcovar) = match &us.int_cov {
        Some(c) => (c.clone(), 0.0),
        None => (Sym::inverse_of_diagonal(&dgrad.g2, prec.eps), 1.0),
    };
    let err = MinError::new(mat, dcovar);
    let edm = estimate_edm(&dgrad, &err);
    let mut state = State {
        p: pa,
        err,
        grad: dgrad,
        edm,
        nfcn: fcn.ncalls,
    };
    if has_negative_g2(&state.grad) {
        state = negative_g2_search(fcn, &state, stra);
    }
    if stra.level == 2 && us.int_cov.is_none() {
        return hesse_state(fcn, &state, stra, 0);
    }
    state
}

// ----------------------------------------------------------------- MIGRAD

pub(super) fn vmb_iterate<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    result: &mut Vec<State>,
    stra: &Strategy,
    errs: &[f64],
    maxfcn: usize,
    edmval: f64,
) -> FMin {
    let _ = errs;
    let prec = fcn.trafo.prec;
    let init = result.last().cloned().unwrap_or_else(unreachable_state);
    let mut edm = init.edm;
    edm *= 1.0 + 3.0 * init.err.dcovar;
    let mut s0 = init;
    loop {
        let mut step = s0.err.inv_h.mul_vec(-1.0, &s0.grad.g);
        if dot(&s0.grad.g, &s0.grad.g) <= 0.0 {
            break;
        }
        let mut gdel = dot(&step, &s0.grad.g);
        if gdel > 0.0 {
            s0 = posdef_state(&s0, &prec);
            step = s0.err.inv_h.mul_vec(-1.0, &s0.grad.g);
            gdel = dot(&step, &s0.grad.g);
            if gdel > 0.0 {
                result.push(s0.clone());
                return FMin::new(s0, FStatus::Valid);
            }
        }
        let (px, py) = line_search(fcn, &s0.p, &step, gdel);
        if (py - s0.fval()).abs() <= s0.fval().abs() * prec.eps {
            if result.len() <= 1 {
                let mut s = s0.clone();
                s.nfcn = fcn.ncalls;
                result.push(s);
            } else {
                // a parameter-less state, replaced by s0 below
                let mut s = s0.clone();
                s.p.valid = false;
                s.err.status = ErrStatus::Unset;
                s.p.fval = py;
                s.nfcn = fcn.ncalls;
                result.push(s);
            }
            break;
        }
        let n = step.len();
        let x: Vec<f64> = (0..n).map(|i| s0.p.x[i] + px * step[i]).collect();
        let p = Params::new(x, py);
        let g = numerical_gradient(fcn, &p, &s0.grad, stra);
        edm = estimate_edm(&g, &s0.err);
        if edm.is_nan() {
            result.push(s0.clone());
            return FMin::new(s0, FStatus::Valid);
        }
        if edm < 0.0 {
            s0 = posdef_state(&s0, &prec);
            edm = estimate_edm(&g, &s0.err);
            if edm < 0.0 {
                result.push(s0.clone());
                return FMin::new(s0, FStatus::Valid);
            }
        }
        let e = davidon(&s0, &p, &g);
        let dcov = e.dcovar;
        s0 = State {
            p,
            err: e,
            grad: g,
            edm,
            nfcn: fcn.ncalls,
        };
        result.push(s0.clone());
        edm *= 1.0 + 3.0 * dcov;
        if !(edm > edmval && fcn.ncalls < maxfcn) {
            break;
        }
    }
    if let Some(last) = result.last_mut() {
        if !last.valid() {
            *last = s0.clone();
        }
    }
    let last = result.last().cloned().unwrap_or(s0);
    if fcn.ncalls >= maxfcn {
        return FMin::new(last, FStatus::CallLimit);
    }
    if edm > edmval && edm >= 10.0 * edmval && edm >= (prec.eps2 * last.fval()).abs() {
        return FMin::new(last, FStatus::AboveMaxEdm);
    }
    FMin::new(last, FStatus::Valid)
}

pub(super) fn unreachable_state() -> State {
    State {
        p: Params {
            x: vec![],
            dirin: vec![],
            fval: f64::NAN,
            valid: false,
        },
        err: MinError::with_status(Sym::zeros(0), ErrStatus::Unset),
        grad: Grad::zeros(0),
        edm: f64::NAN,
        nfcn: 0,
    }
}

impl State {
    pub(super) fn fval(&self) -> f64 {
        self.p.fval
    }
}

pub(super) fn vmb_minimum<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    seed: State,
    stra: &Strategy,
    errs: &[f64],
    maxfcn: usize,
    edmval: f64,
) -> FMin {
    let prec = fcn.trafo.prec;
    let edmval = edmval * 0.002;
    let mut edm = seed.edm;
    // FunctionMinimum(seed, up) stores the seed fval in the edm slot
    let mut min = FMin::new(
        State {
            edm: seed.p.fval,
            ..seed.clone()
        },
        FStatus::Valid,
    );
    if seed.p.x.is_empty() || edm < 0.0 {
        return min;
    }
    let mut result = vec![seed.clone()];
    let mut maxfcn_eff = maxfcn;
    let mut ipass = 0;
    loop {
        let mut iterate = false;
        min = vmb_iterate(fcn, &mut result, stra, errs, maxfcn_eff, edmval);
        if min.reached_call_limit {
            return min;
        }
        if ipass > 0 && !min.is_valid() {
            return min;
        }
        edm = result.last().map(|s| s.edm).unwrap_or(f64::NAN);
        if stra.level >= 2 || (stra.level == 1 && min.state.err.dcovar > 0.05) {
            let mut st2 = *stra;
            st2.hess_force_posdef = true;
            let st = hesse_state(fcn, &min.state, &st2, maxfcn);
            result.push(st.clone());
            if !st.valid() {
                break;
            }
            edm = st.edm;
            if edm > edmval {
                let machine_limit = (prec.eps2 * st.fval()).abs();
                if edm >= machine_limit {
                    iterate = true;
                }
            }
        }
        if ipass == 0 {
            maxfcn_eff = (maxfcn as f64 * 1.3) as usize;
        }
        ipass += 1;
        if !iterate {
            break;
        }
    }
    let latest = match result.last() {
        Some(s) => s.clone(),
        None => return min,
    };
    if edm > 10.0 * edmval {
        min.add(latest, FStatus::AboveMaxEdm);
    } else if latest.err.status == ErrStatus::ReachedCallLimit {
        min.add(latest, FStatus::CallLimit);
    } else if latest.err.available() {
        min.add(latest, FStatus::Valid);
    }
    min
}

pub(super) fn maxfcn_default(n: usize) -> usize {
    200 + 100 * n + 5 * n * n
}

/// One MnMigrad application (seed + variable-metric iterations).
pub(super) fn migrad_app<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    us: &UserState,
    stra: &Strategy,
    maxfcn: usize,
    tol: f64,
) -> FMin {
    let n = us.int.len();
    let maxfcn = if maxfcn == 0 {
        maxfcn_default(n)
    } else {
        maxfcn
    };
    let seed = migrad_seed(fcn, us, stra);
    let mut toler = tol * fcn.up;
    if toler < fcn.trafo.prec.eps2 {
        toler = fcn.trafo.prec.eps2;
    }
    if fcn.ncalls >= maxfcn {
        return FMin::new(seed, FStatus::CallLimit);
    }
    vmb_minimum(fcn, seed, stra, &us.err, maxfcn, toler)
}
