#!/usr/bin/env python3
"""Fink's own answers on the shared ZTF alerts, for Solas's classifier tests.

Runs fink-science's ZTF kilonova processor (`knscore`, `extract_features_knscore`, which
call kndetect's feature extraction and its trained forest) on every shared ZTF alert, fed
as Fink feeds it: each array column is the alert's `prv_candidates` values followed by the
`candidate` value (fink_utils.spark.utils.concat_col), floats as the Avro schema types them
(float32 magnitudes), `cdsxmatch` set to "Unknown" as fink-science's own doctests do (Solas
has no SIMBAD crossmatch; its cut uses the context stage instead, see docs/classifiers.md).

Writes crates/solas-classify/tests/data/fink_reference_ztf.json: per alert the file, candid,
objectId, the ten kndetect features, `knscore` (with fink's cuts) and the forest's score of
the features without the cuts. Solas's tests compare with it (tests/classify/fink_parity.rs).

The authors' code is not on PyPI (kndetect, actsnfink live on GitHub only), so CI cannot run
it: this script is run by a developer beside their snapshots and its output committed.
  CODE: a folder holding fink_science/ (astrolabsoftware/fink-science), kndetect/
        (b-biswas/kndetect, with its data/), fink_utils/ (PyPI fink-utils)
Spark is not needed: the processors' `pandas_udf` decorator is replaced by the identity.

    python -m venv V && V/bin/pip install numpy==1.26.4 scipy==1.11.4 pandas==2.1.4 \
        scikit-learn==1.2.2 fastavro
    V/bin/python tools/models/fink_reference.py CODE ../shared/data OUT.json
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd

from fink_glue import stub_modules, ztf_alerts, ztf_columns


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    code, shared, out = sys.argv[1:]
    sys.path.insert(0, code)
    stub_modules()
    warnings.simplefilter("ignore")
    from fink_science.ztf.kilonova import processor as kn
    from kndetect.features import get_feature_names
    from kndetect.predict import load_classifier, predict_kn_score

    alerts = ztf_alerts(shared)
    cols = ztf_columns(alerts)
    series = {k: pd.Series(v) for k, v in cols.items()}
    jdstarthist = pd.Series([a["candidate"].get("jdstarthist") for _, a in alerts],
                            dtype=float)
    ndethist = pd.Series([a["candidate"].get("ndethist") or 0 for _, a in alerts])
    cdsxmatch = pd.Series(["Unknown"] * len(alerts))
    scores = kn.knscore(series["jd"], series["fid"], series["magpsf"], series["sigmapsf"],
                        jdstarthist, cdsxmatch, ndethist)
    features = kn.extract_features_knscore(series["jd"], series["fid"], series["magpsf"],
                                           series["sigmapsf"])
    names = get_feature_names()
    model = load_classifier("partial.pkl")
    rows = []
    for i, (path, alert) in enumerate(alerts):
        feats = features.iloc[i]
        if isinstance(feats, str):
            vector = [float(x) for x in feats.split(",")]
            frame = pd.DataFrame([vector], columns=names)
            proba, _ = predict_kn_score(model, frame)
            uncut = float(proba[0][1])
        else:  # fewer than two detections: no features
            vector, uncut = None, None
        rows.append({
            "file": path,
            "candid": alert["candid"],
            "objectId": alert["objectId"],
            "features": vector,
            "knscore": float(scores.iloc[i]),
            "score_without_cuts": uncut,
        })
    import scipy
    import sklearn

    doc = {
        "made_by": "tools/models/fink_reference.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "pandas": pd.__version__, "scikit-learn": sklearn.__version__},
        "cdsxmatch": "Unknown",
        "feature_names": names,
        "alerts": rows,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    scored = sum(1 for r in rows if r["knscore"] > 0)
    print(f"{len(rows)} alerts, {sum(1 for r in rows if r['features'])} with features, "
          f"{scored} scored above 0 after the cuts")


if __name__ == "__main__":
    main()
