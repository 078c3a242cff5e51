//! Minuit's numerical gradient: two-point differences with its iterative step refinement,
//! seeded from the parameters' errors, and the EDM estimate.
use super::*;

// --------------------------------------------------------------- gradients

/// Starting gradient estimate from the parameter errors.
pub(super) fn initial_gradient<F: FnMut(&[f64]) -> f64>(
    fcn: &Fcn<F>,
    p: &Params,
    errs: &[f64],
) -> Grad {
    let tr = fcn.trafo;
    let prec = tr.prec;
    let n = p.x.len();
    let mut gr = Grad::zeros(n);
    for i in 0..n {
        let var = p.x[i];
        let werr = errs[i];
        let save1 = tr.int2ext(i, var);
        let mut save2 = save1 + werr;
        if let Some((_, hi)) = tr.limits[i] {
            if save2 > hi {
                save2 = hi;
            }
        }
        let vplu = tr.ext2int(i, save2) - var;
        save2 = save1 - werr;
        if let Some((lo, _)) = tr.limits[i] {
            if save2 < lo {
                save2 = lo;
            }
        }
        let vmin = tr.ext2int(i, save2) - var;
        let gsmin = 8.0 * prec.eps2 * (var.abs() + prec.eps2);
        let dirin = cmax(0.5 * (vplu.abs() + vmin.abs()), gsmin);
        let g2 = 2.0 * fcn.up / (dirin * dirin);
        let mut gstep = cmax(gsmin, 0.1 * dirin);
        let grd = g2 * dirin;
        if tr.limited(i) && gstep > 0.5 {
            gstep = 0.5;
        }
        gr.g[i] = grd;
        gr.g2[i] = g2;
        gr.gstep[i] = gstep;
    }
    gr
}

/// Two-point numerical gradient refined from a previous estimate.
pub(super) fn numerical_gradient<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    p: &Params,
    prev: &Grad,
    stra: &Strategy,
) -> Grad {
    let prec = fcn.trafo.prec;
    let fcnmin = p.fval;
    let dfmin = 8.0 * prec.eps2 * (fcnmin.abs() + fcn.up);
    let vrysml = 8.0 * prec.eps * prec.eps;
    let n = p.x.len();
    let mut gr = prev.clone();
    let mut x = p.x.clone();
    for i in 0..n {
        let xtf = x[i];
        let epspri = prec.eps2 + (gr.g[i] * prec.eps2).abs();
        let mut stepb4 = 0.0;
        for _ in 0..stra.grad_ncycles {
            let optstp = (dfmin / (gr.g2[i].abs() + epspri)).sqrt();
            let mut step = cmax(optstp, (0.1 * gr.gstep[i]).abs());
            if fcn.trafo.limited(i) && step > 0.5 {
                step = 0.5;
            }
            let stpmax = 10.0 * gr.gstep[i].abs();
            if step > stpmax {
                step = stpmax;
            }
            let stpmin = cmax(vrysml, 8.0 * (prec.eps2 * x[i]).abs());
            if step < stpmin {
                step = stpmin;
            }
            if ((step - stepb4) / step).abs() < stra.grad_step_tol {
                break;
            }
            gr.gstep[i] = step;
            stepb4 = step;
            x[i] = xtf + step;
            let fs1 = fcn.call(&x);
            x[i] = xtf - step;
            let fs2 = fcn.call(&x);
            x[i] = xtf;
            let grdb4 = gr.g[i];
            gr.g[i] = 0.5 * (fs1 - fs2) / step;
            gr.g2[i] = (fs1 + fs2 - 2.0 * fcnmin) / step / step;
            if (grdb4 - gr.g[i]).abs() / (gr.g[i].abs() + dfmin / step) < stra.grad_tol {
                break;
            }
        }
    }
    gr
}

/// Gradient refinement used by HESSE for strategy > 0.
pub(super) fn hessian_gradient<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    p: &Params,
    prev: &Grad,
    stra: &Strategy,
) -> Grad {
    let prec = fcn.trafo.prec;
    let mut x = p.x.clone();
    let mut gr = prev.clone();
    let fcnmin = p.fval;
    let dfmin = 4.0 * prec.eps2 * (fcnmin.abs() + fcn.up);
    for i in 0..x.len() {
        let xtf = x[i];
        let dmin = 4.0 * prec.eps2 * (xtf + prec.eps2);
        let epspri = prec.eps2 + (gr.g[i] * prec.eps2).abs();
        let optstp = (dfmin / (gr.g2[i].abs() + epspri)).sqrt();
        let mut d = 0.2 * gr.gstep[i].abs();
        if d > optstp {
            d = optstp;
        }
        if d < dmin {
            d = dmin;
        }
        let mut chgold = 10000.0;
        for j in 0..stra.hess_grad_ncycles {
            x[i] = xtf + d;
            let fs1 = fcn.call(&x);
            x[i] = xtf - d;
            let fs2 = fcn.call(&x);
            x[i] = xtf;
            let grdold = gr.g[i];
            let grdnew = (fs1 - fs2) / (2.0 * d);
            let dgmin = prec.eps * (fs1.abs() + fs2.abs()) / d;
            if grdnew == 0.0 {
                break;
            }
            let change = ((grdold - grdnew) / grdnew).abs();
            if change > chgold && j > 1 {
                break;
            }
            chgold = change;
            gr.g[i] = grdnew;
            gr.gstep[i] = d;
            if change < 0.05 {
                break;
            }
            if (grdold - grdnew).abs() < dgmin {
                break;
            }
            if d < dmin {
                break;
            }
            d *= 0.2;
        }
    }
    gr
}

pub(super) fn full_gradient<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    p: &Params,
    errs: &[f64],
    stra: &Strategy,
) -> Grad {
    let g0 = initial_gradient(fcn, p, errs);
    numerical_gradient(fcn, p, &g0, stra)
}

pub(super) fn estimate_edm(g: &Grad, e: &MinError) -> f64 {
    if e.inv_h.d.len() == 1 {
        return 0.5 * g.g[0] * g.g[0] * e.inv_h.get(0, 0);
    }
    0.5 * similarity(&g.g, &e.inv_h)
}
