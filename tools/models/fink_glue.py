"""What the reference scripts (fink_reference.py, snn_reference.py) need to call
fink-science's processors outside Spark: stand-ins for the modules they import but do not
use here, and alert columns built as Fink's Spark job builds them."""
import glob
import os
import sys
import types

import numpy as np


def stub_modules():
    """pyspark and line_profiler, as far as the processors' imports reach: `pandas_udf`
    and `profile` become the identity, so the decorated functions take pandas Series."""
    identity = lambda *a, **k: (lambda f: f)  # noqa: E731
    pyspark = types.ModuleType("pyspark")
    sql = types.ModuleType("pyspark.sql")
    functions = types.ModuleType("pyspark.sql.functions")
    functions.pandas_udf = identity
    functions.PandasUDFType = types.SimpleNamespace(SCALAR=None)
    sqltypes = types.ModuleType("pyspark.sql.types")
    for name in ["DoubleType", "StringType", "FloatType", "MapType", "ArrayType",
                 "IntegerType", "StructType", "StructField", "LongType", "BooleanType"]:
        setattr(sqltypes, name, lambda *a, **k: None)
    pyspark.sql, sql.functions, sql.types = sql, functions, sqltypes
    sys.modules.update({"pyspark": pyspark, "pyspark.sql": sql,
                        "pyspark.sql.functions": functions, "pyspark.sql.types": sqltypes})
    lp = types.ModuleType("line_profiler")
    lp.profile = lambda f: f
    sys.modules["line_profiler"] = lp


def actsnfink_package(code):
    """actsnfink's modules from the snapshot in `code`, without its package `__init__`,
    which imports its training code (actsnclass, light-curve)."""
    package = types.ModuleType("actsnfink")
    package.__path__ = [os.path.join(code, "actsnfink")]
    sys.modules["actsnfink"] = package


def concat_col(alert, name, dtype, current, history):
    """The history's values then the current record's, as fink_utils' `concat_col`
    builds a column (ZTF: `candidate`, `prv_candidates`; Rubin: `diaSource`,
    `prvDiaSources`); missing numbers become NaN, text stays as it is."""
    prv = alert.get(history) or []
    values = [p.get(name) for p in prv] + [alert[current].get(name)]
    if dtype is object:
        return np.array(values, dtype=object)
    return np.array([np.nan if v is None else v for v in values], dtype=dtype)


def ztf_alerts(shared):
    """Every shared ZTF alert as (its file under ztf/alerts, the record), in file order."""
    root = os.path.join(shared, "ztf", "alerts")
    import fastavro

    alerts = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.avro"), recursive=True)):
        with open(path, "rb") as f:
            for record in fastavro.reader(f):
                alerts.append((os.path.relpath(path, root), record))
    return alerts


def ztf_columns(alerts):
    """The photometry columns Fink's ZTF processors take, one array per alert: the
    history's values then the candidate's, typed as the Avro schema types them."""
    def column(alert, name, dtype):
        return concat_col(alert, name, dtype, current="candidate", history="prv_candidates")

    return {
        "jd": [column(a, "jd", np.float64) for _, a in alerts],
        "fid": [column(a, "fid", np.int32) for _, a in alerts],
        "magpsf": [column(a, "magpsf", np.float32) for _, a in alerts],
        "sigmapsf": [column(a, "sigmapsf", np.float32) for _, a in alerts],
    }
