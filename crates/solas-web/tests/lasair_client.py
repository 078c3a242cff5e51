"""The `lasair` client from PyPI, unchanged, against a live Solas.

Run by tests/lasair_client.rs with one argument: a JSON file of facts about the data the
server holds (endpoint, token, a real object and what its alerts contain, an annotator
topic the token's user owns). Calls every method of `lasair_client` that talks to the REST
API and checks the answers against those facts. Exits non-zero on the first failure.
"""

import json
import sys

from lasair import LasairError, lasair_client


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_error(call, fragment):
    try:
        call()
    except LasairError as e:
        check(fragment in e.message, f"error {e.message!r} lacks {fragment!r}")
        return e.message
    raise AssertionError(f"no LasairError (expected {fragment!r})")


def main(facts_path):
    with open(facts_path) as f:
        facts = json.load(f)
    endpoint = facts["endpoint"]
    L = lasair_client(facts["token"], endpoint=endpoint, timeout=60)
    obj = facts["object"]
    oid = obj["id"]
    check(oid > 2**53, "the test object's id needs all 64 bits")

    # cone: the object is found at its own position, with its exact id.
    r = L.cone(obj["ra"], obj["dec"], radius=2, requestType="all")
    ids = [o["object"] for o in r["objects"]]
    check(oid in ids, f"cone missed {oid}: {r}")
    check(all(type(i) is int for i in ids), "ids are JSON integers")
    check(r["count"] == len(ids), "count matches the list")
    check(r["nearest"]["object"] == oid, f"nearest {r['nearest']}")
    check(r["nearest"]["separation"] < 1.0, "separation in arcsec")
    r = L.cone(obj["ra"], obj["dec"], radius=2, requestType="nearest")
    check(r["nearest"]["object"] == oid, f"nearest: {r}")
    r = L.cone(obj["ra"], obj["dec"], radius=1000, requestType="count")
    check(r["count"] >= 1, f"count: {r}")
    check(L.cone(200.0, 60.0, radius=5, requestType="nearest") == {}, "empty cone")
    expect_error(lambda: L.cone(obj["ra"], obj["dec"], radius=2000), "Max radius is 1000 arcsec")

    # query: pages of exact 64-bit ids, in order.
    expected = facts["sorted_ids"]
    page = lambda offset: L.query(
        "objects.diaObjectId, objects.nDiaSources, objects.ra, objects.decl",
        "objects",
        "objects.nDiaSources >= 1 ORDER BY objects.diaObjectId",
        limit=10,
        offset=offset,
    )
    rows = page(0) + page(10)
    got = [row["diaObjectId"] for row in rows]
    check(got == expected[:20], f"query ids {got[:3]}... != {expected[:3]}...")
    check(all(type(i) is int for i in got), "query ids are integers")
    rows = L.query(
        "objects.diaObjectId, sherlock_classifications.classification",
        "objects, sherlock_classifications",
        "objects.diaObjectId = %d" % oid,
    )
    check(len(rows) == 1 and rows[0]["diaObjectId"] == oid, f"join: {rows}")
    check(rows[0]["classification"] == facts["object_class"], f"class {rows[0]}")
    expect_error(
        lambda: L.query("objects.diaObjectId", "objects", "1=1 UNION SELECT 1"), "Bad Request"
    )

    # object: the client's defaults (lite, lasair_added) and the full Rubin form.
    o = L.object(oid)
    check(o["diaObjectId"] == oid, "object id")
    sources = o["diaSourcesList"]
    check(len(sources) == obj["n_sources"], f"{len(sources)} sources, expected {obj['n_sources']}")
    check(sorted(s["diaSourceId"] for s in sources) == obj["source_ids"], "the same sources")
    check(
        set(sources[0]) == {"diaSourceId", "midpointMjdTai", "band", "psfFlux", "psfFluxErr", "reliability"},
        f"lite source columns {sorted(sources[0])}",
    )
    check(len(o["diaForcedSourcesList"]) == obj["n_forced"], "forced photometry")
    check(abs(o["diaObject"]["ra"] - obj["ra"]) < 1e-3, "position")
    check(o["lasairData"]["sherlock"]["classification"] == facts["object_class"], "sherlock in lasairData")
    o = L.object(oid, lite=False, lasair_added=False)
    check("lasairData" not in o and o["diaObject"]["diaObjectId"] == oid, "raw object")
    check(len(o["diaSourcesList"]) == obj["n_sources"], "raw sources")
    check(o["diaSourcesList"][0]["diaObjectId"] == oid, "full source columns")

    # sherlock: an object, and a position beside NGC 7814.
    s = L.sherlock_object(oid)
    check(s["classifications"][str(oid)][0] == facts["object_class"], f"sherlock_object {s}")
    check(len(s["crossmatches"]) <= 1, "lite: the top match at most")
    m = facts["matched"]
    s = L.sherlock_object(m["id"])
    check(s["classifications"][str(m["id"])][0] == m["class"], f"matched object {s}")
    check(len(s["crossmatches"]) == 1, "lite: exactly the top match")
    check(s["crossmatches"][0]["catalogue_object_id"] == m["catalogue_object_id"], "its catalogue source")
    check(s["crossmatches"][0]["rank"] == 1, "ranked first")
    s = L.sherlock_object(m["id"], lite=False)
    ranks = [x["rank"] for x in s["crossmatches"]]
    check(ranks and ranks == sorted(ranks), f"every match, best first: {ranks}")
    ra, dec = facts["ngc7814_neighbour"]
    s = L.sherlock_position(ra, dec, lite=False)
    check(s["classifications"]["query0"][0] == "SN", f"sherlock_position {s['classifications']}")
    check(s["crossmatches"][0]["catalogue_object_id"] == "NGC7814", "best match NGC 7814")
    check(abs(s["crossmatches"][0]["separationArcsec"] - 7.85) < 0.05, "separation")

    # annotate, annotate_list: then the object shows them and filters can name the topic.
    topic = facts["topic"]
    r = L.annotate(topic, oid, "SN Ia", version="1.0", explanation="a test",
                   classdict={"SN Ia": 0.93}, url="https://example.org/why")
    check(r["status"] == "success", f"annotate {r}")
    check(json.loads(r["message"])["diaObjectId"] == oid, "message carries the exact id")
    others = facts["other_ids"]
    r = L.annotate_list([
        {"objectId": others[0], "topic": topic, "classification": "AGN"},
        {"objectId": others[1], "topic": topic, "classification": "CV", "classdict": {"CV": 0.5}},
    ])
    check(r == {"status": "success", "n": 2}, f"annotate_list {r}")
    anns = L.object(oid)["lasairData"]["annotations"]
    mine = [a for a in anns if a["topic"] == topic]
    check(len(mine) == 1 and mine[0]["classification"] == "SN Ia", f"annotations {anns}")
    check(json.loads(mine[0]["classdict"]) == {"SN Ia": 0.93}, "classdict kept")
    rows = L.query(
        "objects.diaObjectId, %s.classification" % topic,
        "objects, annotator:%s" % topic,
        "",
    )
    check(sorted(r["diaObjectId"] for r in rows) == sorted([oid] + others[:2]), f"annotator rows {rows}")
    expect_error(lambda: L.annotate("not_my_topic", oid, "SN"), "does not exist")

    # A wrong token is refused the way the client expects.
    expect_error(lambda: lasair_client("0" * 40, endpoint=endpoint).cone(1.0, 1.0), "Unauthorized")

    ztf(facts)
    print("lasair client: all checks passed")


