//! MIGRAD, HESSE and SIMPLEX as run by iminuit 2.30.1 (Minuit2), in pure Rust.
//!
//! MIGRAD is the Fletcher/Davidon variable-metric method of James's MINUIT:
//! a numerical two-point gradient with Minuit's iterative step refinement,
//! a parabolic line search, the Davidon rank-two update of the inverse
//! Hessian, and the EDM convergence test.  HESSE is the finite-difference
//! second-derivative matrix, SIMPLEX Minuit's Nelder-Mead variant.
//! Parameters with two-sided limits go through Minuit's sine transformation,
//! evaluated (like Minuit2 on x86-64) in 80-bit extended precision, which is
//! emulated in software (`ext80`).
//!
//! The code is an independent implementation written to follow the exact
//! arithmetic (operation order, summation order, constants) of iminuit 2.30.1
//! so that the sequence of cost-function calls is identical; it was checked
//! call by call against iminuit 2.30.1 on the Rainbow fits of the early SN Ia
//! model (`tests/classify/rainbow_parity.rs`: the same fits as fink-science's
//! code where numpy calls the C library). One-sided limits are not supported
//! (such parameters are treated as unlimited). Written here because no crate
//! reproduces Minuit's path (the Rust port on crates.io is LGPL and not step for
//! step), and features from flat fits need the point where Minuit stops.
//!
//! Loops index several arrays at once and comparisons are written as Minuit
//! makes them (a NaN must take the same branch), so two style lints are off.
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

mod ext80;
mod gradient;
mod hesse;
mod linalg;
mod line_search;
mod migrad;
mod simplex;

use ext80::X;
use gradient::*;
use hesse::*;
use linalg::{dot, eigenvalues, invert, similarity, Sym};
use line_search::*;
use migrad::*;
use simplex::*;

// ---------------------------------------------------------------- settings

/// Minuit's default machine precision: eps = 4 DBL_EPSILON, eps2 = 2 sqrt(eps).
#[derive(Clone, Copy, Debug)]
struct Prec {
    eps: f64,
    eps2: f64,
}

impl Prec {
    fn new() -> Prec {
        let eps = 4.0 * f64::EPSILON;
        Prec {
            eps,
            eps2: 2.0 * eps.sqrt(),
        }
    }
}

/// Strategy constants (MnStrategy levels 0, 1, 2).
#[derive(Clone, Copy, Debug)]
pub struct Strategy {
    pub level: u32,
    grad_ncycles: u32,
    grad_step_tol: f64,
    grad_tol: f64,
    hess_ncycles: u32,
    hess_step_tol: f64,
    hess_g2_tol: f64,
    hess_grad_ncycles: u32,
    hess_force_posdef: bool,
}

impl Strategy {
    pub fn new(level: u32) -> Strategy {
        match level {
            0 => Strategy {
                level: 0,
                grad_ncycles: 2,
                grad_step_tol: 0.5,
                grad_tol: 0.1,
                hess_ncycles: 3,
                hess_step_tol: 0.5,
                hess_g2_tol: 0.1,
                hess_grad_ncycles: 1,
                hess_force_posdef: true,
            },
            1 => Strategy {
                level: 1,
                grad_ncycles: 3,
                grad_step_tol: 0.3,
                grad_tol: 0.05,
                hess_ncycles: 5,
                hess_step_tol: 0.3,
                hess_g2_tol: 0.05,
                hess_grad_ncycles: 2,
                hess_force_posdef: true,
            },
            _ => Strategy {
                level: 2,
                grad_ncycles: 5,
                grad_step_tol: 0.1,
                grad_tol: 0.02,
                hess_ncycles: 7,
                hess_step_tol: 0.1,
                hess_g2_tol: 0.02,
                hess_grad_ncycles: 6,
                hess_force_posdef: true,
            },
        }
    }
}

// ---------------------------------------------------------- transformation

#[derive(Clone, Debug)]
struct Trafo {
    limits: Vec<Option<(f64, f64)>>,
    prec: Prec,
}

impl Trafo {
    fn limited(&self, i: usize) -> bool {
        self.limits[i].is_some()
    }

