//! SIMPLEX: Minuit's Nelder-Mead variant, run when MIGRAD ends invalid.
use super::*;

// ---------------------------------------------------------------- SIMPLEX

pub(super) fn simplex_app<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    us: &UserState,
    maxfcn: usize,
    tol: f64,
) -> FMin {
    let prec = fcn.trafo.prec;
    let n = us.int.len();
    let maxfcn = if maxfcn == 0 {
        maxfcn_default(n)
    } else {
        maxfcn
    };
    let mut minedm = tol * fcn.up;
    if minedm < prec.eps2 {
        minedm = prec.eps2;
    }
    // seed
    let x0 = us.int.clone();
    let fcnmin = fcn.call(&x0);
    let pa = Params::new(x0, fcnmin);
    let dgrad = initial_gradient(fcn, &pa, &us.err);
    let err = MinError::new(Sym::inverse_of_diagonal(&dgrad.g2, prec.eps2), 1.0);
    let edm = estimate_edm(&dgrad, &err);
    let seed = State {
        p: pa,
        err,
        grad: dgrad,
        edm,
        nfcn: fcn.ncalls,
    };
    if fcn.ncalls >= maxfcn {
        return FMin::new(seed, FStatus::CallLimit);
    }
    let mut x = seed.p.x.clone();
    let mut step: Vec<f64> = seed.grad.gstep.iter().map(|g| 10.0 * g).collect();
    let wg = 1.0 / n as f64;
    let (alpha, beta, gamma, rhomin, rhomax) = (1.0, 0.5, 2.0, 4.0, 8.0);
    let rho1 = 1.0 + alpha;
    let rho2 = 1.0 + alpha * gamma;
    let mut simpl: Simplex = Vec::with_capacity(n + 1);
    simpl.push((seed.p.fval, x.clone()));
    let mut jl = 0;
    let mut jh = 0;
    let mut amin = seed.p.fval;
    let mut aming = seed.p.fval;
    for i in 0..n {
        let dmin = 8.0 * prec.eps2 * (x[i].abs() + prec.eps2);
        if step[i] < dmin {
            step[i] = dmin;
        }
        x[i] += step[i];
        let tmp = fcn.call(&x);
        if tmp < amin {
            amin = tmp;
            jl = i + 1;
        }
        if tmp > aming {
            aming = tmp;
            jh = i + 1;
        }
        simpl.push((tmp, x.clone()));
        x[i] -= step[i];
    }
    let sedm = |s: &Simplex, jh: usize, jl: usize| s[jh].0 - s[jl].0;
    let pbar_of = |s: &Simplex, jh: usize| {
        let mut pbar = vec![0.0; n];
        for (i, (_, v)) in s.iter().enumerate() {
            if i == jh {
                continue;
            }
            for k in 0..n {
                pbar[k] += wg * v[k];
            }
        }
        pbar
    };
    loop {
        let amin_l = simpl[jl].0;
        let edm_prev = sedm(&simpl, jh, jl);
        let pbar = pbar_of(&simpl, jh);
        let xh = simpl[jh].1.clone();
        let pstar: Vec<f64> = (0..n)
            .map(|k| (1.0 + alpha) * pbar[k] + (-alpha) * xh[k])
            .collect();
        let ystar = fcn.call(&pstar);
        let mut stop = false;
        'body: {
            if ystar > amin_l {
                if ystar < simpl[jh].0 {
                    let old = jh;
                    replace_worst(&mut simpl, &mut jh, &mut jl, ystar, pstar.clone());
                    if old != jh {
                        break 'body;
                    }
                }
                stop = contract(fcn, &mut simpl, &mut jh, &mut jl, &pbar, beta);
                break 'body;
            }
            let pstst: Vec<f64> = (0..n)
                .map(|k| gamma * pstar[k] + (1.0 - gamma) * pbar[k])
                .collect();
            let ystst = fcn.call(&pstst);
            let y1 = (ystar - simpl[jh].0) * rho2;
            let y2 = (ystst - simpl[jh].0) * rho1;
            let mut rho = 0.5 * (rho2 * y1 - rho1 * y2) / (y1 - y2);
            if rho < rhomin {
                if ystst < simpl[jl].0 {
                    replace_worst(&mut simpl, &mut jh, &mut jl, ystst, pstst);
                } else {
                    replace_worst(&mut simpl, &mut jh, &mut jl, ystar, pstar);
                }
                break 'body;
            }
            if rho > rhomax {
                rho = rhomax;
            }
            let xh = simpl[jh].1.clone();
            let prho: Vec<f64> = (0..n)
                .map(|k| rho * pbar[k] + (1.0 - rho) * xh[k])
                .collect();
            let yrho = fcn.call(&prho);
            if yrho < simpl[jl].0 && yrho < ystst {
                replace_worst(&mut simpl, &mut jh, &mut jl, yrho, prho);
                break 'body;
            }
            if ystst < simpl[jl].0 {
                replace_worst(&mut simpl, &mut jh, &mut jl, ystst, pstst);
                break 'body;
            }
            if yrho > simpl[jl].0 {
                if ystst < simpl[jl].0 {
                    replace_worst(&mut simpl, &mut jh, &mut jl, ystst, pstst);
                } else {
                    replace_worst(&mut simpl, &mut jh, &mut jl, ystar, pstar);
                }
                break 'body;
            }
            if ystar > simpl[jh].0 {
                stop = contract(fcn, &mut simpl, &mut jh, &mut jl, &pbar, beta);
            }
        }
        if stop {
            break;
        }
        if !((sedm(&simpl, jh, jl) > minedm || edm_prev > minedm) && fcn.ncalls < maxfcn) {
            break;
        }
    }
    let amin = simpl[jl].0;
    let mut pbar = pbar_of(&simpl, jh);
    let mut ybar = fcn.call(&pbar);
    if ybar < amin {
        replace_worst(&mut simpl, &mut jh, &mut jl, ybar, pbar.clone());
    } else {
        pbar = simpl[jl].1.clone();
        ybar = simpl[jl].0;
    }
    let mut dirin = vec![0.0; n];
    for i in 0..n {
        let mut pbig = simpl[0].1[i];
        let mut plit = pbig;
        for s in &simpl {
            if s.1[i] < plit {
                plit = s.1[i];
            }
            if s.1[i] > pbig {
                pbig = s.1[i];
            }
        }
        dirin[i] = pbig - plit;
    }
    let e = sedm(&simpl, jh, jl);
    let f = (fcn.up / e).sqrt();
    for d in dirin.iter_mut() {
        *d *= f;
    }
    let st = State {
        p: Params {
            x: pbar,
            dirin,
            fval: ybar,
            valid: true,
        },
        err: MinError::with_status(Sym::zeros(n), ErrStatus::Unset),
        grad: Grad::zeros(n),
        edm: e,
        nfcn: fcn.ncalls,
    };
    if fcn.ncalls > maxfcn {
        return FMin::new(st, FStatus::CallLimit);
    }
    if e > minedm {
        return FMin::new(st, FStatus::AboveMaxEdm);
    }
    FMin::new(st, FStatus::Valid)
}

