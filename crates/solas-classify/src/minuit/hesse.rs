//! HESSE: the finite-difference second-derivative matrix, which decides validity.
use super::*;

// ------------------------------------------------------------------ HESSE

pub(super) fn hesse_state<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    st: &State,
    stra: &Strategy,
    maxcalls: usize,
) -> State {
    let prec = fcn.trafo.prec;
    let amin = fcn.call(&st.p.x);
    let aimsag = prec.eps2.sqrt() * (amin.abs() + fcn.up);
    let n = st.p.x.len();
    let maxcalls = if maxcalls == 0 {
        200 + 100 * n + 5 * n * n
    } else {
        maxcalls
    };
    let mut vhmat = Sym::zeros(n);
    let mut g2 = st.grad.g2.clone();
    let mut gst = st.grad.gstep.clone();
    let mut grd = st.grad.g.clone();
    let mut dirin = st.grad.gstep.clone();
    let mut yy = vec![0.0; n];
    let mut x = st.p.x.clone();
    let diag_fallback = |g2: &[f64]| {
        let mut m = Sym::zeros(n);
        for j in 0..n {
            let t = if g2[j] < prec.eps2 { 1.0 } else { 1.0 / g2[j] };
            m.set(j, j, if t < prec.eps2 { 1.0 } else { t });
        }
        m
    };
    for i in 0..n {
        let xtf = x[i];
        let dmin = 8.0 * prec.eps2 * (xtf.abs() + prec.eps2);
        let mut d = gst[i].abs();
        if d < dmin {
            d = dmin;
        }
        let limited = fcn.trafo.limited(i);
        for _ in 0..stra.hess_ncycles {
            let mut sag = 0.0;
            let mut fs1 = 0.0;
            let mut fs2 = 0.0;
            let mut ok = false;
            for _ in 0..5 {
                x[i] = xtf + d;
                fs1 = fcn.call(&x);
                x[i] = xtf - d;
                fs2 = fcn.call(&x);
                x[i] = xtf;
                sag = 0.5 * (fs1 + fs2 - 2.0 * amin);
                if sag != 0.0 {
                    ok = true;
                    break;
                }
                if limited {
                    if d > 0.5 {
                        break;
                    }
                    d *= 10.0;
                    if d > 0.5 {
                        d = 0.51;
                    }
                    continue;
                }
                d *= 10.0;
            }
            if !ok {
                let m = diag_fallback(&g2);
                return State {
                    p: st.p.clone(),
                    err: MinError::with_status(m, ErrStatus::HesseFailed),
                    grad: st.grad.clone(),
                    edm: st.edm,
                    nfcn: fcn.ncalls,
                };
            }
            let g2bfor = g2[i];
            g2[i] = 2.0 * sag / (d * d);
            grd[i] = (fs1 - fs2) / (2.0 * d);
            gst[i] = d;
            dirin[i] = d;
            yy[i] = fs1;
            let dlast = d;
            d = (2.0 * aimsag / g2[i].abs()).sqrt();
            if limited {
                d = cmin(0.5, d);
            }
            if d < dmin {
                d = dmin;
            }
            if ((d - dlast) / d).abs() < stra.hess_step_tol {
                break;
            }
            if ((g2[i] - g2bfor) / g2[i]).abs() < stra.hess_g2_tol {
                break;
            }
            d = cmin(d, 10.0 * dlast);
            d = cmax(d, 0.1 * dlast);
        }
        vhmat.set(i, i, g2[i]);
        if fcn.ncalls > maxcalls {
            let m = diag_fallback(&g2);
            return State {
                p: st.p.clone(),
                err: MinError::with_status(m, ErrStatus::ReachedCallLimit),
                grad: st.grad.clone(),
                edm: st.edm,
                nfcn: fcn.ncalls,
            };
        }
    }
    if stra.level > 0 {
        let gr = hessian_gradient(
            fcn,
            &st.p,
            &Grad {
                g: grd.clone(),
                g2: g2.clone(),
                gstep: gst.clone(),
            },
            stra,
        );
        grd = gr.g;
        gst = gr.gstep;
    }
    // off-diagonal elements; x is perturbed and restored exactly as Minuit does
    for i in 0..n {
        if i + 1 < n {
            x[i] += dirin[i];
            for j in i + 1..n {
                x[j] += dirin[j];
                let fs1 = fcn.call(&x);
                let elem = (fs1 + amin - yy[i] - yy[j]) / (dirin[i] * dirin[j]);
                vhmat.set(i, j, elem);
                x[j] -= dirin[j];
            }
            x[i] -= dirin[i];
        }
    }
    let tmp_err = make_posdef(&MinError::new(vhmat.clone(), 1.0), &prec);
    if stra.hess_force_posdef {
        vhmat = tmp_err.inv_h.clone();
    }
    if !invert(&mut vhmat) {
        let m = diag_fallback(&g2);
        return State {
            p: st.p.clone(),
            err: MinError::with_status(m, ErrStatus::InvertFailed),
            grad: st.grad.clone(),
            edm: st.edm,
            nfcn: fcn.ncalls,
        };
    }
    let gr = Grad {
        g: grd,
        g2,
        gstep: gst,
    };
    let err = if tmp_err.status == ErrStatus::MadePosDef {
        MinError::with_status(
            vhmat,
            if stra.hess_force_posdef {
                ErrStatus::MadePosDef
            } else {
                ErrStatus::NotPosDef
            },
        )
    } else {
        MinError::new(vhmat, 0.0)
    };
    let edm = estimate_edm(&gr, &err);
    State {
        p: st.p.clone(),
        err,
        grad: gr,
        edm,
        nfcn: fcn.ncalls,
    }
}
