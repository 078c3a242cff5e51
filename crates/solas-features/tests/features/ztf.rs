//! ZTF features on a hand-built five-point lightcurve; expected values worked out by hand
//! from Lasair's formulas (§7.2).

use solas_core::{Band, Detection, ObjectKey, SurveyObject, ZtfContext};
use solas_features::{compute, ztf_features, Context, FeatureInput, ObjectRow, Value};

#[allow(clippy::too_many_arguments)]
fn det(
    id: i64,
    mjd: f64,
    band: Band,
    mag: f64,
    err: f64,
    positive: bool,
    rb: f64,
    drb: Option<f64>,
    nid: i64,
    ra: f64,
    dec: f64,
) -> Detection {
    Detection {
        source_id: id,
        mjd,
        band,
        ra,
        dec,
        flux: None,
        flux_err: None,
        mag: Some(mag),
        mag_err: Some(err),
        positive,
        reliability: Some(drb.unwrap_or(rb)),
        rb: Some(rb),
        nid: Some(nid),
        record: None,
    }
}

fn lightcurve() -> Vec<Detection> {
    vec![
        // Deliberately out of time order: the features must sort.
        det(
            5,
            59012.0,
            Band::R,
            17.2,
            0.2,
            true,
            0.3,
            None,
            112,
            10.0002,
            20.0004,
        ),
        det(
            1,
            59000.0,
            Band::G,
            18.0,
            0.1,
            true,
            0.8,
            None,
            100,
            10.0,
            20.0,
        ),
        det(
            2,
            59000.1,
            Band::R,
            17.5,
            0.1,
            true,
            0.5,
            Some(0.9),
            100,
            10.0002,
            20.0,
        ),
        det(
            4,
            59010.0,
            Band::G,
            17.0,
            0.05,
            false,
            0.9,
            None,
            110,
            10.0,
            20.0,
        ),
        det(
            3,
            59002.0,
            Band::G,
            17.6,
            0.05,
            true,
            0.9,
            None,
            102,
            10.0001,
            20.0001,
        ),
    ]
}

fn row(dets: &[Detection], ctx: &ZtfContext) -> ObjectRow {
    let key = ObjectKey::ztf("ZTF21abcdefg").expect("name");
    let so = SurveyObject::Ztf(ctx.clone());
    let context = Context::default();
    let input = FeatureInput {
        object: &key,
        detections: dets,
        forced: &[],
        non_detections: &[],
        survey_object: &so,
        context: &context,
    };
    let r = ztf_features(&input);
    assert_eq!(compute(&input), r, "compute dispatches on the survey");
    r
}

fn float(r: &ObjectRow, name: &str) -> f64 {
    match r.get(name) {
        Some(Value::Float(v)) => *v,
        other => panic!("{name}: expected a float, got {other:?}"),
    }
}

fn close(r: &ObjectRow, name: &str, want: f64) {
    let got = float(r, name);
    assert!((got - want).abs() < 1e-6, "{name}: {got} vs {want}");
}

