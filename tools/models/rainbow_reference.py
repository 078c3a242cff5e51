#!/usr/bin/env python3
"""Fink's own early SN Ia answers for Rubin (Rainbow fit and forest), for Solas's tests.

Runs fink-science's Rubin early SN Ia processor (`rfscore_rainbow_elasticc_nometa` and
`extract_features_rainbow`: actsnfink's `fit_rainbow` on light-curve's `RainbowFit`, then
the forest `elasticc_rainbow_earlyIa_nometa.pkl`) as Fink feeds it: per alert the
`prvDiaSources` values then the `diaSource`'s, `psfFlux` and its error as float32.

Inputs:
- the ELAsTiCC alerts fink-science tests this model with
  (`fink_science/data/alerts/test_elasticc_earlysnia.parquet` and
  `.../elasticc_parquet/test_elasticc_earlysnia.parquet`: 816 rows, 556 alerts). ELAsTiCC's
  old schema names the columns `midPointTai`, `filterName`, `psFlux`, `psFluxErr` and its
  last band `Y`; Rubin's are `midpointMjdTai`, `band`, `psfFlux`, `psfFluxErr` and `y`, which
  is what the processor expects, so `Y` is read as `y`. Each alert's sources are sorted by
  time and every prefix (the first k sources, k = 1..n, the curve as it looked k sources
  in) is scored: 4,900 curves, 363 of which Fink scores. These are simulated alerts
  (DESC's ELAsTiCC challenge) as fink-science redistributes them in its Apache-2.0
  repository; the output keeps each alert's times, bands, fluxes and errors only.
- the shared Rubin alerts (`lsst/real`): all first detections, so Fink gives each -1.

Each fitted prefix is fitted a second time from a start one part in 2^52 away. Where the
features then move by more than 1e-6 the prefix is marked `start_sensitive` (Minuit itself
does not stop in one place: 307 of the 363 fits), and where the forest's score moves by
more than 1e-6 it is marked `score_unstable` (97 of 363, by up to 0.21): there Fink's own
answer depends on the last bit of its arithmetic (numpy's SIMD kernels, the CPU), so Solas
is compared only where Fink's answer is stable.

light-curve's Rainbow fit changed after the model was trained (0.10.2 changed the
temperature term's start and limits; 0.13 its parameters), so the fit is run as
light-curve 0.10.0 (January 2025, the release when the model was committed, February
2025) runs it.

Writes crates/solas-classify/tests/data/rainbow_reference_rubin.json; Solas's tests compare
with it (tests/classify/rainbow_parity.rs).

actsnfink is not on PyPI, so CI cannot run it: a developer runs this beside snapshots and
commits the output.
  CODE: a folder holding fink_science/ (astrolabsoftware/fink-science ddee53d, with
        data/models/elasticc_rainbow_earlyIa_nometa.pkl taken from the PyPI wheel
        fink_science 7.4.0) and actsnfink/ (emilleishida/fink_sn_activelearning f424ab1)

    python -m venv V && V/bin/pip install numpy==1.26.4 scipy==1.11.4 pandas==2.2.3 \
        scikit-learn==1.5.2 light-curve==0.10.0 iminuit==2.30.1 pyarrow==17.0.0 fastavro
    V/bin/python tools/models/rainbow_reference.py CODE ../shared/data OUT.json
"""
import glob
import hashlib
import json
import os
import sys
import warnings

# numpy's AVX-512 kernels (exp, expm1, power) round differently from the C library in the
# last bit, and these fits carry last bits far (see above): the answer recorded is Fink's
# code as it runs on a CPU without AVX-512, where numpy calls the C library as Solas does.
# Set before numpy loads.
os.environ["NPY_DISABLE_CPU_FEATURES"] = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fink_glue import actsnfink_package, stub_modules  # noqa: E402

# The wavelengths `rfscore_rainbow_elasticc_nometa` gives the fit (Rubin's band names;
# `extract_features_rainbow`'s own default spells the last band `Y`).
WAVE_AA = {"u": 3671.0, "g": 4827.0, "r": 6223.0, "i": 7546.0, "z": 8691.0, "y": 9712.0}


def elasticc_curves(code):
    """Every test alert's sources, sorted by time: (alertId, mjd, band, flux, flux_err)."""
    curves = []
    seen = set()
    for rel in ["test_elasticc_earlysnia.parquet",
                "elasticc_parquet/test_elasticc_earlysnia.parquet"]:
        frame = pd.read_parquet(os.path.join(code, "fink_science", "data", "alerts", rel))
        for _, alert in frame.iterrows():
            if alert["alertId"] in seen:
                continue
            seen.add(alert["alertId"])
            sources = list(alert["prvDiaSources"] if alert["prvDiaSources"] is not None
                           else []) + [alert["diaSource"]]
            sources.sort(key=lambda s: s["midPointTai"])
            curves.append({
                "alert_id": int(alert["alertId"]),
                "mjd": [float(s["midPointTai"]) for s in sources],
                "band": [s["filterName"].replace("Y", "y") for s in sources],
                "flux": [None if s["psFlux"] is None else float(np.float32(s["psFlux"]))
                         for s in sources],
                "flux_err": [None if s["psFluxErr"] is None
                             else float(np.float32(s["psFluxErr"])) for s in sources],
            })
    return curves


