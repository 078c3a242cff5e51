//! The LSST `objects` row (Lasair-LSST §7.1 feature groups, in their order).

use solas_core::survey::lsst::DiaObject;
use solas_core::{Band, SurveyObject};

use crate::bbb::{self, BbbFit, Point};
use crate::colour::{latest_pairs, PairColour};
use crate::dia_bands::{band_summary, SUFFIXES};
use crate::distance::{host_distance_modulus, peak_abs_mag};
use crate::extinction::{correct_flux, njy_to_mag, wavelength_um};
use crate::lightcurve::{clean, Obs};
use crate::{
    host_is_extragalactic_candidate, htm_id, jump, newest_source_mjd, sky, FeatureInput, ObjectRow,
    Value, LSST_NEWEST_SOURCE, LSST_OBJECT_COLUMNS,
};

/// Computes the Lasair-LSST `objects` row for one object.
pub fn lsst_features(input: &FeatureInput) -> ObjectRow {
    let mut row = ObjectRow::nulls(LSST_OBJECT_COLUMNS);
    let dia: Option<&DiaObject> = match input.survey_object {
        SurveyObject::Lsst(Some(o)) => Some(o),
        _ => None,
    };
    let lc = clean(input.detections);
    let ebv = input.context.ebv.filter(|e| e.is_finite()).unwrap_or(0.0);
    // (mjd, band, extinction-corrected flux), the form the colour/BBB/absMag code uses.
    let lc_ec: Vec<(f64, Band, f64)> = lc
        .iter()
        .map(|o| (o.mjd, o.band, correct_flux(o.flux, o.band, ebv)))
        .collect();

    copy_dia_object(&mut row, dia, input);
    let (ra, dec) = position(dia, &lc);
    row.put("ra", Value::float(ra));
    row.put("decl", Value::float(dec));
    row.put(
        "htm16",
        Value::Int(match (ra, dec) {
            (Some(ra), Some(dec)) => htm_id(16, ra, dec),
            _ => 0,
        }),
    );
    latest_flux(&mut row, &lc);
    counting(&mut row, &lc, dia);
    abs_mag(&mut row, &lc_ec, input);
    bbb_columns(&mut row, &lc, &lc_ec, input, ebv);
    row.put(
        "glat",
        Value::float(ra.zip(dec).map(|(r, d)| sky::galactic_lat(r, d))),
    );
    row.put("ebv", Value::float(input.context.ebv));
    let raw: Vec<(f64, Band, f64)> = lc.iter().map(|o| (o.mjd, o.band, o.flux)).collect();
    let (j1, j2) = jump::jumps(&raw);
    row.put("jump1", Value::float(Some(j1)));
    row.put("jump2", Value::float(Some(j2)));
    let (latest, penultimate) = latest_pairs(&lc_ec);
    put_pair(&mut row, "latestPair", latest);
    put_pair(&mut row, "penultimatePair", penultimate);
    row.put(LSST_NEWEST_SOURCE, Value::float(newest_source_mjd(input)));
    // tns_name stays NULL: it is filled by TNS matching later.
    row
}

/// Copy Rubin's own columns (origin "lsst" and the ext_fields).
fn copy_dia_object(row: &mut ObjectRow, dia: Option<&DiaObject>, input: &FeatureInput) {
    let id = dia.and_then(|o| o.diaObjectId).unwrap_or(input.object.id);
    row.put("diaObjectId", Value::Int(id));
    let Some(o) = dia else { return };
    row.put("nDiaSources", Value::int(o.nDiaSources.map(i64::from)));
    row.put("validityStartMjdTai", Value::float(o.validityStartMjdTai));
    row.put("raErr", Value::float32(o.raErr));
    row.put("decErr", Value::float32(o.decErr));
    row.put("ra_dec_Cov", Value::float32(o.ra_dec_Cov));
    for band in Band::ALL {
        let s = band_summary(o, band);
        for (suffix, v) in SUFFIXES.iter().zip(s.values()) {
            let name = format!("{}_{}", band.as_str(), suffix);
            let value = if *suffix == "psfFluxNdata" {
                Value::int(v.map(|x| x as i64))
            } else {
                Value::float(v)
            };
            row.put(&name, value);
        }
    }
}

/// Rubin's mean position; without a diaObject, the latest detection's.
fn position(dia: Option<&DiaObject>, lc: &[Obs]) -> (Option<f64>, Option<f64>) {
    let finite = |x: Option<f64>| x.filter(|v| v.is_finite());
    match dia.map(|o| (finite(o.ra), finite(o.dec))) {
        Some((Some(ra), Some(dec))) => (Some(ra), Some(dec)),
        _ => match lc.last() {
            Some(o) if o.ra.is_finite() && o.dec.is_finite() => (Some(o.ra), Some(o.dec)),
            _ => (None, None),
        },
    }
}

fn latest_flux(row: &mut ObjectRow, lc: &[Obs]) {
    for band in Band::ALL {
        let last = lc.iter().rev().find(|o| o.band == band);
        row.put(
            &format!("{}_psfFlux", band.as_str()),
            Value::float(last.map(|o| o.flux)),
        );
        row.put(
            &format!("{}_latestMJD", band.as_str()),
            Value::float(last.map(|o| o.mjd)),
        );
    }
    row.put("latest_psfFlux", Value::float(lc.last().map(|o| o.flux)));
}

