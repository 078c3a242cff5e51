//! Every real alert in the shared data set decodes, with the right survey, ids and history.

use std::collections::HashMap;

use solas_core::{CutoutKind, Survey, SurveyObject};
use solas_decode::{DecodeError, Decoder, DirRegistry};
use solas_testdata as data;

fn decoder() -> Decoder {
    Decoder::with_registry(Box::new(
        DirRegistry::open(&data::lsst_schema_dir()).expect("schema dir"),
    ))
}

#[test]
fn all_real_alert_files_decode() {
    let decoder = decoder();
    let files = data::real_alert_files();
    assert_eq!(
        files.len(),
        309,
        "208 ZTF + 100 Fink Rubin + 1 BOOM wire-format file"
    );
    let mut per_survey: HashMap<Survey, usize> = HashMap::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let decoded = decoder
            .decode(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(decoded.records.len(), 1, "{}", file.display());
        for (_, alert) in decoded.records {
            let alert = alert.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            *per_survey.entry(alert.survey).or_default() += 1;
            let trigger = alert.trigger().expect("trigger detection present");
            assert_eq!(trigger.mjd, alert.mjd);
            assert!((0.0..360.0).contains(&alert.ra) && (-90.0..=90.0).contains(&alert.dec));
            assert_eq!(
                alert.cutouts.len(),
                3,
                "{}: all real alerts carry 3 cutouts",
                file.display()
            );
            assert!(!alert.schema_version.is_empty(), "{}", file.display());
        }
    }
    assert_eq!(per_survey[&Survey::Ztf], 208);
    assert_eq!(per_survey[&Survey::Lsst], 101);
}

#[test]
fn ztf_alert_matches_its_index_row() {
    // From ztf/alerts_index.csv: the official 3.3 example packet.
    let file = data::shared().join("ztf/alerts/ztf-avro-alert/2019_01_10_739260766315010006.avro");
    let alert = decoder()
        .decode(&std::fs::read(file).unwrap())
        .unwrap()
        .records
        .remove(0)
        .1
        .unwrap();
    let index = std::fs::read_to_string(data::shared().join("ztf/alerts_index.csv")).unwrap();
    let header: Vec<&str> = index.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = index
        .lines()
        .find(|l| l.contains("739260766315010006"))
        .unwrap()
        .split(',')
        .collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(alert.object.name, col("objectId"));
    assert_eq!(alert.alert_id.to_string(), col("candid"));
    assert_eq!(
        alert.alert_id, 739260766315010006,
        "candid stays a 64-bit integer"
    );
    let trigger = alert.trigger().unwrap();
    assert!((trigger.mag.unwrap() - col("magpsf").parse::<f64>().unwrap()).abs() < 1e-4);
    assert!((alert.ra - col("ra").parse::<f64>().unwrap()).abs() < 1e-9);
    let n_prv: usize = col("n_prv_candidates").parse().unwrap();
    assert_eq!(
        alert.detections.len() + alert.non_detections.len(),
        n_prv + 1
    );
}

#[test]
fn ztf_forced_photometry_is_read_from_v4() {
    let files = data::shared_glob("ztf/alerts/kowalski_20231012_v4.01/*.avro");
    let decoder = decoder();
    let most = files
        .iter()
        .map(|f| {
            decoder
                .decode(&std::fs::read(f).unwrap())
                .unwrap()
                .records
                .remove(0)
                .1
                .unwrap()
        })
        .map(|a| a.forced.len())
        .max()
        .unwrap();
    assert_eq!(most, 21, "the v4.01 set carries up to 21 fp_hists rows");
}

#[test]
fn rubin_alerts_match_their_index() {
    let index = std::fs::read_to_string(
        data::shared().join("lsst/real/fink-broker_rubin_2025-09-05_v9.0_index.csv"),
    )
    .unwrap();
    let mut lines = index.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col =
        |row: &[&str], name: &str| row[header.iter().position(|h| *h == name).unwrap()].to_string();
    let decoder = decoder();
    let mut solar = 0;
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        let id = col(&row, "diaSourceId");
        let file = data::shared().join("lsst").join(col(&row, "file"));
        let alert = decoder
            .decode(&std::fs::read(&file).unwrap())
            .unwrap()
            .records
            .remove(0)
            .1
            .unwrap();
        assert_eq!(alert.alert_id.to_string(), id);
        assert_eq!(alert.schema_version, "9.0");
        let trigger = alert.trigger().unwrap();
        assert!(
            (trigger.flux.unwrap() - col(&row, "psfFlux").parse::<f64>().unwrap()).abs() < 1e-2
        );
        assert_eq!(trigger.band.as_str(), col(&row, "band"));
        match &alert.survey_object {
            SurveyObject::Lsst(Some(obj)) => {
                assert_eq!(
                    obj.diaObjectId.unwrap().to_string(),
                    col(&row, "diaObjectId")
                );
                assert_eq!(alert.object.id.to_string(), col(&row, "diaObjectId"));
            }
            SurveyObject::Lsst(None) => solar += 1,
            other => panic!("not a Rubin object: {other:?}"),
        }
    }
    assert_eq!(
        solar, 4,
        "4 of the 100 are solar-system alerts without a diaObject"
    );
}