def arrays(curve, k):
    nan = lambda v: np.nan if v is None else v  # noqa: E731
    return (np.array(curve["mjd"][:k], dtype=np.float64),
            np.array(curve["band"][:k], dtype=object),
            np.array([nan(v) for v in curve["flux"][:k]], dtype=np.float32),
            np.array([nan(v) for v in curve["flux_err"][:k]], dtype=np.float32))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    code, shared, out = sys.argv[1:]
    sys.path.insert(0, code)
    stub_modules()
    actsnfink_package(code)
    warnings.simplefilter("ignore")
    from fink_science.rubin.random_forest_snia import processor as rubin
    from light_curve.light_curve_py.features.rainbow import generic

    pkl = os.path.join(code, "fink_science", "data", "models",
                       "elasticc_rainbow_earlyIa_nometa.pkl")
    curves = elasticc_curves(code)

    def run(series):
        scores = rubin.rfscore_rainbow_elasticc_nometa(*series)
        return [float(s) for s in scores]

    prefixes = [(i, k) for i, c in enumerate(curves) for k in range(1, len(c["mjd"]) + 1)]
    cols = list(zip(*[arrays(curves[i], k) for i, k in prefixes]))
    scores = run([pd.Series(list(c)) for c in cols])

    def features_of(*arrays):
        # As `rfscore_rainbow_elasticc_nometa` calls it.
        return rubin.extract_features_rainbow(*arrays, band_wave_aa=WAVE_AA,
                                              with_baseline=False, min_data_points=7,
                                              low_bound=-10)

    original = generic.RainbowFit._initial_guesses

    def nudged(self, t, m, sigma, band):
        return {k: v * (1 + 2.0 ** -52) for k, v in original(self, t, m, sigma, band).items()}

    for c in curves:
        c["scores"] = []
        c["features"] = {}
        c["start_sensitive"] = []
        c["score_unstable"] = []
    import pickle

    with open(pkl, "rb") as f:
        clf = pickle.load(f)

    def forest(vector):
        if vector[1] == 0.0:
            return -1.0
        return float(clf.predict_proba(np.array([vector]))[0][1])
    for (i, k), score in zip(prefixes, scores):
        curve = curves[i]
        curve["scores"].append(score)
        if score == -1.0:
            continue
        mjd, band, flux, err = arrays(curve, k)
        features = features_of(mjd, band, flux, err)
        curve["features"][str(k)] = [float(len(mjd))] + [float(v) for v in features]
        generic.RainbowFit._initial_guesses = nudged
        again = features_of(mjd, band, flux, err)
        generic.RainbowFit._initial_guesses = original
        moved = np.abs(np.asarray(again) - np.asarray(features))
        if np.any(moved > 1e-6 * np.maximum(np.abs(features), 1e-300)):
            curve["start_sensitive"].append(k)
        if abs(forest([float(len(mjd))] + [float(v) for v in again]) - score) > 1e-6:
            curve["score_unstable"].append(k)

    import fastavro

    rubin_alerts = []
    for path in sorted(glob.glob(os.path.join(shared, "lsst", "real", "*", "*.avro"))):
        with open(path, "rb") as f:
            if f.read(4) != b"Obj\x01":
                continue  # Confluent wire format: no schema in the file
        with open(path, "rb") as f:
            for alert in fastavro.reader(f):
                sources = (alert.get("prvDiaSources") or []) + [alert["diaSource"]]
                col = lambda name, dt: pd.Series([np.array(  # noqa: E731
                    [np.nan if s.get(name) is None else s[name] for s in sources], dtype=dt)])
                series = [col("midpointMjdTai", np.float64),
                          pd.Series([np.array([s["band"] for s in sources], dtype=object)]),
                          col("psfFlux", np.float32), col("psfFluxErr", np.float32)]
                rubin_alerts.append({
                    "file": os.path.relpath(path, os.path.join(shared, "lsst", "real")),
                    "diaSourceId": alert["diaSource"]["diaSourceId"],
                    "score": run(series)[0],
                })

    import iminuit
    import light_curve
    import scipy
    import sklearn

    doc = {
        "made_by": "tools/models/rainbow_reference.py",
        "model_sha256": hashlib.sha256(open(pkl, "rb").read()).hexdigest(),
        "versions": {"numpy": np.__version__, "pandas": pd.__version__,
                     "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
                     "light-curve": light_curve.__version__,
                     "iminuit": iminuit.__version__,
                     "fink-science": "ddee53da6226b4c3c50113f2d0e5f179ca8d31e8",
                     "actsnfink": "f424ab1fc5024a49364d41090d1c3c2b8cb733cd"},
        "curves": curves,
        "rubin": rubin_alerts,
    }
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    fitted = sum(len(c["features"]) for c in curves)
    sensitive = sum(len(c["start_sensitive"]) for c in curves)
    unstable = sum(len(c["score_unstable"]) for c in curves)
    print(f"{len(curves)} curves, {len(prefixes)} prefixes, {fitted} scored, "
          f"{sensitive} start-sensitive, {unstable} with unstable scores; "
          f"{len(rubin_alerts)} Rubin alerts, "
          f"{sum(a['score'] != -1.0 for a in rubin_alerts)} scored", file=sys.stderr)


if __name__ == "__main__":
    main()
