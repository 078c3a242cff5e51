"""Reads a file that /api/export/ wrote, the way an astronomer would, and prints it as
JSON for the Rust test to compare with the archive: {"columns": [...], "rows": [[...]]}.

  read_export.py FORMAT PATH

VOTable through astropy, Parquet through pyarrow, CSV through the csv module (cells as
text), JSON lines through json. Values are printed as Python has them: NaN as the string
"NaN" (JSON has none), a missing value (masked, None, empty) as null.
"""

import csv
import json
import math
import sys


def plain(v):
    """A value as JSON can carry it, NaN apart from null."""
    try:
        import numpy as np

        if v is np.ma.masked:
            return None
        if isinstance(v, np.generic):
            v = v.item()
    except ImportError:
        pass
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def votable(path):
    from astropy.io.votable import parse_single_table

    table = parse_single_table(path).to_table()
    columns = list(table.colnames)
    rows = []
    for row in table:
        out = []
        for name in columns:
            v = row[name]
            masked = getattr(table[name], "mask", None)
            if masked is not None and bool(masked[row.index]):
                out.append(None)
            else:
                out.append(plain(v))
        rows.append(out)
    return columns, rows


def parquet(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    columns = table.column_names
    return columns, [[plain(r[c]) for c in columns] for r in table.to_pylist()]


def csv_file(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        columns = next(reader)
        return columns, [[cell if cell != "" else None for cell in row] for row in reader]


def jsonl(path):
    columns, rows = None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            if columns is None:
                columns = list(obj)
            rows.append([obj[c] for c in columns])
    return columns or [], rows


READERS = {"votable": votable, "parquet": parquet, "csv": csv_file, "jsonl": jsonl}

if __name__ == "__main__":
    fmt, path = sys.argv[1], sys.argv[2]
    columns, rows = READERS[fmt](path)
    json.dump({"columns": columns, "rows": rows}, sys.stdout)
