"""Reads a Solas lightcurve store (SQLite) as docs/archive.md tells a SQL user to: each
source record decompressed with zstandard against its row's dictionary (frames without
magic number), decoded by fastavro with the schema stored beside it. On SQLite a row and its
record are read through the table's `_with_record` view. Prints one line per
row: table, object id, key, whether it was compressed, the number of fields fastavro
decoded, and the record's bytes in hex."""
import io
import json
import sqlite3
import sys

import fastavro
import zstandard

db = sqlite3.connect(sys.argv[1])
schemas = {fp: fastavro.parse_schema(json.loads(js))
           for fp, js in db.execute("SELECT fingerprint, json FROM record_schemas")}
unpack = {i: zstandard.ZstdDecompressor(
              dict_data=zstandard.ZstdCompressionDict(bytes(d)),
              format=zstandard.FORMAT_ZSTD1_MAGICLESS)
          for i, d in db.execute("SELECT id, dictionary FROM record_dictionaries")}
for table, key in [("detections", "source_id"), ("forced_photometry", "source_id"),
                   ("non_detections", "mjd || ' ' || band")]:
    for oid, k, fp, dictionary, record in db.execute(
            f"SELECT object_id, {key}, record_schema, record_dictionary, record FROM {table}_with_record "
            "WHERE record IS NOT NULL"):
        if dictionary is not None:
            record = unpack[dictionary].decompressobj().decompress(record)
        source = fastavro.schemaless_reader(io.BytesIO(record), schemas[fp])
        print(table, oid, str(k).replace(" ", "_"), int(dictionary is not None), len(source),
              record.hex())
