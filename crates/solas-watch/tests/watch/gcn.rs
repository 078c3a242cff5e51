//! Every example notice of gcn-schema (the npm package `@nasa-gcn/schema` 7.2.3, fetched
//! once into `.tools/downloads`) read as an event, and an LVK alert made from a real
//! skymap (GW190814's, in the shared data) in LVK's JSON shape.

use solas_watch::gcn::{parse_notice, Action};
use solas_watch::Skymap;

#[test]
fn every_gcn_schema_example_notice_is_read_as_an_event() {
    let root = solas_testdata::gcn_schema_dir().join("gcn/notices");
    let mut examples = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".example.json") {
                examples.push(path);
            }
        }
    }
    examples.sort();
    assert!(examples.len() >= 40, "{} examples", examples.len());
    let (mut located, mut retracted, mut unlocated, mut unread) = (0, 0, 0, Vec::new());
    for path in &examples {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        // The schemas' parts (core/, boom/) and circulars are not notices of events.
        if name.starts_with("core/") || name.starts_with("boom/") {
            continue;
        }
        match parse_notice(&std::fs::read(path).unwrap()) {
            Ok(n) => {
                assert!(!n.name.is_empty(), "{name}");
                match n.action {
                    Action::Locate { skymap } => {
                        let map =
                            Skymap::from_fits(&skymap).unwrap_or_else(|e| panic!("{name}: {e}"));
                        assert!((map.total_probability() - 1.0).abs() < 1e-3, "{name}");
                        assert!(n.event_mjd.is_some_and(|t| t > 50_000.0), "{name}");
                        located += 1;
                    }
                    Action::Retract => retracted += 1,
                    Action::Unlocated => unlocated += 1,
                }
            }
            Err(e) => unread.push(format!("{name}: {e}")),
        }
    }
    eprintln!("{located} located, {retracted} retractions, {unlocated} without a position; unread: {unread:#?}");
    // Swift, SVOM, Einstein Probe, IceCube, KM3NeT, MAXI, BurstCube (its map a placeholder,
    // so its circle)… give positions.
    assert_eq!((located, retracted, unlocated), (26, 5, 10));
    // Two examples cannot be events, and say why: an archival observation of the Crab (no
    // trigger) and a Swift map notice whose `healpix_file` is a placeholder.
    assert_eq!(unread.len(), 2, "{unread:#?}");
}

#[test]
fn an_lvk_alert_carries_its_skymap_and_a_retraction_retracts() {
    use base64::Engine;
    let fits = std::fs::read(solas_testdata::shared().join("moc/GW190814_LALInference.v1.fits.gz"))
        .unwrap();
    let alert = serde_json::json!({
        "alert_type": "INITIAL",
        "time_created": "2019-08-14T21:31:36Z",
        "superevent_id": "S190814bv",
        "urls": {"gracedb": "https://gracedb.ligo.org/superevents/S190814bv/view/"},
        "event": {
            "time": "2019-08-14T21:10:39.012957Z",
            "far": 2.03e-33,
            "significant": true,
            "instruments": ["L1", "V1"],
            "group": "CBC",
            "pipeline": "LALInference",
            "search": "AllSky",
            "classification": {"BNS": 0.0, "NSBH": 1.0, "BBH": 0.0, "Terrestrial": 0.0},
            "skymap": base64::engine::general_purpose::STANDARD.encode(&fits),
        },
        "external_coinc": null,
    });
    let n = parse_notice(alert.to_string().as_bytes()).unwrap();
    assert_eq!(n.name, "S190814bv");
    assert_eq!(n.messenger, "GW");
    assert!(!n.test);
    assert!((n.event_mjd.unwrap() - 58_709.882_396).abs() < 1e-5);
    let Action::Locate { skymap } = n.action else {
        panic!("{:?}", n.action)
    };
    assert_eq!(skymap, fits);
    let retraction = serde_json::json!({
        "alert_type": "RETRACTION", "time_created": "2019-08-15T00:00:00Z",
        "superevent_id": "S190814bv", "event": null
    });
    let n = parse_notice(retraction.to_string().as_bytes()).unwrap();
    assert_eq!(
        (n.name.as_str(), &n.action),
        ("S190814bv", &Action::Retract)
    );
    let mock = alert.to_string().replace("S190814bv", "MS190814bv");
    assert!(parse_notice(mock.as_bytes()).unwrap().test);
}