fn counting(row: &mut ObjectRow, lc: &[Obs], dia: Option<&DiaObject>) {
    let mut rel: Vec<f64> = lc.iter().filter_map(|o| o.reliability).collect();
    rel.sort_by(f64::total_cmp);
    let median = match rel.len() {
        0 => None,
        n if n % 2 == 1 => Some(rel[n / 2]),
        n => Some((rel[n / 2 - 1] + rel[n / 2]) / 2.0),
    };
    row.put("medianR", Value::float(median));
    row.put(
        "latestR",
        Value::float(lc.last().and_then(|o| o.reliability)),
    );
    let good = rel.iter().filter(|r| **r > 0.5).count();
    row.put("nSourcesGood", Value::Int(good as i64));
    let positive: Vec<&Obs> = lc.iter().filter(|o| o.flux > 0.0).collect();
    row.put("nPosDiaSources", Value::Int(positive.len() as i64));
    // A "night" runs noon to noon: MJD + 0.5 rounded down.
    let mut nights: Vec<i64> = positive
        .iter()
        .map(|o| (o.mjd + 0.5).floor() as i64)
        .collect();
    nights.sort_unstable();
    nights.dedup();
    row.put("nPosDiaSourcesNights", Value::Int(nights.len() as i64));
    for band in Band::ALL {
        let n = lc.iter().filter(|o| o.band == band).count();
        row.put(&format!("n{}Sources", band.as_str()), Value::Int(n as i64));
    }
    let last = lc.iter().map(|o| o.mjd).max_by(f64::total_cmp);
    row.put("lastDiaSourceMjdTai", Value::float(last));
    // Lasair always takes the earliest detection it was sent; Rubin's own value also covers
    // history older than the alert's 12-month window, so the earlier of the two is used.
    let ours = lc.iter().map(|o| o.mjd).min_by(f64::total_cmp);
    let rubin = dia
        .and_then(|o| o.firstDiaSourceMjdTai)
        .filter(|t| t.is_finite());
    let first = match (ours, rubin) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    row.put("firstDiaSourceMjdTai", Value::float(first));
}

fn abs_mag(row: &mut ObjectRow, lc_ec: &[(f64, Band, f64)], input: &FeatureInput) {
    let Some(host) = host_is_extragalactic_candidate(input.context) else {
        return;
    };
    let Some(dm) = host_distance_modulus(host.best_distance_mpc, host.z, host.photoz) else {
        return;
    };
    if let Some((m, t)) = peak_abs_mag(lc_ec.iter().map(|&(t, _, f)| (t, f)), dm) {
        row.put("absMag", Value::float(Some(m)));
        row.put("absMagMJD", Value::float(Some(t)));
    }
}

fn bbb_columns(
    row: &mut ObjectRow,
    lc: &[Obs],
    lc_ec: &[(f64, Band, f64)],
    input: &FeatureInput,
    ebv: f64,
) {
    let Some(host) = host_is_extragalactic_candidate(input.context) else {
        return;
    };
    if lc.len() < bbb::MIN_DETECTIONS {
        return;
    }
    let Some(&(discovery, _, _)) = lc_ec.first() else {
        return;
    };
    // Up to four forced points from just before discovery anchor the rise.
    let mut forced: Vec<(f64, Band, f64)> = input
        .forced
        .iter()
        .filter_map(|f| {
            let flux = f.flux.filter(|x| x.is_finite())?;
            (f.mjd.is_finite() && f.mjd < discovery).then_some((f.mjd, f.band, flux))
        })
        .collect();
    forced.sort_by(|a, b| a.0.total_cmp(&b.0));
    let skip = forced.len().saturating_sub(bbb::N_FORCED);
    let points: Vec<Point> = forced[skip..]
        .iter()
        .map(|&(t, b, f)| (t, b, correct_flux(f, b, ebv)))
        .chain(lc_ec.iter().copied())
        .map(|(t, b, f)| Point {
            t: t - discovery,
            wl: wavelength_um(b),
            flux: f,
        })
        .collect();
    let Some(fit) = bbb::fit(&points) else {
        return;
    };
    match fit {
        BbbFit::Exp(e) => {
            row.put("BBBRiseRate", Value::float(Some(e.k)));
            row.put("BBBTemp", Value::float(Some(e.temp)));
        }
        BbbFit::Bazin(b) => {
            row.put("BBBRiseRate", Value::float(Some(b.kr)));
            row.put("BBBFallRate", Value::float(Some(b.kf)));
            row.put("BBBTemp", Value::float(Some(b.temp)));
            let params = [b.a, b.temp, b.t0, b.kr, b.kf];
            // Lasair reports MJD = discovery when the curve has no peak; Solas leaves it NULL.
            if let Some(tau) = bbb::bazin_peak_offset(b.kr, b.kf) {
                let t_peak = b.t0 + tau;
                let wl = bbb::brightest_wavelength(b.temp);
                let peak = bbb::bazin(t_peak, wl, &params);
                row.put("BBBPeakFlux", Value::float(Some(peak)));
                row.put("BBBPeakMJD", Value::float(Some(t_peak + discovery)));
                // Same distance modulus (and K-term) as absMag, so the two agree.
                let dm = host_distance_modulus(host.best_distance_mpc, host.z, host.photoz);
                let abs = njy_to_mag(peak).zip(dm).map(|(m, dm)| m - dm);
                row.put("BBBPeakAbsMag", Value::float(abs));
            }
        }
    }
}

fn put_pair(row: &mut ObjectRow, prefix: &str, pair: Option<PairColour>) {
    let Some(p) = pair else { return };
    row.put(&format!("{prefix}MJD"), Value::float(Some(p.mjd)));
    row.put(
        &format!("{prefix}ColourMag"),
        Value::float(Some(p.colour_mag)),
    );
    row.put(&format!("{prefix}ColourBands"), Value::Text(p.bands));
    row.put(&format!("{prefix}ColourTemp"), Value::float(p.temp));
}
