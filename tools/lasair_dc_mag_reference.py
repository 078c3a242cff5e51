"""Lasair-ZTF's apparent (DC) magnitudes of one ZTF object's detections, computed by
Lasair's own function, as reference data for Solas's test
(crates/solas-web/tests/data/ztf21abiuvdk_dc_mag_lasair.csv).

    python tools/lasair_dc_mag_reference.py LASAIR_MAG_PY ALERT_DIR OBJECT_ID > out.csv

LASAIR_MAG_PY is `src/alert_stream_ztf/common/mag.py` of a checkout of
lsst-uk/lasair-project-management (169cd7ce4836a8fab834e06f770d08aead8a9c85 was used);
it is imported from there, not copied. Needs fastavro.
"""
import glob
import importlib.util
import sys

import fastavro


def main(mag_py, alert_dir, object_id):
    spec = importlib.util.spec_from_file_location("lasair_mag", mag_py)
    mag = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mag)
    detections = {}
    for path in sorted(glob.glob(f"{alert_dir}/**/*.avro", recursive=True)):
        with open(path, "rb") as f:
            for alert in fastavro.reader(f):
                if alert["objectId"] != object_id:
                    continue
                # A detection's own alert (its `candidate`) is the richer version of it:
                # a later alert's history row may lack fields (Solas keeps the richer one).
                trigger = alert["candidate"]
                detections[trigger["candid"]] = trigger
                for c in alert.get("prv_candidates") or []:
                    if c.get("candid") is not None and c.get("magpsf") is not None:
                        detections.setdefault(c["candid"], c)
    print("candid,isdiffpos,dc_mag,dc_sigmag")
    for candid, c in sorted(detections.items()):
        if c.get("magnr") is None:
            continue
        r = mag.dc_mag(c["fid"], c["magpsf"], c["sigmapsf"], c["magnr"], c["sigmagnr"],
                       c["magzpsci"] or 0.0, c["isdiffpos"])
        print(f"{candid},{c['isdiffpos']},{r['dc_mag']!r},{r['dc_sigmag']!r}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
