//! The ZTF `objects` row (Lasair-ZTF's `insert_query.py` features).
//!
//! Lasair writes `NULL` for every falsy value, so genuine zeros (`ncandgp = 0`, a flat
//! `dmdt_g = 0`, `sgscore1 = 0`) become NULL there; Solas stores 0.

use solas_core::{Band, Detection, SurveyObject};

use crate::{
    htm_id, newest_source_mjd, sky, FeatureInput, ObjectRow, Value, ZTF_NEWEST_SOURCE,
    ZTF_OBJECT_COLUMNS,
};

const MJD_TO_JD: f64 = 2_400_000.5;
/// Real-bogus threshold for a "good" candidate.
const GOOD_RB: f64 = 0.75;

/// Computes the Lasair-ZTF `objects` row for one object.
pub fn ztf_features(input: &FeatureInput) -> ObjectRow {
    let mut row = ObjectRow::nulls(ZTF_OBJECT_COLUMNS);
    row.put("objectId", Value::Text(input.object.name.clone()));

    let mut cands: Vec<&Detection> = input
        .detections
        .iter()
        .filter(|d| d.mjd.is_finite())
        .collect();
    cands.sort_by(|a, b| a.mjd.total_cmp(&b.mjd).then(a.source_id.cmp(&b.source_id)));
    cands.dedup_by_key(|d| d.source_id);
    let jd = |d: &Detection| d.mjd + MJD_TO_JD;

    row.put("ncand", Value::Int(cands.len() as i64));
    position(&mut row, &cands);

    let jdmax = cands.last().map(|d| jd(d));
    row.put("jdmin", Value::float(cands.first().map(|d| jd(d))));
    row.put("jdmax", Value::float(jdmax));
    let newest = newest_source_mjd(input).map(|m| m + MJD_TO_JD);
    row.put(ZTF_NEWEST_SOURCE, Value::float(newest));
    for (band, x) in [(Band::G, "g"), (Band::R, "r")] {
        band_stats(&mut row, &cands, band, x);
    }

    // Good (rb or drb > 0.75) positive candidates, and those in the last 7 / 14 days.
    let good: Vec<f64> = cands
        .iter()
        .filter(|d| d.positive && is_good(d))
        .map(|d| jd(d))
        .collect();
    row.put("ncandgp", Value::Int(good.len() as i64));
    if let Some(jdmax) = jdmax {
        let recent = |days: f64| good.iter().filter(|&&t| jdmax - t < days).count() as i64;
        row.put("ncandgp_7", Value::Int(recent(7.0)));
        row.put("ncandgp_14", Value::Int(recent(14.0)));
    } else {
        row.put("ncandgp_7", Value::Int(0));
        row.put("ncandgp_14", Value::Int(0));
    }

    g_minus_r(&mut row, &cands);

    if let SurveyObject::Ztf(ctx) = input.survey_object {
        row.put("sgmag1", Value::float(ctx.sgmag1));
        row.put("srmag1", Value::float(ctx.srmag1));
        row.put("sgscore1", Value::float(ctx.sgscore1));
        row.put("distpsnr1", Value::float(ctx.distpsnr1));
        let ss = ctx
            .ssnamenr
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "null");
        row.put("ssnamenr", Value::text(ss));
    }
    row
}

