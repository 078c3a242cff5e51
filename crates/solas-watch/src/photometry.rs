//! Users' own photometry of an object (Lasair requirement R2.02): a CSV with a header
//! naming the columns (any order, any case): `mjd`, `band` (or `filter`), `mag` and
//! `mag_err` (or `magerr`, `e_mag`) and/or `flux` and `flux_err` (nJy), and optionally
//! `telescope` (or `source`, `instrument`). Every line needs a time, a band and a
//! magnitude or a flux. All or nothing: any bad line and nothing is taken, each bad line
//! reported by its number.

use std::fmt;

use crate::csv::Reader;
use crate::watchlist::CsvLineError;

/// Lines an upload may hold.
pub const MAX_POINTS: usize = 10_000;

/// One measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// MJD (the user's own time scale; the page takes it as UTC).
    pub mjd: f64,
    pub band: String,
    /// AB magnitude and its error.
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    /// Flux in nJy and its error.
    pub flux: Option<f64>,
    pub flux_err: Option<f64>,
    pub telescope: String,
}

/// Every bad line of an upload.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct PhotometryErrors {
    pub errors: Vec<CsvLineError>,
}

impl fmt::Display for PhotometryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::watchlist::write_bad_lines(f, "the photometry", &self.errors)
    }
}

/// Where each known column is in the header.
#[derive(Default)]
struct Columns {
    mjd: Option<usize>,
    band: Option<usize>,
    mag: Option<usize>,
    mag_err: Option<usize>,
    flux: Option<usize>,
    flux_err: Option<usize>,
    telescope: Option<usize>,
}

fn header(fields: &[String]) -> Result<Columns, String> {
    let mut c = Columns::default();
    for (i, name) in fields.iter().enumerate() {
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "mjd" => &mut c.mjd,
            "band" | "filter" => &mut c.band,
            "mag" | "magnitude" => &mut c.mag,
            "mag_err" | "magerr" | "e_mag" | "mag_error" => &mut c.mag_err,
            "flux" => &mut c.flux,
            "flux_err" | "fluxerr" | "e_flux" | "flux_error" => &mut c.flux_err,
            "telescope" | "source" | "instrument" => &mut c.telescope,
            other => return Err(format!("unknown column {other:?} (expected mjd, band, mag, mag_err, flux, flux_err, telescope)")),
        };
        if slot.replace(i).is_some() {
            return Err(format!("column {name:?} given twice"));
        }
    }
    if c.mjd.is_none() || c.band.is_none() || (c.mag.is_none() && c.flux.is_none()) {
        return Err("the header needs mjd, band, and mag or flux".into());
    }
    Ok(c)
}

fn number(fields: &[String], i: Option<usize>, what: &str) -> Result<Option<f64>, String> {
    let Some(text) = i.and_then(|i| fields.get(i)).map(|s| s.trim()) else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| format!("{what} {text:?} is not a number"))
}

fn point(c: &Columns, f: &[String]) -> Result<Point, String> {
    let mjd = number(f, c.mjd, "mjd")?.ok_or("no mjd")?;
    if !(30_000.0..=100_000.0).contains(&mjd) {
        return Err(format!("mjd {mjd} is not a date between 1941 and 2132"));
    }
    let band = c
        .band
        .and_then(|i| f.get(i))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if band.is_empty() || band.chars().count() > 16 {
        return Err("a band is 1 to 16 characters".into());
    }
    let (mag, mag_err) = (number(f, c.mag, "mag")?, number(f, c.mag_err, "mag_err")?);
    let (flux, flux_err) = (
        number(f, c.flux, "flux")?,
        number(f, c.flux_err, "flux_err")?,
    );
    if mag.is_none() && flux.is_none() {
        return Err("neither a magnitude nor a flux".into());
    }
    if mag.is_some_and(|m| !(-5.0..=40.0).contains(&m)) {
        return Err("a magnitude is between −5 and 40".into());
    }
    if [mag_err, flux_err].iter().flatten().any(|e| *e < 0.0) {
        return Err("an error is not negative".into());
    }
    let telescope = c
        .telescope
        .and_then(|i| f.get(i))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if telescope.chars().count() > 64 {
        return Err("a telescope name is at most 64 characters".into());
    }
    Ok(Point {
        mjd,
        band,
        mag,
        mag_err,
        flux,
        flux_err,
        telescope,
    })
}

/// Parse an upload; blank lines and lines starting with `#` are skipped.
pub fn parse_csv(text: &str) -> Result<Vec<Point>, PhotometryErrors> {
    let mut errors = Vec::new();
    let mut columns: Option<Columns> = None;
    let mut points = Vec::new();
    for record in Reader::new(text) {
        let record = match record {
            Ok(r) => r,
            Err(u) => {
                errors.push(CsvLineError {
                    line: u.line,
                    reason: "a quote is never closed".into(),
                });
                break;
            }
        };
        let first = record.fields.first().map(|s| s.trim()).unwrap_or("");
        if (record.fields.len() == 1 && first.is_empty()) || first.starts_with('#') {
            continue;
        }
        let Some(c) = &columns else {
            match header(&record.fields) {
                Ok(c) => columns = Some(c),
                Err(reason) => {
                    errors.push(CsvLineError {
                        line: record.line,
                        reason,
                    });
                    break;
                }
            }
            continue;
        };
        match point(c, &record.fields) {
            Ok(p) => points.push(p),
            Err(reason) => errors.push(CsvLineError {
                line: record.line,
                reason,
            }),
        }
        if points.len() + errors.len() > MAX_POINTS {
            errors.push(CsvLineError {
                line: record.line,
                reason: format!("more than {MAX_POINTS} lines"),
            });
            break;
        }
    }
    if columns.is_none() && errors.is_empty() {
        errors.push(CsvLineError {
            line: 1,
            reason: "no header line".into(),
        });
    }
    if points.is_empty() && errors.is_empty() {
        errors.push(CsvLineError {
            line: 2,
            reason: "no measurements".into(),
        });
    }
    if errors.is_empty() {
        Ok(points)
    } else {
        Err(PhotometryErrors { errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_any_order_and_case_with_mag_or_flux() {
        let p = parse_csv("# my follow-up\nBand,MJD,mag,magerr,telescope\nr,60001.5,18.2,0.05,NOT\ng,60002.5,,,\n").unwrap_err();
        assert_eq!(
            p.errors,
            vec![CsvLineError {
                line: 4,
                reason: "neither a magnitude nor a flux".into()
            }]
        );
        let ok = parse_csv("mjd,band,flux,flux_err,source\n60001.5,i,1200.5,30,LT\n").unwrap();
        assert_eq!(ok[0].flux, Some(1200.5));
        assert_eq!(ok[0].telescope, "LT");
    }

    #[test]
    fn every_bad_line_is_reported_by_number_and_nothing_is_taken() {
        let e = parse_csv("mjd,band,mag\n60000,g,18\nx,g,18\n60000,,18\n60000,r,99\n").unwrap_err();
        let lines: Vec<usize> = e.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(parse_csv("ra,dec\n1,2\n").is_err(), "an unknown column");
        assert!(parse_csv("").is_err());
    }
}
