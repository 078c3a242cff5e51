#!/usr/bin/env python3
"""SuperNNova's ELAsTiCC "SN vs other" network: exported to ONNX for Solas, and its own
answers on the shared Rubin alerts for Solas's tests.

1. Loads fink-science's `data/models/snn_models/elasticc_binary_broad/SN_vs_other`
   (model.pt, cli_args.json, data_norm.json; Apache-2.0) with SuperNNova's own loader and
   exports the network (2-layer bidirectional LSTM, mean over time, linear, softmax) for
   any number of light curves of one length to models/rubin-snn-sn/model.onnx, with the normalisation
   table beside it (norm.json).
2. Runs fink-science's `snn_ia_elasticc` (fink_science/rubin/snn/processor.py, which calls
   SuperNNova's `classify_lcs`) on every shared Rubin alert of the container files, fed as
   Fink feeds it (arrays of `prvDiaSources` then `diaSource` values, float32 fluxes as the
   schema types them), and records P(SN) and the network's normalised input rows, in
   crates/solas-classify/tests/data/snn_reference_rubin.json.
3. The shared Rubin alerts are first detections (one point each), so the same is done for
   longer light curves made from the shared ZTF alerts' histories: each detection as a
   Rubin source (MJD, band, flux in nJy and its error from the PSF magnitude, as float32),
   once with ZTF's bands and once with the bands rotated through u, g, r, i, z, y (to reach
   every band combination the network's one-hot encodes, and Rubin's `y`, which the model
   calls `Y`). Their inputs are recorded too, so the tests need not recompute them.

PyTorch is too heavy for CI, so this runs once by a developer and its outputs are
committed; the tests compare Solas's preprocessing and tract's evaluation with them.

    python -m venv V && V/bin/pip install "numpy<2" torch==2.2.2 pandas==2.1.4 \
        scikit-learn==1.2.2 scipy==1.11.4 h5py natsort colorama tqdm seaborn \
        "astropy<7" fastavro onnx && V/bin/pip install --no-deps supernnova==3.0.21
    V/bin/python tools/models/snn_reference.py CODE ../shared/data
  CODE: a folder holding fink_science/ (astrolabsoftware/fink-science, with the model
        files) and fink_utils/ (PyPI fink-utils).
"""
import glob
import hashlib
import json
import os
import sys
import warnings

import fastavro
import numpy as np
import pandas as pd

from fink_glue import concat_col, stub_modules

MODEL = "elasticc_binary_broad/SN_vs_other"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def column(alert, name, dtype):
    """prvDiaSources' values then diaSource's."""
    return concat_col(alert, name, dtype, current="diaSource", history="prvDiaSources")


def compact(rows):
    """A normalised input row as its 13 continuous values and the index (0-based, among
    the one-hot columns after them) of its band combination, -1 for none."""
    out = []
    for r in rows:
        hot = [i for i, v in enumerate(r[13:]) if v != 0]
        assert len(hot) <= 1 and all(r[13 + i] == 1 for i in hot)
        out.append([float(v) for v in r[:13]] + [hot[0] if hot else -1])
    return out