#[test]
fn hand_computed_features() {
    let ctx = ZtfContext {
        sgscore1: Some(0.0),
        distpsnr1: Some(1.5),
        sgmag1: Some(15.2),
        srmag1: None,
        ssnamenr: Some("null".into()),
        ..ZtfContext::default()
    };
    let r = row(&lightcurve(), &ctx);
    assert_eq!(r.get("objectId"), Some(&Value::Text("ZTF21abcdefg".into())));
    assert_eq!(r.get("ncand"), Some(&Value::Int(5)));
    close(&r, "jdmin", 2459000.5);
    close(&r, "jdmax", 2459012.5);
    close(&r, "jdgmax", 2459010.5);
    close(&r, "jdrmax", 2459012.5);
    close(&r, "maggmin", 17.0);
    close(&r, "maggmax", 18.0);
    close(&r, "maggmean", (18.0 + 17.6 + 17.0) / 3.0);
    close(&r, "gmag", 17.0);
    close(&r, "magrmin", 17.2);
    close(&r, "magrmax", 17.5);
    close(&r, "magrmean", 17.35);
    close(&r, "rmag", 17.2);
    // The last g point is a negative difference: no g rate; the pair before it gives _2.
    assert_eq!(r.get("dmdt_g"), Some(&Value::Null));
    assert_eq!(r.get("dmdt_g_err"), Some(&Value::Null));
    close(&r, "dmdt_g_2", 0.2);
    close(&r, "dmdt_r", 0.3 / 11.9);
    close(&r, "dmdt_r_err", (0.1f64 * 0.1 + 0.2 * 0.2).sqrt() / 11.9);
    assert_eq!(r.get("dmdt_r_2"), Some(&Value::Null));
    // Good and positive: 1 (rb .8), 2 (drb .9), 3 (rb .9). None within 7 days of jdmax.
    assert_eq!(r.get("ncandgp"), Some(&Value::Int(3)));
    assert_eq!(
        r.get("ncandgp_7"),
        Some(&Value::Int(0)),
        "0 stays 0, not NULL"
    );
    assert_eq!(r.get("ncandgp_14"), Some(&Value::Int(3)));
    // Night 100 has positive g and r.
    close(&r, "g_minus_r", 0.5);
    close(&r, "jd_g_minus_r", 2459000.5);
    // EMAs (worked through the recurrence by hand).
    close(&r, "mag_g02", 17.013684562132873);
    close(&r, "mag_g08", 17.335329583446942);
    close(&r, "mag_g28", 17.730755390795224);
    close(&r, "mag_r02", 17.200781752155557);
    close(&r, "mag_r08", 17.267781037617322);
    close(&r, "mag_r28", 17.396130935539606);
    close(&r, "ramean", 10.0001);
    close(&r, "decmean", 20.0001);
    close(&r, "rastd", 0.3219937887592193);
    close(&r, "decstd", 0.5577096018525682);
    let (ra, dec) = (10.0001, 20.0001);
    close(
        &r,
        "glatmean",
        solas_features::sky::equatorial_to_galactic(ra, dec).1,
    );
    close(&r, "glonmean", solas_features::galactic_lon(ra, dec));
    assert_eq!(
        r.get("htm16"),
        Some(&Value::Int(solas_features::htm_id(16, ra, dec)))
    );
    // PS1 context copied through; a 0 sgscore stays 0; "null" asteroid name is no name.
    assert_eq!(r.get("sgscore1"), Some(&Value::Float(0.0)));
    close(&r, "distpsnr1", 1.5);
    close(&r, "sgmag1", 15.2);
    assert_eq!(r.get("srmag1"), Some(&Value::Null));
    assert_eq!(r.get("ssnamenr"), Some(&Value::Null));
}

#[test]
fn solar_system_name_is_kept() {
    let ctx = ZtfContext {
        ssnamenr: Some("12345".into()),
        ..ZtfContext::default()
    };
    let r = row(&lightcurve()[..1], &ctx);
    assert_eq!(r.get("ssnamenr"), Some(&Value::Text("12345".into())));
    assert_eq!(r.get("ncand"), Some(&Value::Int(1)));
    assert_eq!(r.get("dmdt_r"), Some(&Value::Null));
    assert_eq!(r.get("mag_r02"), Some(&Value::Float(17.2)));
}

#[test]
fn empty_and_odd_lightcurves() {
    let r = row(&[], &ZtfContext::default());
    assert_eq!(r.values.len(), solas_features::ZTF_OBJECT_COLUMNS.len());
    assert_eq!(r.get("ncand"), Some(&Value::Int(0)));
    assert_eq!(r.get("ncandgp"), Some(&Value::Int(0)));
    assert_eq!(r.get("ramean"), Some(&Value::Null));
    assert_eq!(r.get("htm16"), Some(&Value::Int(0)));

    let mut odd = lightcurve();
    odd[0].mag = Some(f64::NAN);
    odd[1].mjd = f64::NAN;
    odd[2].ra = f64::INFINITY;
    let r = row(&odd, &ZtfContext::default());
    assert_eq!(r.get("ncand"), Some(&Value::Int(4)));
    for v in &r.values {
        if let Value::Float(x) = v {
            assert!(x.is_finite());
        }
    }
}
