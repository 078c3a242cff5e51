#!/usr/bin/env python3
"""Convert a trained scikit-learn binary random forest into Solas's forest file.

Solas evaluates tree ensembles natively (crates/solas-classify/src/forest.rs); this script
runs once per model, by a developer, and its output is committed beside the model's
description (models/<name>/model.toml). Nothing is converted at build or run time.

    scripts/python-venv.sh --venv models scikit-learn==1.2.2 numpy==1.26.4
    .tools/py-venv-models/bin/python tools/models/convert_forest.py SOURCE.pkl OUT.forest

scikit-learn 1.2.2 is the newest release that reads forests pickled by 1.0.x (1.3 added a
node field and refuses older pickles); it is also the runtime the live check uses. A forest
pickled by a newer release is converted by that release instead (the Rubin early SN Ia
forest: scikit-learn 1.5.2, in `scripts/python-venv.sh --venv rainbow`). The node field 1.3
added (`missing_go_to_left`) matters only for NaN inputs, which Solas never passes.

The file, little-endian:
    b"SOLASRF1", u32 features, u32 trees,
    per tree: u32 nodes, then per node: i32 left, i32 right, i32 feature, f64 threshold,
              f64 p (the share of class 1, `classes_[1]`, among the node's training weight)
A leaf has left = right = -1. A tree's answer is p at the leaf reached by going left
while `float32(x[feature]) <= threshold`, as scikit-learn compares; the forest's is the
mean over trees, summed in tree order.
"""
import hashlib
import pickle
import re
import struct
import sys
import warnings

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    raw = open(source, "rb").read()
    # scikit-learn drops the pickling version from the estimator and only warns with it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = pickle.loads(raw)
    found = [re.search(r"from version (\S+) when", str(w.message)) for w in caught]
    trained_with = next((m.group(1) for m in found if m), None)
    if trained_with is None:
        import sklearn

        trained_with = sklearn.__version__
    classes = list(model.classes_)
    if len(classes) != 2:
        sys.exit(f"{source}: {len(classes)} classes; only binary forests are converted")
    n_features = int(model.n_features_in_)
    parts = [b"SOLASRF1", struct.pack("<II", n_features, len(model.estimators_))]
    nodes_total = 0
    for tree in model.estimators_:
        t = tree.tree_
        value = t.value[:, 0, :].astype(np.float64)  # (nodes, classes), counts or shares
        total = value.sum(axis=1)
        p = np.divide(value[:, 1], total, out=np.zeros_like(total), where=total > 0)
        parts.append(struct.pack("<I", t.node_count))
        for i in range(t.node_count):
            parts.append(
                struct.pack(
                    "<iiidd",
                    int(t.children_left[i]),
                    int(t.children_right[i]),
                    int(t.feature[i]) if t.children_left[i] != -1 else -1,
                    float(t.threshold[i]),
                    float(p[i]),
                )
            )
        nodes_total += t.node_count
    data = b"".join(parts)
    open(out, "wb").write(data)
    names = getattr(model, "feature_names_in_", None)
    print(f"source_sha256 = \"{hashlib.sha256(raw).hexdigest()}\"")
    print(f"forest_sha256 = \"{hashlib.sha256(data).hexdigest()}\"")
    print(f"trees = {len(model.estimators_)}")
    print(f"nodes = {nodes_total}")
    print(f"features = {n_features}")
    print(f"classes = {[str(c) for c in classes]}")
    print(f"feature_names = {list(names) if names is not None else None}")
    print(f"trained_with = \"scikit-learn {trained_with}\"")


if __name__ == "__main__":
    main()