fn is_good(d: &Detection) -> bool {
    d.rb.is_some_and(|x| x > GOOD_RB) || d.reliability.is_some_and(|x| x > GOOD_RB)
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Population standard deviation (numpy's default).
fn std(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt())
}

fn position(row: &mut ObjectRow, cands: &[&Detection]) {
    let ra: Vec<f64> = cands
        .iter()
        .map(|d| d.ra)
        .filter(|x| x.is_finite())
        .collect();
    let dec: Vec<f64> = cands
        .iter()
        .map(|d| d.dec)
        .filter(|x| x.is_finite())
        .collect();
    let (ramean, decmean) = (mean(&ra), mean(&dec));
    row.put("ramean", Value::float(ramean));
    row.put("decmean", Value::float(decmean));
    row.put("rastd", Value::float(std(&ra).map(|s| 3600.0 * s)));
    row.put("decstd", Value::float(std(&dec).map(|s| 3600.0 * s)));
    match (ramean, decmean) {
        (Some(ra), Some(dec)) => {
            let (l, b) = sky::equatorial_to_galactic(ra, dec);
            row.put("glonmean", Value::float(Some(l)));
            row.put("glatmean", Value::float(Some(b)));
            row.put("htm16", Value::Int(htm_id(16, ra, dec)));
        }
        _ => {
            row.put("htm16", Value::Int(0));
        }
    }
}

/// Per-band magnitudes, rates and moving averages for band `x` ∈ {g, r}.
fn band_stats(row: &mut ObjectRow, cands: &[&Detection], band: Band, x: &str) {
    let in_band: Vec<&&Detection> = cands.iter().filter(|d| d.band == band).collect();
    let jdmax = in_band.last().map(|d| d.mjd + MJD_TO_JD);
    row.put(&format!("jd{x}max"), Value::float(jdmax));
    // Magnitude statistics use candidates with a magnitude.
    let with_mag: Vec<(f64, f64, Option<f64>, bool)> = in_band
        .iter()
        .filter_map(|d| {
            let m = d.mag.filter(|m| m.is_finite())?;
            Some((d.mjd + MJD_TO_JD, m, d.mag_err, d.positive))
        })
        .collect();
    let mags: Vec<f64> = with_mag.iter().map(|c| c.1).collect();
    let min = mags.iter().copied().min_by(f64::total_cmp);
    let max = mags.iter().copied().max_by(f64::total_cmp);
    row.put(&format!("mag{x}min"), Value::float(min));
    row.put(&format!("mag{x}max"), Value::float(max));
    row.put(&format!("mag{x}mean"), Value::float(mean(&mags)));
    row.put(&format!("{x}mag"), Value::float(mags.last().copied()));

    // dm/dt from the last two (dmdt_X) and the two before the last (dmdt_X_2), when both
    // points of the pair are positive differences; brightening is positive.
    let n = with_mag.len();
    let rate = |i: usize| -> (Option<f64>, Option<f64>) {
        let (a, b) = (with_mag[i - 1], with_mag[i]);
        let dt = b.0 - a.0;
        if !(a.3 && b.3) || dt <= 0.0 {
            return (None, None);
        }
        let err = a.2.zip(b.2).map(|(e1, e2)| (e1 * e1 + e2 * e2).sqrt() / dt);
        (Some((a.1 - b.1) / dt), err)
    };
    if n >= 2 {
        let (d, e) = rate(n - 1);
        row.put(&format!("dmdt_{x}"), Value::float(d));
        row.put(&format!("dmdt_{x}_err"), Value::float(e));
    }
    if n >= 3 {
        let (d, _) = rate(n - 2);
        row.put(&format!("dmdt_{x}_2"), Value::float(d));
    }

    // Exponential moving averages of magnitude, τ = 2, 8, 28 days, started from 0 at JD 0
    // as Lasair (so the first point sets the average).
    for tau in [2.0, 8.0, 28.0] {
        let mut ema: Option<f64> = None;
        let mut prev_jd = 0.0;
        for &(jd, m, _, _) in &with_mag {
            let w = (-(jd - prev_jd) / tau).exp();
            ema = Some(w * ema.unwrap_or(0.0) + (1.0 - w) * m);
            prev_jd = jd;
        }
        row.put(&format!("mag_{x}{:02}", tau as u32), Value::float(ema));
    }
}

/// g − r from the latest night (by ZTF night id) with positive detections in both bands:
/// the last positive g and r magnitudes of that night; the time is the g point's.
fn g_minus_r(row: &mut ObjectRow, cands: &[&Detection]) {
    let last_in = |band: Band, nid: i64| {
        cands
            .iter()
            .rev()
            .find(|d| d.band == band && d.positive && d.nid == Some(nid) && d.mag.is_some())
    };
    let mut nids: Vec<i64> = cands
        .iter()
        .filter(|d| d.positive && d.band == Band::R)
        .filter_map(|d| d.nid)
        .collect();
    nids.sort_unstable();
    nids.dedup();
    for nid in nids.into_iter().rev() {
        if let (Some(g), Some(r)) = (last_in(Band::G, nid), last_in(Band::R, nid)) {
            let diff = g.mag.zip(r.mag).map(|(a, b)| a - b);
            row.put("g_minus_r", Value::float(diff));
            row.put("jd_g_minus_r", Value::float(Some(g.mjd + MJD_TO_JD)));
            return;
        }
    }
}