    /// internal -> external: lo + (hi-lo)/2 (sin(v) + 1) in extended precision
    fn int2ext(&self, i: usize, v: f64) -> f64 {
        match self.limits[i] {
            None => v,
            Some((lo, hi)) => {
                let l = X::from_f64(lo);
                let half = X::from_f64(0.5).mul(X::from_f64(hi).sub(l));
                let s1 = ext80::sinl(v).add(X::from_f64(1.0));
                l.add(half.mul(s1)).to_f64()
            }
        }
    }

    fn ext2int(&self, i: usize, v: f64) -> f64 {
        match self.limits[i] {
            None => v,
            Some((lo, hi)) => {
                let distnn = X::from_f64(8.0 * self.prec.eps2.sqrt());
                let piby2 = ext80::pio2_ext();
                let l = X::from_f64(lo);
                let yy = X::from_f64(2.0)
                    .mul(X::from_f64(v).sub(l))
                    .div(X::from_f64(hi).sub(l))
                    .sub(X::from_f64(1.0));
                let yy2 = yy.mul(yy);
                if yy2.gt(X::from_f64(1.0 - self.prec.eps2)) {
                    if yy.is_neg() {
                        piby2.neg().add(distnn).to_f64()
                    } else {
                        piby2.sub(distnn).to_f64()
                    }
                } else {
                    ext80::asinl(yy).to_f64()
                }
            }
        }
    }

    fn int2ext_error(&self, i: usize, val: f64, err: f64) -> f64 {
        match self.limits[i] {
            None => err,
            Some((lo, hi)) => {
                let ui = self.int2ext(i, val);
                let mut du1 = self.int2ext(i, val + err) - ui;
                let du2 = self.int2ext(i, val - err) - ui;
                if err > 1.0 {
                    du1 = hi - lo;
                }
                0.5 * (du1.abs() + du2.abs())
            }
        }
    }

    fn dint2ext(&self, i: usize, v: f64) -> f64 {
        match self.limits[i] {
            None => 1.0,
            Some((lo, hi)) => 0.5 * ((hi - lo) * v.cos()),
        }
    }
}

// ------------------------------------------------------------- fcn wrapper

struct Fcn<'a, F: FnMut(&[f64]) -> f64> {
    f: &'a mut F,
    trafo: &'a Trafo,
    up: f64,
    ncalls: usize,
    total: &'a mut usize,
    ext: Vec<f64>,
}

