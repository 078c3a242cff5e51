//! Every record of every shared alert travels whole: each detection, forced measurement,
//! non-detection and object record carries its bytes as the survey wrote them, and read
//! back under its own stored schema it equals, field for field (NaN and null included),
//! the same record read from the whole alert.

use solas_core::RawRecord;
use solas_decode::value::{self, Value};
use solas_decode::{Decoder, DirRegistry};
use solas_testdata as data;

fn read(record: &RawRecord) -> Value {
    let schema: serde_avro_fast::Schema = record.schema.json.parse().expect("stored schema");
    value::read(&record.body, &schema).expect("record reads back")
}

fn items<'a>(whole: &'a Value, field: &str) -> Vec<&'a Value> {
    match whole.get(field) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    }
}

#[test]
fn every_record_of_every_shared_alert_is_kept_whole() {
    let decoder = Decoder::with_registry(Box::new(
        DirRegistry::open(&data::lsst_schema_dir()).expect("schema dir"),
    ));
    let (mut records, mut nan_fields, mut null_fields) = (0usize, 0usize, 0usize);
    for file in data::real_alert_files() {
        let bytes = std::fs::read(&file).unwrap();
        let alert = decoder.decode(&bytes).unwrap().records.remove(0).1.unwrap();
        let whole = decoder.decode_values(&bytes).unwrap().remove(0).unwrap();
        let name = file.display();
        let (trigger, history, forced, limits) = match alert.survey {
            solas_core::Survey::Lsst => (
                "diaSource",
                "prvDiaSources",
                "prvDiaForcedSources",
                "prvDiaNondetectionLimits",
            ),
            solas_core::Survey::Ztf => ("candidate", "prv_candidates", "fp_hists", ""),
        };
        // What the whole alert holds, in order: the typed rows keep the same order.
        let mut expected: Vec<&Value> = items(&whole, trigger);
        let history = items(&whole, history);
        let mut non_detections = Vec::new();
        for h in &history {
            // ZTF's prv_candidates hold both: a candid marks a detection.
            match h.get("candid") {
                Some(Value::Null) => non_detections.push(*h),
                _ => expected.push(h),
            }
        }
        non_detections.extend(items(&whole, limits));
        let got: Vec<Value> = alert
            .detections
            .iter()
            .map(|d| read(d.record.as_ref().expect("detection record")))
            .collect();
        assert_eq!(got.len(), expected.len(), "{name}: detections");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, *e, "{name}");
        }
        let got: Vec<Value> = alert
            .forced
            .iter()
            .map(|f| read(f.record.as_ref().expect("forced record")))
            .collect();
        let expected = items(&whole, forced);
        assert_eq!(got.len(), expected.len(), "{name}: forced photometry");
        assert!(got.iter().zip(&expected).all(|(g, e)| g == *e), "{name}");
        let got: Vec<Value> = alert
            .non_detections
            .iter()
            .map(|n| read(n.record.as_ref().expect("non-detection record")))
            .collect();
        assert_eq!(got.len(), non_detections.len(), "{name}: non-detections");
        assert!(
            got.iter().zip(&non_detections).all(|(g, e)| g == *e),
            "{name}"
        );
        for r in alert.object_records.iter().chain(&alert.trigger_records) {
            let v = read(r);
            // Rubin names each object-level field after its record type.
            let field = r.schema.name.as_str();
            assert_eq!(Some(&v), whole.get(field), "{name}: {field}");
        }
        if alert.survey == solas_core::Survey::Lsst {
            assert!(
                alert
                    .object_records
                    .iter()
                    .any(|r| r.schema.name == "diaObject")
                    || whole.get("diaObject") == Some(&Value::Null),
                "{name}: diaObject kept"
            );
        }
        for d in &alert.detections {
            records += 1;
            if let Value::Record(fields) = read(d.record.as_ref().unwrap()) {
                for (_, v) in fields {
                    match v {
                        Value::Float(x) if x.is_nan() => nan_fields += 1,
                        Value::Double(x) if x.is_nan() => nan_fields += 1,
                        Value::Null => null_fields += 1,
                        _ => {}
                    }
                }
            }
        }
    }
    eprintln!("{records} detections, {nan_fields} NaN and {null_fields} null fields compared");
    // The shared alerts do carry NaN and null fields: the equality above covers them.
    assert!(
        records > 1000 && nan_fields > 0 && null_fields > 0,
        "{records} {nan_fields} {null_fields}"
    );
}