def ztf(facts):
    """Every method again against the ZTF API, `/ztf/api/`, as against Lasair-ZTF."""
    Z = lasair_client(facts["token"], endpoint=facts["ztf_endpoint"], timeout=60)
    name = "ZTF21abiuvdk"
    ra, dec = facts["ngc7814_neighbour"]
    r = Z.cone(ra, dec, radius=5, requestType="nearest")
    check(r["nearest"]["object"] == name, f"ZTF cone {r}")
    rows = Z.query("objects.objectId, objects.ncand", "objects", "objects.objectId = '%s'" % name)
    check(len(rows) == 1 and rows[0]["ncand"] >= 34, f"ZTF query {rows}")
    o = Z.object(name)
    check(o["objectId"] == name, "ZTF object")
    detections = [c for c in o["candidates"] if "candid" in c]
    check(len(detections) >= 34, f"{len(detections)} ZTF detections")
    o = Z.object(name, lite=False)
    check(all("fwhm" in c and "magnr" in c for c in o["candidates"] if "candid" in c), "every field")
    s = Z.sherlock_object(name)
    check(s["classifications"][name][0] == "SN", f"ZTF sherlock_object {s}")
    s = Z.sherlock_position(ra, dec)
    check(s["classifications"]["query0"][0] == "SN", f"ZTF sherlock_position {s}")
    topic = facts["topic"]
    r = Z.annotate(topic, name, "SN Ia", version="1.0", explanation="a test")
    check(r["status"] == "success", f"ZTF annotate {r}")
    r = Z.annotate_list([{"objectId": name, "topic": topic, "classification": "SN Ia"}])
    check(r == {"status": "success", "n": 1}, f"ZTF annotate_list {r}")
    rows = Z.query("objects.objectId, %s.classification" % topic, "objects, annotator:%s" % topic, "")
    check([r["objectId"] for r in rows] == [name], f"ZTF annotator rows {rows}")


if __name__ == "__main__":
    main(sys.argv[1])
