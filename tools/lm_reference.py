#!/usr/bin/env python3
"""Reference fits for Solas's Levenberg-Marquardt solver (crates/solas-features/src/lm.rs).

For every object of the shared real ZTF alerts with at least five positive detections (the
alert and its history; the shared Rubin alerts are first detections), the points (days
since the first detection, band wavelength in um, flux in nJy from magpsf) are fitted with the
Bazin x blackbody model, unweighted, by scipy.optimize.leastsq (MINPACK lmdif) from the
starting point Solas uses (Lasair's first guess with the amplitude set to its closed-form
best value), maxfev=500 as Lasair. The points, the start and scipy's answer are written to
crates/solas-features/tests/data/lm_reference.json; the features crate's test `lm_pin`
fits the same points with lm.rs and compares.

    scripts/python-venv.sh scipy numpy fastavro   # prints the venv's python
    .tools/py-venv/bin/python tools/lm_reference.py ../shared/data
"""
import glob
import json
import math
import sys

import fastavro
import numpy as np
import scipy
from scipy.optimize import leastsq

HC_K = 14.387
# Effective wavelengths (um) of the ZTF bands, as any table would do: the test takes the
# wavelengths from the file, so only the solver is compared.
WAVELENGTH = {"g": 0.4746, "r": 0.6366, "i": 0.7829}
BAND = {1: "g", 2: "r", 3: "i"}
FIRST_GUESS = [100.0, 4.0, 6.0, 0.1, 0.01]


def bazin(t, wl, p):
    a, temp, t0, kr, kf = p
    tau = t - t0
    bb = wl ** -3 / (np.exp(HC_K / (wl * temp)) - 1.0)
    return a * bb * np.exp(-kf * tau) / (1.0 + np.exp(-kr * tau))


def main(shared):
    curves = {}
    for path in sorted(glob.glob(f"{shared}/ztf/alerts/*/*.avro")):
        with open(path, "rb") as f:
            for alert in fastavro.reader(f):
                obj = alert.get("objectId")
                history = [alert["candidate"]] + list(alert.get("prv_candidates") or [])
                for c in history:
                    mag, fid = c.get("magpsf"), c.get("fid")
                    if mag is None or c.get("candid") is None or fid not in BAND:
                        continue
                    if c.get("isdiffpos") not in ("t", "1"):
                        continue
                    flux = 10 ** (-0.4 * (mag - 31.4))
                    curves.setdefault(obj, {})[c["candid"]] = (
                        c["jd"] - 2400000.5, WAVELENGTH[BAND[fid]], flux)
    cases = []
    for obj, sources in sorted(curves.items()):
        pts = sorted(sources.values())
        if len(pts) < 5:
            continue
        t0 = pts[0][0]
        t = np.array([p[0] - t0 for p in pts])
        wl = np.array([p[1] for p in pts])
        flux = np.array([p[2] for p in pts])
        unit = [1.0] + FIRST_GUESS[1:]
        g = bazin(t, wl, unit)
        a = float(np.dot(flux, g) / np.dot(g, g))
        p0 = [a] + FIRST_GUESS[1:] if math.isfinite(a) and a != 0.0 else list(FIRST_GUESS)
        params, cov, info, _, ier = leastsq(
            lambda p: flux - bazin(t, wl, p), p0, full_output=True, maxfev=500)
        sse = float(np.sum(info["fvec"] ** 2))
        cases.append({
            "object": obj,
            "points": [[float(a), float(b), float(c)] for a, b, c in zip(t, wl, flux)],
            "p0": p0,
            "scipy": {
                "params": [float(x) for x in params],
                "sse": sse,
                "nfev": int(info["nfev"]),
                "converged": ier in (1, 2, 3, 4),
            },
        })
    out = {
        "about": "scipy.optimize.leastsq fits of real ZTF lightcurves (tools/lm_reference.py)",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    path = "crates/solas-features/tests/data/lm_reference.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"{len(cases)} fits written to {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
