//! Which observing night a time belongs to: the calendar date (YYYYMMDD) on which the
//! night began at the survey's site, so a whole night has one date whichever side of
//! midnight UTC an exposure falls. Rubin's `dayObs` is its local date at UTC−12 h;
//! Palomar (ZTF) is at UTC−8 h, so its nights change date at local noon, UTC−20 h.

use crate::Survey;

/// MJD 40587 is 1970-01-01.
const UNIX_EPOCH_MJD: f64 = 40_587.0;

/// The night of an exposure at `mjd` (Rubin's TAI or ZTF's UTC: the 37 s between them do
/// not move a noon boundary), as YYYYMMDD.
pub fn night(survey: Survey, mjd: f64) -> i64 {
    let shift_hours = match survey {
        Survey::Lsst => 12.0,
        Survey::Ztf => 20.0,
    };
    let days = (mjd - UNIX_EPOCH_MJD - shift_hours / 24.0).floor() as i64;
    let (y, m, d) = civil_from_days(days);
    y * 10_000 + m * 100 + d
}

/// The proleptic Gregorian date (year, month, day) of a day count from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`; written here rather than pulling in a calendar crate for
/// the few dates Solas writes: nights, UTC stamps, digests' days).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_night_keeps_one_date_across_midnight_utc() {
        // 2025-09-06 03:00 UTC and 09:00 UTC: one Rubin night, begun on 2025-09-05.
        let mjd_0300 = 60_924.125;
        assert_eq!(night(Survey::Lsst, mjd_0300), 20250905);
        assert_eq!(night(Survey::Lsst, mjd_0300 + 0.25), 20250905);
        // Noon in Chile (16:00 UTC) starts the next.
        assert_eq!(night(Survey::Lsst, 60_924.0 + 16.0 / 24.0), 20250906);
        // ZTF21abiuvdk's first alert, 2021-07-01 09:42:45 UTC: the night of June 30 at Palomar.
        assert_eq!(night(Survey::Ztf, 59_396.404_687_5), 20210630);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
