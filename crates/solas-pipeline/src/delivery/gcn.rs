//! A GCN notice's object from the pipeline's alert ([`solas_delivery::gcn::Target`]): its
//! name, position and photometry (detections brighter than the template as magnitudes,
//! non-detections as 5σ limits) from the alert, its events and classifiers' probabilities
//! from the store ([`NoticeContext`], read by the filter stage).

use solas_core::{Alert, Survey};
use solas_delivery::gcn::{Point, Target};
use solas_store::main_db::object_view::NoticeContext;

/// TAI − UTC since 2017-01-01 (Rubin's times are TAI; no leap second has been announced
/// since).
const TAI_MINUS_UTC_S: f64 = 37.0;
/// The AB magnitude of 1 nJy.
const NJY_ZERO_POINT: f64 = 31.4;
/// MJD of 1970-01-01.
const UNIX_EPOCH_MJD: f64 = 40_587.0;

/// The telescope, instrument and filter prefix (sncosmo's band names) of a survey.
fn survey_names(survey: Survey) -> (&'static str, &'static str, &'static str) {
    match survey {
        Survey::Ztf => ("Palomar 1.2m Oschin", "ZTF", "ztf"),
        Survey::Lsst => ("Simonyi Survey Telescope", "LSSTCam", "lsst"),
    }
}

/// Seconds since 1970 (UTC) of an alert's MJD: ZTF's times are UTC, Rubin's TAI.
fn unix_utc(survey: Survey, mjd: f64) -> f64 {
    let seconds = (mjd - UNIX_EPOCH_MJD) * 86_400.0;
    match survey {
        Survey::Ztf => seconds,
        Survey::Lsst => seconds - TAI_MINUS_UTC_S,
    }
}

/// The notice's object for an alert and what the store knows of it.
pub fn target(alert: &Alert, context: &NoticeContext) -> Target {
    let (telescope, instrument, prefix) = survey_names(alert.survey);
    let mut photometry: Vec<(f64, Point)> = Vec::new();
    for d in &alert.detections {
        // A magnitude of a negative difference flux is not the object's brightness.
        if !d.positive || d.mag.is_none() {
            continue;
        }
        photometry.push((
            d.mjd,
            Point {
                unix_utc: unix_utc(alert.survey, d.mjd),
                telescope,
                instrument,
                filter: format!("{prefix}{}", d.band.as_str()),
                mag: d.mag,
                mag_error: d.mag_err,
                limiting_mag: None,
            },
        ));
    }
    for n in &alert.non_detections {
        // ZTF gives the limit; Rubin the noise, whose 5σ is the limit (AB, nJy).
        let limit = n.limiting_mag.or_else(|| {
            n.noise_flux
                .filter(|f| *f > 0.0)
                .map(|f| NJY_ZERO_POINT - 2.5 * (5.0 * f).log10())
        });
        if limit.is_none() {
            continue;
        }
        photometry.push((
            n.mjd,
            Point {
                unix_utc: unix_utc(alert.survey, n.mjd),
                telescope,
                instrument,
                filter: format!("{prefix}{}", n.band.as_str()),
                mag: None,
                mag_error: None,
                limiting_mag: limit,
            },
        ));
    }
    photometry.sort_by(|a, b| a.0.total_cmp(&b.0));
    Target {
        name: alert.object.name.clone(),
        ra: alert.ra,
        dec: alert.dec,
        scores: context.probabilities.clone(),
        events: context.events.clone(),
        photometry: photometry.into_iter().map(|(_, p)| p).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubin_times_are_tai_and_notices_say_utc() {
        // MJD 60000 TAI is 2023-02-25 00:00:00 TAI, 23:59:23 UTC the day before.
        let t = unix_utc(Survey::Lsst, 60_000.0);
        assert_eq!(solas_delivery::gcn::iso_utc(t), "2023-02-24T23:59:23.000Z");
        let t = unix_utc(Survey::Ztf, 60_000.0);
        assert_eq!(solas_delivery::gcn::iso_utc(t), "2023-02-25T00:00:00.000Z");
    }
}