impl<'a, F: FnMut(&[f64]) -> f64> Fcn<'a, F> {
    /// The user's function seen through the limits, counting its calls into `total`.
    fn new(f: &'a mut F, trafo: &'a Trafo, up: f64, total: &'a mut usize) -> Fcn<'a, F> {
        let n = trafo.limits.len();
        Fcn {
            f,
            trafo,
            up,
            ncalls: 0,
            total,
            ext: vec![0.0; n],
        }
    }

    fn call(&mut self, x: &[f64]) -> f64 {
        self.ncalls += 1;
        *self.total += 1;
        for i in 0..x.len() {
            self.ext[i] = self.trafo.int2ext(i, x[i]);
        }
        (self.f)(&self.ext)
    }
}

// ------------------------------------------------------------ state types

#[derive(Clone, Debug)]
struct Grad {
    g: Vec<f64>,
    g2: Vec<f64>,
    gstep: Vec<f64>,
}

impl Grad {
    fn zeros(n: usize) -> Grad {
        Grad {
            g: vec![0.0; n],
            g2: vec![0.0; n],
            gstep: vec![0.0; n],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ErrStatus {
    Unset,
    PosDef,
    MadePosDef,
    NotPosDef,
    HesseFailed,
    InvertFailed,
    ReachedCallLimit,
}

#[derive(Clone, Debug)]
struct MinError {
    inv_h: Sym,
    dcovar: f64,
    status: ErrStatus,
}

impl MinError {
    fn new(inv_h: Sym, dcovar: f64) -> MinError {
        MinError {
            inv_h,
            dcovar,
            status: ErrStatus::PosDef,
        }
    }
    fn with_status(inv_h: Sym, status: ErrStatus) -> MinError {
        MinError {
            inv_h,
            dcovar: 1.0,
            status,
        }
    }
    fn available(&self) -> bool {
        self.status != ErrStatus::Unset
    }
    fn valid(&self) -> bool {
        matches!(
            self.status,
            ErrStatus::PosDef | ErrStatus::MadePosDef | ErrStatus::NotPosDef
        )
    }
}

#[derive(Clone, Debug)]
struct Params {
    x: Vec<f64>,
    dirin: Vec<f64>,
    fval: f64,
    valid: bool,
}

impl Params {
    fn new(x: Vec<f64>, fval: f64) -> Params {
        let n = x.len();
        Params {
            x,
            dirin: vec![0.0; n],
            fval,
            valid: true,
        }
    }
}

#[derive(Clone, Debug)]
struct State {
    p: Params,
    err: MinError,
    grad: Grad,
    edm: f64,
    nfcn: usize,
}

impl State {
    fn valid(&self) -> bool {
        if self.p.valid && self.err.available() {
            self.err.valid()
        } else {
            self.p.valid
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum FStatus {
    Valid,
    CallLimit,
    AboveMaxEdm,
}

/// Result of one MIGRAD/SIMPLEX application (Minuit2 FunctionMinimum).
#[derive(Clone, Debug)]
struct FMin {
    state: State,
    above_max_edm: bool,
    reached_call_limit: bool,
}

impl FMin {
    fn new(state: State, st: FStatus) -> FMin {
        FMin {
            state,
            above_max_edm: st == FStatus::AboveMaxEdm,
            reached_call_limit: st == FStatus::CallLimit,
        }
    }
    fn add(&mut self, state: State, st: FStatus) {
        *self = FMin::new(state, st);
    }
    fn is_above_max_edm(&self) -> bool {
        self.above_max_edm || self.state.edm.is_nan()
    }
    fn is_valid(&self) -> bool {
        self.state.valid() && !self.is_above_max_edm() && !self.reached_call_limit
    }
}

/// User-level parameter state carried between applications
/// (Minuit2 MnUserParameterState restricted to what the path needs).
#[derive(Clone, Debug)]
struct UserState {
    ext: Vec<f64>,
    err: Vec<f64>,
    int: Vec<f64>,
    int_cov: Option<Sym>,
}

impl UserState {
    fn initial(values: &[f64], trafo: &Trafo) -> UserState {
        let n = values.len();
        let mut st = UserState {
            ext: vec![0.0; n],
            err: vec![0.0; n],
            int: vec![0.0; n],
            int_cov: None,
        };
        for i in 0..n {
            let v = values[i];
            st.err[i] = if v != 0.0 { 1e-2 * v.abs() } else { 1e-1 };
            // iminuit clamps the start value into the limits before converting
            let v = match trafo.limits[i] {
                Some((lo, _)) if v < lo => lo,
                Some((_, hi)) if v > hi => hi,
                _ => v,
            };
            st.ext[i] = v;
            st.int[i] = trafo.ext2int(i, v);
        }
        st
    }

    fn from_state(s: &State, up: f64, trafo: &Trafo) -> UserState {
        let n = s.p.x.len();
        let mut st = UserState {
            ext: vec![0.0; n],
            err: vec![0.0; n],
            int: vec![0.0; n],
            int_cov: None,
        };
        let ev = s.err.valid();
        for i in 0..n {
            let xi = s.p.x[i];
            let e = if ev {
                (2.0 * up * s.err.inv_h.get(i, i)).sqrt()
            } else {
                s.p.dirin[i]
            };
            let ext = trafo.int2ext(i, xi);
            let err = trafo.int2ext_error(i, xi, e);
            st.ext[i] = ext;
            st.err[i] = err;
            st.int[i] = match trafo.limits[i] {
                None => ext,
                Some((lo, hi)) => {
                    if lo < ext && ext < hi {
                        trafo.ext2int(i, ext)
                    } else if lo >= ext {
                        trafo.ext2int(i, lo + 0.1 * err)
                    } else {
                        trafo.ext2int(i, hi - 0.1 * err)
                    }
                }
            };
        }
        if ev {
            st.int_cov = Some(s.err.inv_h.clone());
        }
        st
    }
}

fn cmax(a: f64, b: f64) -> f64 {
    if a < b {
        b
    } else {
        a
    }
}

fn cmin(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

// ----------------------------------------------------------- public API

/// A fit in progress, mirroring the state an `iminuit.Minuit` object keeps.
pub struct Minuit<F: FnMut(&[f64]) -> f64> {
    fcn: F,
    trafo: Trafo,
    /// errordef (0.5 for a negative log-likelihood, 1 for chi2)
    pub errordef: f64,
    /// MIGRAD strategy level (0, 1 or 2)
    pub strategy: u32,
    /// tolerance (iminuit's `tol`, default 0.1)
    pub tol: f64,
    state: UserState,
    fmin: Option<FMin>,
    nfcn: usize,
    edm_goal: f64,
}

impl<F: FnMut(&[f64]) -> f64> Minuit<F> {
    /// `limits[i]` = Some((lo, hi)) with lo < hi gives parameter i Minuit's
    /// two-sided sine transformation; `None` (or an empty slice) leaves it free.
    pub fn new(fcn: F, initial: &[f64], limits: &[Option<(f64, f64)>]) -> Minuit<F> {
        let n = initial.len();
        let lim: Vec<Option<(f64, f64)>> = (0..n)
            .map(|i| match limits.get(i).copied().flatten() {
                Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => Some((lo, hi)),
                _ => None,
            })
            .collect();
        let trafo = Trafo {
            limits: lim,
            prec: Prec::new(),
        };
        let state = UserState::initial(initial, &trafo);
        Minuit {
            fcn,
            trafo,
            errordef: 1.0,
            strategy: 1,
            tol: 0.1,
            state,
            fmin: None,
            nfcn: 0,
            edm_goal: 0.0,
        }
    }

    fn edm_goal_value(&self, migrad_factor: bool) -> f64 {
        let g = cmax(self.tol * self.errordef, self.trafo.prec.eps2);
        if migrad_factor {
            g * 2e-3
        } else {
            g
        }
    }

    /// `Minuit.migrad()` with iminuit's defaults (ncall=None, iterate=5, use_simplex=True).
    pub fn migrad(&mut self) -> &mut Self {
        let up = self.errordef;
        let tol = self.tol;
        let mut fcn = Fcn::new(&mut self.fcn, &self.trafo, up, &mut self.nfcn);
        let mut fm = migrad_app(&mut fcn, &self.state, &Strategy::new(self.strategy), 0, tol);
        let mut iterate = 5;
        let s2 = Strategy::new(2);
        while !fm.is_valid() && !fm.reached_call_limit && iterate > 1 {
            let us = UserState::from_state(&fm.state, up, fcn.trafo);
            fcn.ncalls = 0;
            fm = simplex_app(&mut fcn, &us, 0, tol);
            let us = UserState::from_state(&fm.state, up, fcn.trafo);
            fcn.ncalls = 0;
            fm = migrad_app(&mut fcn, &us, &s2, 0, tol);
            iterate -= 1;
        }
        self.adopt(fm, true);
        self
    }

    /// The user state and minimum after an application; `migrad` says whether the EDM
    /// goal is MIGRAD's or SIMPLEX's.
    fn adopt(&mut self, fm: FMin, migrad: bool) {
        self.state = UserState::from_state(&fm.state, self.errordef, &self.trafo);
        self.fmin = Some(fm);
        self.edm_goal = self.edm_goal_value(migrad);
    }

    /// `Minuit.simplex()`.
    pub fn simplex(&mut self) -> &mut Self {
        let up = self.errordef;
        let mut fcn = Fcn::new(&mut self.fcn, &self.trafo, up, &mut self.nfcn);
        let fm = simplex_app(&mut fcn, &self.state, 0, self.tol);
        self.adopt(fm, false);
        self
    }

    /// `Minuit.hesse()` after a minimisation (the case the rainbow loop uses).
    pub fn hesse(&mut self) -> &mut Self {
        let up = self.errordef;
        let stra = Strategy::new(self.strategy);
        if self.fmin.is_none() {
            // no minimum yet: iminuit seeds one from the current state
            let mut fcn = Fcn::new(&mut self.fcn, &self.trafo, up, &mut self.nfcn);
            let seed = migrad_seed(&mut fcn, &self.state, &stra);
            self.fmin = Some(FMin::new(seed, FStatus::Valid));
            self.edm_goal = self.edm_goal_value(true);
        }
        let maxedm = self.edm_goal as f32;
        let mut fcn = Fcn::new(&mut self.fcn, &self.trafo, up, &mut self.nfcn);
        if let Some(fm) = self.fmin.as_mut() {
            let st = hesse_state(&mut fcn, &fm.state, &stra, 0);
            let limit = (10.0f32 * maxedm) as f64;
            if st.edm > limit {
                fm.add(st, FStatus::AboveMaxEdm);
            } else if st.err.status == ErrStatus::ReachedCallLimit {
                fm.add(st, FStatus::CallLimit);
            } else if st.err.available() {
                fm.add(st, FStatus::Valid);
            }
            self.state = UserState::from_state(&fm.state, up, &self.trafo);
        }
        self
    }

    /// iminuit's `Minuit.valid`.
    pub fn valid(&self) -> bool {
        match &self.fmin {
            Some(fm) => fm.is_valid() && !(fm.state.edm < 0.0),
            None => false,
        }
    }

    /// Current external parameter values.
    pub fn values(&self) -> &[f64] {
        &self.state.ext
    }

    /// Current external parameter errors.
    pub fn errors(&self) -> &[f64] {
        &self.state.err
    }

    /// Function value at the last minimum.
    pub fn fval(&self) -> f64 {
        self.fmin
            .as_ref()
            .map(|f| f.state.p.fval)
            .unwrap_or(f64::NAN)
    }

    /// Estimated distance to minimum at the last minimum.
    pub fn edm(&self) -> f64 {
        self.fmin.as_ref().map(|f| f.state.edm).unwrap_or(f64::NAN)
    }

    /// Total number of cost-function calls so far.
    pub fn nfcn(&self) -> usize {
        self.nfcn
    }

    /// External covariance matrix (row-major), if available.
    pub fn covariance(&self) -> Option<Vec<f64>> {
        let fm = self.fmin.as_ref()?;
        if !fm.state.err.valid() {
            return None;
        }
        let n = fm.state.p.x.len();
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            let di = self.trafo.dint2ext(i, fm.state.p.x[i]);
            for j in 0..n {
                let dj = self.trafo.dint2ext(j, fm.state.p.x[j]);
                c[i * n + j] = di * fm.state.err.inv_h.get(i, j) * dj * 2.0 * self.errordef;
            }
        }
        Some(c)
    }
}

/// Final state of [`rainbow_loop`].
#[derive(Clone, Debug)]
pub struct Outcome {
    pub values: Vec<f64>,
    pub errors: Vec<f64>,
    pub fval: f64,
    pub valid: bool,
    pub nfcn: usize,
}

/// The fit loop of light-curve 0.10.0's RainbowFit (`_eval_and_get_errors`):
/// errordef 0.5, strategy 0, then up to 10 times
/// `migrad(); if valid { hesse(); if valid { break } } else { simplex() }`.
pub fn rainbow_loop<F: FnMut(&[f64]) -> f64>(
    fcn: F,
    initial: &[f64],
    limits: &[Option<(f64, f64)>],
) -> Outcome {
    let mut m = Minuit::new(fcn, initial, limits);
    m.errordef = 0.5;
    m.strategy = 0;
    for _ in 0..10 {
        m.migrad();
        if m.valid() {
            m.hesse();
            if m.valid() {
                break;
            }
        } else {
            m.simplex();
        }
    }
    Outcome {
        values: m.values().to_vec(),
        errors: m.errors().to_vec(),
        fval: m.fval(),
        valid: m.valid(),
        nfcn: m.nfcn(),
    }
}

/// One `Minuit.migrad()` from `initial`: returns (values, fval, valid, nfcn).
pub fn migrad<F: FnMut(&[f64]) -> f64>(
    fcn: F,
    initial: &[f64],
    limits: &[Option<(f64, f64)>],
    errordef: f64,
    strategy: u32,
) -> Outcome {
    let mut m = Minuit::new(fcn, initial, limits);
    m.errordef = errordef;
    m.strategy = strategy;
    m.migrad();
    Outcome {
        values: m.values().to_vec(),
        errors: m.errors().to_vec(),
        fval: m.fval(),
        valid: m.valid(),
        nfcn: m.nfcn(),
    }
}