/// A simplex's points with their values: the worst is `jh`, the best `jl`.
type Simplex = Vec<(f64, Vec<f64>)>;

/// Minuit's `SimplexParameters::Update`: the worst point replaced by `p`, the best
/// and the worst found again.
fn replace_worst(s: &mut Simplex, jh: &mut usize, jl: &mut usize, y: f64, p: Vec<f64>) {
    s[*jh] = (y, p);
    if y < s[*jl].0 {
        *jl = *jh;
    }
    let mut h = 0;
    for i in 1..s.len() {
        if s[i].0 > s[h].0 {
            h = i;
        }
    }
    *jh = h;
}

/// The contraction of the worst point towards the centroid `pbar`: taken if it is no
/// worse than the worst; true (SIMPLEX stops) if it is.
fn contract<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    simpl: &mut Simplex,
    jh: &mut usize,
    jl: &mut usize,
    pbar: &[f64],
    beta: f64,
) -> bool {
    let xh = &simpl[*jh].1;
    let pstst: Vec<f64> = xh
        .iter()
        .zip(pbar)
        .map(|(x, p)| beta * x + (1.0 - beta) * p)
        .collect();
    let ystst = fcn.call(&pstst);
    if ystst > simpl[*jh].0 {
        return true;
    }
    replace_worst(simpl, jh, jl, ystst, pstst);
    false
}
