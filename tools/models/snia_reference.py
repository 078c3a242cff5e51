#!/usr/bin/env python3
"""Fink's own early SN Ia answers on the shared ZTF alerts, for Solas's classifier tests.

Runs fink-science's ZTF early SN Ia processor (`rfscore_sigmoid_full`,
`extract_features_rf_snia`: actsnfink's sigmoid features and the trained forest
`default-model_sigmoid.obj`) on every shared ZTF alert, fed as Fink feeds it (the alert's
`prv_candidates` values then the `candidate`'s, float32 magnitudes, `cdsxmatch` "Unknown"
as fink-science's doctests set it). To test the sigmoid fits on more curves than the alerts
give, it also runs actsnfink's feature extraction on every prefix of each alert's detections
(the first k detections in that order, k = 1..n), as the curve looked k detections in.

Many of these fits are flat (a rising exponential fits as well as any sigmoid), and there
where scipy stops depends on rounding: the script fits each prefix a second time with
LAPACK's other SVD driver (`gesvd` for scipy's default `gesdd`, mathematically the same)
and marks the prefixes whose features then move by more than 1e-6 as `solver_sensitive`
(38 of 1,647; two of them even change score). Solas's tests compare those prefixes'
scores but not their fitted values.

Writes crates/solas-classify/tests/data/snia_reference_ztf.json. Solas's tests compare with
it (tests/classify/snia_parity.rs).

The authors' code is not on PyPI (actsnfink lives on GitHub only), so CI cannot run it: a
developer runs this beside their snapshots and commits the output.
  CODE: a folder holding fink_science/ (astrolabsoftware/fink-science, with
        data/models/default-model_sigmoid.obj from the PyPI wheel fink_science 7.4.0),
        actsnfink/ (emilleishida/fink_sn_activelearning) and fink_utils/ (PyPI fink-utils)

    python -m venv V && V/bin/pip install numpy==1.26.4 scipy==1.11.4 pandas==2.1.4 \
        scikit-learn==1.2.2 fastavro
    V/bin/python tools/models/snia_reference.py CODE ../shared/data OUT.json
"""
import json
import os
import sys
import warnings

import numpy as np
import pandas as pd

from fink_glue import actsnfink_package, stub_modules, ztf_alerts, ztf_columns


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    code, shared, out = sys.argv[1:]
    sys.path.insert(0, code)
    stub_modules()
    actsnfink_package(code)
    warnings.simplefilter("ignore")
    from actsnfink.classifier_sigmoid import RF_FEATURE_NAMES, get_sigmoid_features_dev_fast
    from fink_science.ztf.random_forest_snia import processor as snia
    from fink_utils.data.utils import format_data_as_snana, load_scikit_model

    model_path = os.path.join(code, "fink_science", "data", "models",
                              "default-model_sigmoid.obj")
    clf = load_scikit_model(model_path)

    alerts = ztf_alerts(shared)
    cols = ztf_columns(alerts)
    series = {k: pd.Series(v) for k, v in cols.items()}
    ndethist = pd.Series([a["candidate"].get("ndethist") or 0 for _, a in alerts])
    cdsxmatch = pd.Series(["Unknown"] * len(alerts))
    args = [series["jd"], series["fid"], series["magpsf"], series["sigmapsf"], cdsxmatch,
            ndethist]
    scores = snia.rfscore_sigmoid_full(*args)
    features = snia.extract_features_rf_snia(*args)

    def score(vector):
        """The forest's probability, 0 unless both bands were fitted (Fink's flag)."""
        if vector[0] == 0 or vector[6] == 0:
            return 0.0
        frame = pd.DataFrame([vector], columns=clf.feature_names_in_)
        return float(clf.predict_proba(frame)[0][1])

    def features_of(jd, fid, mag, sig):
        everything = pd.Series([True])
        pdf = format_data_as_snana(pd.Series([jd]), pd.Series([mag]), pd.Series([sig]),
                                   pd.Series([fid]), pd.Series([0]), everything)
        return [float(x) for x in get_sigmoid_features_dev_fast(
            pdf, min_rising_points=2, min_data_points=4, rising_criteria="ewma")]

    import functools

    import scipy.linalg
    import scipy.optimize._lsq.trf as trf

    def features_with_gesvd(*args):
        default = trf.svd
        trf.svd = functools.partial(scipy.linalg.svd, lapack_driver="gesvd")
        try:
            return features_of(*args)
        finally:
            trf.svd = default

    def close(x, y):
        return all(abs(p - q) <= 1e-6 * (1 + max(abs(p), abs(q))) for p, q in zip(x, y))

    rows, prefixes = [], []
    for i, (path, alert) in enumerate(alerts):
        feats = features.iloc[i]
        vector = [float(x) for x in feats.split(",")] if isinstance(feats, str) else None
        rows.append({
            "file": path,
            "candid": alert["candid"],
            "objectId": alert["objectId"],
            "ndethist": int(ndethist.iloc[i]),
            "features": vector,
            "pIa": float(scores.iloc[i]),
            "score_without_cuts": None if vector is None else score(vector),
        })
        detected = ~np.isnan(cols["magpsf"][i])
        jd, fid = cols["jd"][i][detected], cols["fid"][i][detected]
        mag, sig = cols["magpsf"][i][detected], cols["sigmapsf"][i][detected]
        for k in range(1, len(jd) + 1):
            args = (jd[:k], fid[:k], mag[:k], sig[:k])
            vector = features_of(*args)
            prefixes.append({"candid": alert["candid"], "detections": k,
                             "features": vector, "score": score(vector),
                             "solver_sensitive": not close(vector,
                                                           features_with_gesvd(*args))})
    import scipy
    import sklearn

    doc = {
        "made_by": "tools/models/snia_reference.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "pandas": pd.__version__, "scikit-learn": sklearn.__version__},
        "cdsxmatch": "Unknown",
        "feature_names": list(RF_FEATURE_NAMES),
        "alerts": rows,
        "prefixes": prefixes,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    fitted = sum(1 for p in prefixes if p["features"][0] != 0 or p["features"][6] != 0)
    print(f"{len(rows)} alerts, {sum(1 for r in rows if r['pIa'] > 0)} scored above 0 "
          f"after the cuts; {len(prefixes)} prefixes, {fitted} with a fit in a band, "
          f"{sum(1 for p in prefixes if p['score'] > 0)} scored, "
          f"{sum(1 for p in prefixes if p['solver_sensitive'])} sensitive to the SVD driver")


if __name__ == "__main__":
    main()