#[test]
fn boom_wire_format_alert_decodes_by_schema_id() {
    let file = data::shared_glob("lsst/real/boom_confluent_wire_v9.0/*.avro").remove(0);
    let bytes = std::fs::read(file).unwrap();
    assert_eq!(solas_decode::wire::split(&bytes).unwrap().0, 900);
    let alert = decoder()
        .decode(&bytes)
        .unwrap()
        .records
        .remove(0)
        .1
        .unwrap();
    assert_eq!(alert.alert_id, 7912941781254298);
    assert_eq!(alert.schema_version, "9.0");
    assert!((alert.ra - 55.7521).abs() < 1e-3 && (alert.dec + 32.2685).abs() < 1e-3);
    let diff = alert
        .cutouts
        .iter()
        .find(|c| c.kind == CutoutKind::Difference)
        .unwrap();
    assert_eq!(diff.data.len(), 34_560);
}

#[test]
fn every_rubin_schema_version_decodes_in_both_framings() {
    let registry = DirRegistry::open(&data::lsst_schema_dir()).unwrap();
    let ids = registry.ids();
    for id in [700, 701, 702, 703, 704, 800, 900, 1000, 1100, 1101] {
        assert!(ids.contains(&id), "schema {id} found in the directory");
    }
    let decoder = decoder();
    for id in ids.into_iter().filter(|&id| id >= 700) {
        let dir = data::lsst_schema_dir().join(format!("{}/{}/sample_data", id / 100, id % 100));
        let bytes = std::fs::read(dir.join("fakeAlert.avro")).unwrap();
        let alert = decoder
            .decode(&bytes)
            .unwrap()
            .records
            .remove(0)
            .1
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(alert.survey, Survey::Lsst);
        assert_eq!(
            alert.detections.len(),
            3,
            "{id}: the sample has 2 prvDiaSources"
        );
        // The same datum, framed for Kafka with the version's id, decodes from the registry.
        let body = single_datum(&bytes);
        let framed = solas_decode::wire::frame(id, body);
        let again = decoder
            .decode(&framed)
            .unwrap()
            .records
            .remove(0)
            .1
            .unwrap();
        assert_eq!(again.alert_id, alert.alert_id, "{id}");
        assert_eq!(again.detections, alert.detections, "{id}");
        assert_eq!(again.schema_version, format!("{}.{}", id / 100, id % 100));
    }
}

/// The one datum of a single-record, uncompressed container file (its block data).
fn single_datum(ocf: &[u8]) -> &[u8] {
    let decoded = Decoder::new().decode(ocf).unwrap();
    let offset = decoded.records[0].0 as usize;
    &ocf[offset..ocf.len() - 16]
}

#[test]
fn bad_input_is_rejected_with_a_reason() {
    let decoder = decoder();
    let good = std::fs::read(data::real_alert_files()[0].clone()).unwrap();
    // Truncated container.
    let err = decoder.decode(&good[..good.len() / 2]);
    let reason = match err {
        Err(e) => e.reason(),
        Ok(d) => d.records[0]
            .1
            .as_ref()
            .expect_err("truncated record fails")
            .reason(),
    };
    assert!(
        ["truncated", "corrupt_container", "avro_mismatch"].contains(&reason),
        "{reason}"
    );
    // Unknown framing.
    assert!(matches!(
        decoder.decode(b"hello world"),
        Err(DecodeError::UnknownFraming { .. })
    ));
    // Unknown schema id.
    let e = decoder
        .decode(&solas_decode::wire::frame(4242, b"\x00\x01"))
        .unwrap_err();
    assert_eq!(e.reason(), "unknown_schema");
    // Wire-format body that is garbage for its schema.
    let e = decoder
        .decode(&solas_decode::wire::frame(900, &[0xff; 64]))
        .unwrap_err();
    assert!(
        ["avro_mismatch", "invalid_content", "trailing_bytes"].contains(&e.reason()),
        "{e}"
    );
    // Flipped bytes in the middle of a container never panic.
    for i in (0..good.len()).step_by(good.len() / 50) {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let _ = decoder.decode(&bad);
    }
    // Empty input.
    assert!(decoder.decode(b"").is_err());
}

/// Any Avro payload reads as JSON (how other brokers' classification streams arrive); ids
/// stay exact integers.
#[test]
fn any_avro_payload_decodes_to_json() {
    let file = data::shared_glob("lsst/real/boom_confluent_wire_v9.0/*.avro").remove(0);
    let records = decoder()
        .decode_json(&std::fs::read(file).unwrap())
        .unwrap();
    let v = records[0].as_ref().unwrap();
    assert_eq!(v["diaSourceId"].as_i64(), Some(7912941781254298));
    let file = data::shared_glob("ztf/alerts/*/*.avro").remove(0);
    let records = decoder()
        .decode_json(&std::fs::read(file).unwrap())
        .unwrap();
    let v = records[0].as_ref().unwrap();
    assert!(v["objectId"].as_str().unwrap().starts_with("ZTF"));
    assert!(v["candid"].is_i64());
    assert!(decoder().decode_json(b"{\"not\": \"avro\"}").is_err());
}
