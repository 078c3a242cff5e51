//! Odd input never panics and never produces non-finite floats.

use solas_core::survey::lsst::DiaObject;
use solas_core::{Band, Detection, ForcedPhot, ObjectKey, SurveyObject};
use solas_features::{lsst_features, Context, FeatureInput, HostContext, ObjectRow, Value};

fn run(dets: &[Detection], forced: &[ForcedPhot], so: &SurveyObject, ctx: &Context) -> ObjectRow {
    let key = ObjectKey::lsst(42);
    lsst_features(&FeatureInput {
        object: &key,
        detections: dets,
        forced,
        non_detections: &[],
        survey_object: so,
        context: ctx,
    })
}

fn det(id: i64, mjd: f64, band: Band, flux: Option<f64>) -> Detection {
    Detection {
        source_id: id,
        mjd,
        band,
        ra: 150.0,
        dec: 2.0,
        flux,
        flux_err: Some(100.0),
        mag: None,
        mag_err: None,
        positive: flux.is_some_and(|f| f > 0.0),
        reliability: Some(0.9),
        rb: None,
        nid: None,
        record: None,
    }
}

fn all_finite(r: &ObjectRow) {
    assert_eq!(r.values.len(), r.columns.len());
    for (c, v) in r.columns.iter().zip(&r.values) {
        if let Value::Float(x) = v {
            assert!(x.is_finite(), "{} = {x}", c.name);
        }
    }
}

#[test]
fn empty_object() {
    let ctx = Context {
        ebv: None,
        host: Some(HostContext {
            classification: "SN".into(),
            z: Some(0.05),
            ..HostContext::default()
        }),
    };
    for so in [
        SurveyObject::Lsst(None),
        SurveyObject::Lsst(Some(Box::default())),
    ] {
        let r = run(&[], &[], &so, &ctx);
        all_finite(&r);
        assert_eq!(r.get("diaObjectId"), Some(&Value::Int(42)));
        assert_eq!(r.get("htm16"), Some(&Value::Int(0)));
        assert_eq!(r.get("nPosDiaSources"), Some(&Value::Int(0)));
        assert_eq!(r.get("jump1"), Some(&Value::Float(0.0)));
        assert_eq!(r.get("medianR"), Some(&Value::Null));
    }
}

#[test]
fn nan_zero_and_negative_fluxes() {
    let dets = vec![
        det(1, 60000.0, Band::G, Some(f64::NAN)),
        det(2, 60000.01, Band::R, Some(0.0)),
        det(3, 60000.02, Band::G, Some(-500.0)),
        det(4, f64::NAN, Band::I, Some(100.0)),
        det(5, 60001.0, Band::R, None),
        det(6, 60002.0, Band::R, Some(-20.0)),
        det(7, 60003.0, Band::G, Some(-10.0)),
        det(7, 60003.0, Band::G, Some(-10.0)), // a duplicate row
    ];
    let forced = vec![ForcedPhot {
        source_id: 1,
        mjd: 59990.0,
        band: Band::G,
        flux: Some(f64::NAN),
        flux_err: None,
        record: None,
    }];
    let dia = DiaObject {
        ra: Some(150.0),
        dec: Some(2.0),
        firstDiaSourceMjdTai: Some(59950.0),
        ..DiaObject::default()
    };
    let ctx = Context {
        ebv: Some(f64::NAN),
        host: Some(HostContext {
            classification: "NT".into(),
            best_distance_mpc: Some(50.0),
            ..HostContext::default()
        }),
    };
    let r = run(
        &dets,
        &forced,
        &SurveyObject::Lsst(Some(Box::new(dia))),
        &ctx,
    );
    all_finite(&r);
    // Usable: ids 2, 3, 6, 7 (7 once).
    assert_eq!(r.get("ngSources"), Some(&Value::Int(2)));
    assert_eq!(r.get("nrSources"), Some(&Value::Int(2)));
    assert_eq!(r.get("nPosDiaSources"), Some(&Value::Int(0)));
    // No positive flux: no magnitude, no absolute magnitude, no pair colour.
    assert_eq!(r.get("absMag"), Some(&Value::Null));
    assert_eq!(r.get("latestPairColourMag"), Some(&Value::Null));
    assert_eq!(r.get("ebv"), Some(&Value::Null));
    // Rubin's older first detection is kept.
    assert_eq!(r.get("firstDiaSourceMjdTai"), Some(&Value::Float(59950.0)));
    assert_eq!(r.get("lastDiaSourceMjdTai"), Some(&Value::Float(60003.0)));
}

#[test]
fn photoz_host_gives_abs_mag() {
    let dets: Vec<Detection> = (0..3)
        .map(|i| det(i, 60000.0 + i as f64, Band::R, Some(1e5)))
        .collect();
    let ctx = Context {
        ebv: Some(0.0),
        host: Some(HostContext {
            classification: "SN".into(),
            photoz: Some(0.1),
            ..HostContext::default()
        }),
    };
    let r = run(&dets, &[], &SurveyObject::Lsst(None), &ctx);
    let m = r.get("absMag").and_then(Value::as_f64).unwrap_or(f64::NAN);
    assert!((m - -19.31171245559691).abs() < 1e-6, "{m}");
    assert_eq!(r.get("absMagMJD"), Some(&Value::Float(60000.0)));
}
