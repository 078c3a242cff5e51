//! Parsing right ascension and declination: decimal degrees, decimal hours, or sexagesimal
//! (`hh:mm:ss.s`, `hh mm ss.s`, `hhhmmmss.ss`; `±dd:mm:ss`, `±dd mm ss`, `±ddhmm'ss"`).
//! Errors are messages for the load report.

use crate::description::RaUnit;

/// Why a coordinate was refused (a message for the load report).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoordError {
    #[error("empty {0}")]
    Empty(&'static str),
    /// Not a number nor a sexagesimal angle (`what`: "RA", "sexagesimal Dec", …).
    #[error("bad {what} {text:?}")]
    Unreadable { what: &'static str, text: String },
    #[error("negative sexagesimal RA {0:?}")]
    NegativeRa(String),
    #[error("RA hours {hours} ≥ 24 in {text:?}")]
    RaHours { hours: f64, text: String },
    #[error("RA {0}° outside [0, 360]")]
    RaRange(f64),
    #[error("Dec {0}° outside [-90, 90]")]
    DecRange(f64),
}

fn unreadable(what: &'static str, text: &str) -> CoordError {
    CoordError::Unreadable {
        what,
        text: text.to_string(),
    }
}

/// RA in degrees in [0, 360). 360 itself is folded to 0 (some catalogues round up to it).
pub fn parse_ra(text: &str, unit: RaUnit) -> Result<f64, CoordError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CoordError::Empty("RA"));
    }
    let deg = if unit != RaUnit::Deg && is_sexagesimal(t) {
        let (neg, [h, m, s]) =
            split_sexagesimal(t).ok_or_else(|| unreadable("sexagesimal RA", t))?;
        if neg {
            return Err(CoordError::NegativeRa(t.to_string()));
        }
        if h >= 24.0 {
            return Err(CoordError::RaHours {
                hours: h,
                text: t.to_string(),
            });
        }
        15.0 * (h + m / 60.0 + s / 3600.0)
    } else {
        let v: f64 = parse_number(t).ok_or_else(|| unreadable("RA", t))?;
        return ra_from_number(v, unit);
    };
    ra_from_number(deg, RaUnit::Deg)
}

/// A numeric RA (degrees, or hours for `Hourangle`) checked and folded into [0, 360).
pub fn ra_from_number(v: f64, unit: RaUnit) -> Result<f64, CoordError> {
    let deg = if unit == RaUnit::Hourangle {
        v * 15.0
    } else {
        v
    };
    if !(0.0..=360.0).contains(&deg) {
        return Err(CoordError::RaRange(deg));
    }
    Ok(if deg == 360.0 { 0.0 } else { deg })
}

/// A numeric Dec in degrees, checked.
pub fn dec_from_number(v: f64) -> Result<f64, CoordError> {
    if !(-90.0..=90.0).contains(&v) {
        return Err(CoordError::DecRange(v));
    }
    Ok(v)
}

/// Dec in degrees in [-90, 90]; decimal or sexagesimal with an optional sign.
pub fn parse_dec(text: &str) -> Result<f64, CoordError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CoordError::Empty("Dec"));
    }
    let deg = if is_sexagesimal(t) {
        let (neg, [d, m, s]) =
            split_sexagesimal(t).ok_or_else(|| unreadable("sexagesimal Dec", t))?;
        // The sign belongs to the whole angle: "-00 30 00" is -0.5°.
        let v = d + m / 60.0 + s / 3600.0;
        if neg {
            -v
        } else {
            v
        }
    } else {
        parse_number(t).ok_or_else(|| unreadable("Dec", t))?
    };
    dec_from_number(deg)
}

/// A finite decimal number (rejects "nan", "inf", which `f64::from_str` accepts).
pub fn parse_number(t: &str) -> Option<f64> {
    let v: f64 = t.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// Sexagesimal if it has a separator between numeric parts; a plain "12.5" or "-3e-2" is not.
fn is_sexagesimal(t: &str) -> bool {
    let body = t.trim_start_matches(['+', '-']);
    body.contains([':', ' ', 'h', 'd', 'm', '\'', '"', '°'])
}

/// Splits "[±]a<sep>b[<sep>c]" into sign and three non-negative parts. Minutes and seconds
/// must be below 60 and only the last part may have a fraction.
fn split_sexagesimal(t: &str) -> Option<(bool, [f64; 3])> {
    let neg = t.starts_with('-');
    let body = t.trim_start_matches(['+', '-']).trim_start();
    let parts: Vec<&str> = body
        .split([':', ' ', 'h', 'd', 'm', 's', '\'', '"', '°'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let mut out = [0.0; 3];
    for (i, p) in parts.iter().enumerate() {
        if !p.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        let v: f64 = p.parse().ok()?;
        if i + 1 < parts.len() && v.fract() != 0.0 {
            return None;
        }
        if i > 0 && v >= 60.0 {
            return None;
        }
        out[i] = v;
    }
    Some((neg, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-10
    }

    #[test]
    fn ra_forms() {
        assert!(close(
            parse_ra("00:08:27.05", RaUnit::Auto).unwrap(),
            15.0 * (8.0 / 60.0 + 27.05 / 3600.0)
        ));
        assert!(close(
            parse_ra(" 00 01 16.37 ", RaUnit::Auto).unwrap(),
            15.0 * (1.0 / 60.0 + 16.37 / 3600.0)
        ));
        assert!(close(
            parse_ra("23h59m59.9s", RaUnit::Auto).unwrap(),
            15.0 * (23.0 + 59.0 / 60.0 + 59.9 / 3600.0)
        ));
        assert!(close(parse_ra("12 30", RaUnit::Auto).unwrap(), 187.5));
        assert!(close(parse_ra("187.5", RaUnit::Auto).unwrap(), 187.5));
        assert!(close(parse_ra("12.5", RaUnit::Hourangle).unwrap(), 187.5));
        assert!(close(parse_ra("360", RaUnit::Deg).unwrap(), 0.0));
    }

    #[test]
    fn ra_errors() {
        for bad in [
            "",
            "abc",
            "24:00:00",
            "12:60:00",
            "12:30:61",
            "-01:00:00",
            "361",
            "-0.1",
            "nan",
            "1:2:3:4",
            "12.5:30:00",
        ] {
            assert!(parse_ra(bad, RaUnit::Auto).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn dec_forms() {
        assert!(close(
            parse_dec("+27:43:03.6").unwrap(),
            27.0 + 43.0 / 60.0 + 3.6 / 3600.0
        ));
        assert!(close(
            parse_dec("-31 50 43.0").unwrap(),
            -(31.0 + 50.0 / 60.0 + 43.0 / 3600.0)
        ));
        assert!(close(parse_dec("-00:30:00").unwrap(), -0.5));
        assert!(close(parse_dec("- 00 30 00").unwrap(), -0.5));
        assert!(close(parse_dec("-12.25").unwrap(), -12.25));
        assert!(close(parse_dec("+90:00:00").unwrap(), 90.0));
        assert!(close(parse_dec("-45d30'00\"").unwrap(), -45.5));
    }

    #[test]
    fn dec_errors() {
        for bad in [
            "",
            "+90:00:01",
            "-91",
            "12:75:00",
            "x12:00:00",
            "inf",
            "+1:2:3:4",
        ] {
            assert!(parse_dec(bad).is_err(), "{bad:?} should fail");
        }
    }
}
