//! Minuit's parabolic line search along the variable-metric step.
use super::*;

// ------------------------------------------------------------ line search

pub(super) fn parabola(p: [(f64, f64); 3]) -> (f64, f64) {
    let (mut x1, y1) = p[0];
    let (mut x2, y2) = p[1];
    let (mut x3, y3) = p[2];
    let dx12 = x1 - x2;
    let dx13 = x1 - x3;
    let dx23 = x2 - x3;
    let xm = (x1 + x2 + x3) / 3.0;
    x1 -= xm;
    x2 -= xm;
    x3 -= xm;
    let a = y1 / (dx12 * dx13) - y2 / (dx12 * dx23) + y3 / (dx13 * dx23);
    let mut b = -y1 * (x2 + x3) / (dx12 * dx13) + y2 * (x1 + x3) / (dx12 * dx23)
        - y3 * (x1 + x2) / (dx13 * dx23);
    b -= 2.0 * xm * a;
    (a, b)
}

/// Minuit's parabolic line search along `step`; returns (lambda, f).
pub(super) fn line_search<F: FnMut(&[f64]) -> f64>(
    fcn: &mut Fcn<F>,
    st: &Params,
    step: &[f64],
    gdel: f64,
) -> (f64, f64) {
    let prec = fcn.trafo.prec;
    let mut overall = 1000.0;
    let mut undral = -100.0;
    let toler = 0.05;
    let mut slamin = 0.0;
    let slambg = 5.0;
    let alpha = 2.0;
    let maxiter = 12;
    let mut niter = 1;
    let n = step.len();
    let point = |s: f64| -> Vec<f64> { (0..n).map(|i| st.x[i] + s * step[i]).collect() };
    for i in 0..n {
        if step[i] == 0.0 {
            continue;
        }
        let ratio = (st.x[i] / step[i]).abs();
        if slamin == 0.0 {
            slamin = ratio;
        }
        if ratio < slamin {
            slamin = ratio;
        }
    }
    if slamin.abs() < prec.eps {
        slamin = prec.eps;
    }
    slamin *= prec.eps2;

    let f0 = st.fval;
    let x1: Vec<f64> = (0..n).map(|i| st.x[i] + step[i]).collect();
    let f1 = fcn.call(&x1);
    niter += 1;
    let mut fvmin = st.fval;
    let mut xvmin = 0.0;
    if f1 < f0 {
        fvmin = f1;
        xvmin = 1.0;
    }
    let mut toler8 = toler;
    let mut slamax = slambg;
    let mut flast = f1;
    let mut slam = 1.0;
    let mut p0 = (0.0, f0);
    let mut p1 = (slam, flast);
    let mut f2;
    loop {
        let mut iterate = false;
        let denom = 2.0 * (flast - f0 - gdel * slam) / (slam * slam);
        if denom != 0.0 {
            slam = -gdel / denom;
        } else {
            slam = 1.0;
        }
        if slam < 0.0 {
            slam = slamax;
        }
        if slam > slamax {
            slam = slamax;
        }
        if slam < toler8 {
            slam = toler8;
        }
        if slam < slamin {
            return (xvmin, fvmin);
        }
        if (slam - 1.0).abs() < toler8 && p1.1 < p0.1 {
            return (xvmin, fvmin);
        }
        if (slam - 1.0).abs() < toler8 {
            slam = 1.0 + toler8;
        }
        f2 = fcn.call(&point(slam));
        niter += 1;
        if f2 < fvmin {
            fvmin = f2;
            xvmin = slam;
        }
        if (p0.1 - fvmin).abs() < fvmin.abs() * prec.eps {
            iterate = true;
            flast = f2;
            toler8 = toler * slam;
            overall = slam - toler8;
            slamax = overall;
            p1 = (slam, flast);
        }
        if !(iterate && niter < maxiter) {
            break;
        }
    }
    if niter >= maxiter {
        return (xvmin, fvmin);
    }
    let mut p2 = (slam, f2);
    loop {
        slamax = cmax(slamax, alpha * xvmin.abs());
        let (a, b) = parabola([p0, p1, p2]);
        if a < prec.eps2 {
            let slopem = 2.0 * a * xvmin + b;
            if slopem < 0.0 {
                slam = xvmin + slamax;
            } else {
                slam = xvmin - slamax;
            }
        } else {
            slam = -b / (2.0 * a);
            if slam > xvmin + slamax {
                slam = xvmin + slamax;
            }
            if slam < xvmin - slamax {
                slam = xvmin - slamax;
            }
        }
        if slam > 0.0 {
            if slam > overall {
                slam = overall;
            }
        } else if slam < undral {
            slam = undral;
        }
        let mut f3;
        loop {
            let mut iterate = false;
            let toler9 = cmax(toler8, (toler8 * slam).abs());
            if (p0.0 - slam).abs() < toler9
                || (p1.0 - slam).abs() < toler9
                || (p2.0 - slam).abs() < toler9
            {
                return (xvmin, fvmin);
            }
            f3 = fcn.call(&point(slam));
            if f3 > p0.1 && f3 > p1.1 && f3 > p2.1 {
                if slam > xvmin {
                    overall = cmin(overall, slam - toler8);
                }
                if slam < xvmin {
                    undral = cmax(undral, slam + toler8);
                }
                slam = 0.5 * (slam + xvmin);
                iterate = true;
                niter += 1;
            }
            if !(iterate && niter < maxiter) {
                break;
            }
        }
        if niter >= maxiter {
            return (xvmin, fvmin);
        }
        let p3 = (slam, f3);
        if p0.1 > p1.1 && p0.1 > p2.1 {
            p0 = p3;
        } else if p1.1 > p0.1 && p1.1 > p2.1 {
            p1 = p3;
        } else {
            p2 = p3;
        }
        if f3 < fvmin {
            fvmin = f3;
            xvmin = slam;
        } else {
            if slam > xvmin {
                overall = cmin(overall, slam - toler8);
            }
            if slam < xvmin {
                undral = cmax(undral, slam + toler8);
            }
        }
        niter += 1;
        if niter >= maxiter {
            break;
        }
    }
    (xvmin, fvmin)
}