def export_onnx(model_dir, out_dir):
    import torch
    from supernnova.validation.validate_onthefly import get_settings
    from supernnova.utils import training_utils as tu

    model_file = os.path.join(model_dir, "model.pt")
    settings = get_settings(model_file)
    settings.use_cuda = False
    rnn = tu.get_model(settings, len(settings.training_features))
    rnn.load_state_dict(torch.load(model_file, map_location="cpu"))
    rnn.eval()

    class OneCurve(torch.nn.Module):
        """x: (time, curves, features) -> class probabilities (curves, classes), for
        curves of one length (the mean over time counts every row)."""

        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            return torch.nn.functional.softmax(self.rnn(x), dim=-1)

    x = torch.zeros(3, 1, len(settings.training_features))
    path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(OneCurve(rnn), x, path, input_names=["x"], output_names=["p"],
                      dynamic_axes={"x": {0: "time", 1: "batch"}, "p": {0: "batch"}},
                      opset_version=13)
    arr = settings.arr_norm  # (normalised features, [min, mean, std])
    norm = {
        "features": list(settings.training_features),
        "normalised": [f for f in settings.training_features
                       if f in settings.training_features_to_normalize],
        "min": [float(v) for v in arr[:, 0]],
        "mean": [float(v) for v in arr[:, 1]],
        "std": [float(v) for v in arr[:, 2]],
        "list_filters": list(settings.list_filters),
    }
    with open(os.path.join(out_dir, "norm.json"), "w") as f:
        json.dump(norm, f, indent=1)
    digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()  # noqa: E731
    print(f"source_sha256 = \"{digest(model_file)}\"")
    print(f"onnx_sha256 = \"{digest(path)}\"")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    code, shared = sys.argv[1:]
    sys.path.insert(0, code)
    stub_modules()
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    model_dir = os.path.join(code, "fink_science", "data", "models", "snn_models", MODEL)
    out_dir = os.path.join(REPO, "models", "rubin-snn-sn")
    os.makedirs(out_dir, exist_ok=True)
    export_onnx(model_dir, out_dir)

    from fink_science.rubin.snn import processor as snn
    from supernnova.utils import training_utils as tu

    # The normalised rows of each light curve, as classify_lcs hands them to the network.
    captured = []
    real_batch = tu.get_data_batch

    def capture(list_lcs, idxs, settings, *a, **k):
        captured.extend(x for x, _, _ in list_lcs)
        return real_batch(list_lcs, idxs, settings, *a, **k)

    tu.get_data_batch = capture

    files = sorted(glob.glob(os.path.join(shared, "lsst", "real", "*", "*.avro")))
    rows = []
    for path in files:
        with open(path, "rb") as f:
            if f.read(4) != b"Obj\x01":
                continue  # Confluent wire format: no schema in the file
        with open(path, "rb") as f:
            alerts = list(fastavro.reader(f))
        for alert in alerts:
            one = lambda name, dt: pd.Series([column(alert, name, dt)])  # noqa: E731
            captured.clear()
            p = snn.snn_ia_elasticc(
                pd.Series([alert["diaSource"]["diaSourceId"]]),
                one("midpointMjdTai", np.float64), one("band", object),
                one("psfFlux", np.float32), one("psfFluxErr", np.float32),
                pd.Series([MODEL]))
            rows.append({
                "file": os.path.relpath(path, os.path.join(shared, "lsst", "real")),
                "diaSourceId": alert["diaSource"]["diaSourceId"],
                "p_sn": float(p.iloc[0]),
                "inputs": compact(captured[0]) if captured else None,
            })
    curves = []
    for path in sorted(glob.glob(os.path.join(shared, "ztf", "alerts", "*", "*.avro"))):
        with open(path, "rb") as f:
            for alert in fastavro.reader(f):
                points = [p for p in (alert.get("prv_candidates") or []) + [alert["candidate"]]
                          if p.get("magpsf") is not None and p.get("candid") is not None]
                if len(points) < 2:
                    continue
                for rotated in (False, True):
                    bands = [("ugrizy"[i % 6] if rotated else "gri"[p["fid"] - 1])
                             for i, p in enumerate(points)]
                    flux = [10 ** ((31.4 - p["magpsf"]) / 2.5) for p in points]
                    curves.append({
                        "candid": alert["candid"],
                        "rotated": rotated,
                        "mjd": [p["jd"] - 2400000.5 for p in points],
                        "band": bands,
                        "flux": [float(np.float32(f)) for f in flux],
                        "flux_err": [float(np.float32(f * p["sigmapsf"] * np.log(10) / 2.5))
                                     for f, p in zip(flux, points)],
                    })
    for curve in curves:
        captured.clear()
        p = snn.snn_ia_elasticc(
            pd.Series([curve["candid"]]),
            pd.Series([np.array(curve["mjd"], dtype=np.float64)]),
            pd.Series([np.array(curve["band"], dtype=object)]),
            pd.Series([np.array(curve["flux"], dtype=np.float32)]),
            pd.Series([np.array(curve["flux_err"], dtype=np.float32)]),
            pd.Series([MODEL]))
        curve["p_sn"] = float(p.iloc[0])
        curve["inputs"] = compact(captured[0])
    import scipy
    import sklearn

    doc = {
        "made_by": "tools/models/snn_reference.py",
        "model": MODEL,
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "supernnova": "3.0.21",
                     "scipy": scipy.__version__, "scikit-learn": sklearn.__version__},
        "alerts": rows,
        "curves": curves,
    }
    out = os.path.join(REPO, "crates", "solas-classify", "tests", "data",
                       "snn_reference_rubin.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{len(rows)} alerts, P(SN) > 0.5 for {sum(r['p_sn'] > 0.5 for r in rows)}; "
          f"{len(curves)} longer curves, P(SN) > 0.5 for "
          f"{sum(c['p_sn'] > 0.5 for c in curves)}")


if __name__ == "__main__":
    main()
