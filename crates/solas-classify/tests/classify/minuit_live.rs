//! Solas's MIGRAD against iminuit 2.30.1 itself, live (iminuit is on PyPI and light): the
//! same fits of simple functions give the same number of calls, the same minimum and the
//! same parameters. The Rainbow fits it exists for are checked in `rainbow_parity.rs`.

use std::process::Command;

use solas_classify::minuit;

const IMINUIT: &str = "
from iminuit import Minuit
def rosen(x, y): return (1 - x)**2 + 100 * (y - x * x)**2
def quad(x, y): return (x - 1.0)**2 + 3.0 * (y + 2.0)**2 + 0.5 * x * y
for f, start, lim in [(rosen, (-1.2, 1.0), None), (quad, (0.3, 0.7), None),
                      (rosen, (-1.2, 1.0), [(-2, 2), (-1, 3)])]:
    m = Minuit(f, *start)
    m.errordef = 1
    if lim:
        m.limits = lim
    m.migrad()
    print(m.nfcn, repr(m.fval), *[repr(v) for v in m.values], m.valid)
";

/// A function, its start, its limits and the agreement asked.
type Case<'a> = (
    &'a dyn Fn(&[f64]) -> f64,
    [f64; 2],
    Vec<Option<(f64, f64)>>,
    f64,
);

#[test]
fn migrad_fits_simple_functions_as_iminuit_does() {
    let python = solas_testdata::python_with_venv(
        "rainbow",
        &[
            "numpy==1.26.4",
            "scipy==1.11.4",
            "scikit-learn==1.5.2",
            "iminuit==2.30.1",
        ],
    );
    let out = Command::new(python).args(["-c", IMINUIT]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = String::from_utf8(out.stdout).unwrap();
    let rosen = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
    let quad = |p: &[f64]| (p[0] - 1.0).powi(2) + 3.0 * (p[1] + 2.0).powi(2) + 0.5 * p[0] * p[1];
    let cases: [Case; 3] = [
        (&rosen, [-1.2, 1.0], vec![], 0.0),
        (&quad, [0.3, 0.7], vec![], 0.0),
        // With limits the parameters go through Minuit's sine transformation; one step of
        // it still parts from Minuit's in the last bits (the note in `minuit`).
        (
            &rosen,
            [-1.2, 1.0],
            vec![Some((-2.0, 2.0)), Some((-1.0, 3.0))],
            1e-12,
        ),
    ];
    let lines: Vec<&str> = theirs.lines().collect();
    assert_eq!(lines.len(), cases.len());
    for ((f, start, limits, tol), line) in cases.iter().zip(lines) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let ours = minuit::migrad(f, start, limits, 1.0, 1);
        assert_eq!(ours.nfcn.to_string(), w[0], "{line}");
        assert_eq!(ours.valid.to_string().to_lowercase(), w[4].to_lowercase());
        let numbers = [ours.fval, ours.values[0], ours.values[1]];
        for (a, b) in numbers.iter().zip(&w[1..4]) {
            let b: f64 = b.parse().unwrap();
            assert!(
                (a - b).abs() <= tol * b.abs().max(1.0),
                "Solas {a}, iminuit {b}: {line}"
            );
        }
    }
}
