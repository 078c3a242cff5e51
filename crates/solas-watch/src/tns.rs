//! Known transients from the Transient Name Server: parsing TNS's public-objects CSV into
//! rows shaped like Lasair's `crossmatch_tns` table, and [`TnsIndex`] for the nearest TNS
//! object to a position (Lasair matches within 3″).
//!
//! The TNS export (`tns_public_objects.csv`) is a quoted CSV whose first line is the date
//! of the snapshot (`"2026-11-22 00:00:00"`), then a header. Columns are found by name, so
//! their order may change. Unlike a user's watchlist, one bad row of a 170,000-row export
//! must not block the rest: good rows are returned and bad ones listed with line numbers.
//!
//! TNS column → field (Lasair's names): `objid` → `id`, `name_prefix` → `tns_prefix`,
//! `name` → `tns_name`, `ra` → `ra`, `declination` → `decl`, `redshift` → `z`, `type` →
//! `type`, `reporting_group` → `sender`, `source_group`, `discoverydate` → `disc_date`,
//! `discoverymag` → `disc_mag`, `filter` → `disc_mag_filter`, `reporters`,
//! `internal_names` → `disc_int_name`, `lastmodified` → `lastmodified_date`. `hostz`,
//! `host_name` and `ext_catalogs` are not in the public export (Lasair leaves them NULL);
//! they are read when a column of that name (or `host_redshift`, `hostname`) is present.
//! Strings are kept whole: truncating for a database column is the database's business.

use crate::csv::Reader;
use crate::sky;

/// Lasair's TNS crossmatch radius, in arcseconds.
pub const DEFAULT_TNS_RADIUS_ARCSEC: f64 = 3.0;

/// One TNS object, with the fields of Lasair's `crossmatch_tns` table.
#[derive(Debug, Clone, PartialEq)]
pub struct TnsRow {
    /// TNS `objid`.
    pub id: i64,
    pub ra: f64,
    pub decl: f64,
    /// The name without prefix, e.g. `2022and`.
    pub tns_name: String,
    /// `AT`, `SN`, `TDE`, …
    pub tns_prefix: String,
    pub disc_mag: Option<f64>,
    pub disc_mag_filter: Option<String>,
    pub r#type: Option<String>,
    pub z: Option<f64>,
    pub hostz: Option<f64>,
    pub host_name: Option<String>,
    pub ext_catalogs: Option<String>,
    pub disc_int_name: Option<String>,
    /// As TNS writes it, `YYYY-MM-DD hh:mm:ss[.fff]` (UTC).
    pub disc_date: Option<String>,
    pub lastmodified_date: Option<String>,
    pub sender: Option<String>,
    pub reporters: Option<String>,
    pub source_group: Option<String>,
}

impl TnsRow {
    /// The full TNS designation, e.g. `SN 2022and`.
    pub fn full_name(&self) -> String {
        if self.tns_prefix.is_empty() {
            self.tns_name.clone()
        } else {
            format!("{} {}", self.tns_prefix, self.tns_name)
        }
    }
}

/// A row that was skipped, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TnsRowError {
    /// 1-based line on which the row starts.
    pub line: usize,
    pub reason: String,
}

/// A parsed TNS export.
#[derive(Debug, Clone, PartialEq)]
pub struct TnsFile {
    /// The snapshot date from the first line, when present.
    pub snapshot_date: Option<String>,
    pub rows: Vec<TnsRow>,
    pub bad_rows: Vec<TnsRowError>,
}

/// A TNS file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TnsError {
    #[error("no header line")]
    NoHeader,
    #[error("header (line {line}) lacks required column(s): {missing}")]
    MissingColumns { line: usize, missing: String },
}

/// Column positions found in the header.
struct Cols {
    objid: usize,
    name: usize,
    ra: usize,
    dec: usize,
    prefix: Option<usize>,
    redshift: Option<usize>,
    r#type: Option<usize>,
    reporting_group: Option<usize>,
    source_group: Option<usize>,
    discoverydate: Option<usize>,
    discoverymag: Option<usize>,
    filter: Option<usize>,
    reporters: Option<usize>,
    internal_names: Option<usize>,
    lastmodified: Option<usize>,
    hostz: Option<usize>,
    host_name: Option<usize>,
    ext_catalogs: Option<usize>,
}

impl Cols {
    fn new(header: &[String], line: usize) -> Result<Cols, TnsError> {
        let find = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
        };
        let mut missing = Vec::new();
        let mut need = |name: &str| {
            find(&[name]).unwrap_or_else(|| {
                missing.push(name.to_string());
                0
            })
        };
        let (objid, name, ra, dec) = (need("objid"), need("name"), need("ra"), need("declination"));
        if !missing.is_empty() {
            return Err(TnsError::MissingColumns {
                line,
                missing: missing.join(", "),
            });
        }
        Ok(Cols {
            objid,
            name,
            ra,
            dec,
            prefix: find(&["name_prefix"]),
            redshift: find(&["redshift"]),
            r#type: find(&["type"]),
            reporting_group: find(&["reporting_group"]),
            source_group: find(&["source_group"]),
            discoverydate: find(&["discoverydate"]),
            discoverymag: find(&["discoverymag"]),
            filter: find(&["filter"]),
            reporters: find(&["reporters"]),
            internal_names: find(&["internal_names"]),
            lastmodified: find(&["lastmodified"]),
            hostz: find(&["hostz", "host_redshift"]),
            host_name: find(&["host_name", "hostname"]),
            ext_catalogs: find(&["ext_catalogs"]),
        })
    }
}

/// Parses a TNS public-objects CSV (with or without its leading date line).
pub fn parse_tns_csv(text: &str) -> Result<TnsFile, TnsError> {
    let mut records = Reader::new(text);
    let mut snapshot_date = None;
    let mut bad_rows = Vec::new();
    // The first non-blank record is the date line or the header.
    let mut header = None;
    for rec in records.by_ref() {
        match rec {
            Ok(r) if r.fields.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(r)
                if r.fields.len() == 1
                    && snapshot_date.is_none()
                    && looks_like_date(&r.fields[0]) =>
            {
                snapshot_date = Some(r.fields[0].trim().to_string());
            }
            Ok(r) => {
                header = Some(r);
                break;
            }
            Err(_) => return Err(TnsError::NoHeader),
        }
    }
    let header = header.ok_or(TnsError::NoHeader)?;
    let cols = Cols::new(&header.fields, header.line)?;
    let mut rows = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(u) => {
                bad_rows.push(TnsRowError {
                    line: u.line,
                    reason: "unterminated quote (rest of file skipped)".into(),
                });
                break;
            }
        };
        if rec.fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rec.fields.len() != header.fields.len() {
            bad_rows.push(TnsRowError {
                line: rec.line,
                reason: format!(
                    "{} fields where the header has {}",
                    rec.fields.len(),
                    header.fields.len()
                ),
            });
            continue;
        }
        match parse_row(&cols, &rec.fields) {
            Ok(row) => rows.push(row),
            Err(reason) => bad_rows.push(TnsRowError {
                line: rec.line,
                reason,
            }),
        }
    }
    Ok(TnsFile {
        snapshot_date,
        rows,
        bad_rows,
    })
}

/// `2026-11-22 00:00:00` and the like: starts with `YYYY-MM-DD`.
fn looks_like_date(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn parse_row(c: &Cols, f: &[String]) -> Result<TnsRow, String> {
    let mut problems = Vec::new();
    let text = |i: Option<usize>| {
        i.map(|i| f[i].trim())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let opt_num = |what: &str, i: Option<usize>, problems: &mut Vec<String>| {
        let s = i.map(|i| f[i].trim()).unwrap_or("");
        if s.is_empty() {
            return None;
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                problems.push(format!("{what} {s:?} is not a number"));
                None
            }
        }
    };
    let ra = opt_num("ra", Some(c.ra), &mut problems);
    let dec = opt_num("declination", Some(c.dec), &mut problems);
    match (ra, dec) {
        (Some(ra), Some(dec)) if sky::lonlat(ra, dec).is_none() || !(0.0..360.0).contains(&ra) => {
            problems.push(format!("position ({ra}, {dec}) is outside the sky"))
        }
        (None, _) | (_, None) if problems.is_empty() => {
            problems.push("missing ra or declination".into())
        }
        _ => {}
    }
    let objid = f[c.objid].trim();
    let id = match (objid.parse::<i64>(), objid.parse::<f64>()) {
        (Ok(v), _) => Some(v),
        // Some exports write ids as floats (`200803.0`).
        (_, Ok(v)) if v.fract() == 0.0 && v.abs() < 9e15 => Some(v as i64),
        _ => {
            problems.push(format!("objid {:?} is not an integer", f[c.objid].trim()));
            None
        }
    };
    let tns_name = f[c.name].trim().to_string();
    if tns_name.is_empty() {
        problems.push("missing name".into());
    }
    let z = opt_num("redshift", c.redshift, &mut problems);
    let disc_mag = opt_num("discoverymag", c.discoverymag, &mut problems);
    let hostz = opt_num("hostz", c.hostz, &mut problems);
    let disc_date = text(c.discoverydate);
    if let Some(d) = disc_date.as_deref().filter(|d| !looks_like_date(d)) {
        problems.push(format!("discoverydate {d:?} is not a date"));
    }
    let (Some(ra), Some(decl), Some(id), true) = (ra, dec, id, problems.is_empty()) else {
        return Err(problems.join("; "));
    };
    Ok(TnsRow {
        id,
        ra,
        decl,
        tns_name,
        tns_prefix: text(c.prefix).unwrap_or_default(),
        disc_mag,
        disc_mag_filter: text(c.filter),
        r#type: text(c.r#type),
        z,
        hostz,
        host_name: text(c.host_name),
        ext_catalogs: text(c.ext_catalogs),
        disc_int_name: text(c.internal_names),
        disc_date,
        lastmodified_date: text(c.lastmodified),
        sender: text(c.reporting_group),
        reporters: text(c.reporters),
        source_group: text(c.source_group),
    })
}

/// Order of the index cells (~3.4′): a 3″ query touches one to four of them.
const TNS_DEPTH: u8 = 10;

/// TNS objects sorted by HEALPix cell, for nearest-object queries.
#[derive(Debug, Clone, Default)]
pub struct TnsIndex {
    /// (cell at TNS_DEPTH, ra, dec, row index), sorted by cell.
    points: Vec<(u32, f64, f64, u32)>,
    names: Vec<Box<str>>,
}

impl TnsIndex {
    /// Indexes the rows; the row index returned by queries is the position in `rows`.
    pub fn new(rows: &[TnsRow]) -> TnsIndex {
        TnsIndex::from_points(rows.iter().map(|r| (r.tns_name.as_str(), r.ra, r.decl)))
    }

    /// Indexes `(name, ra, dec)` points; invalid positions are left out.
    pub fn from_points<'a>(points: impl IntoIterator<Item = (&'a str, f64, f64)>) -> TnsIndex {
        let mut out = Vec::new();
        let mut names = Vec::new();
        for (i, (name, ra, dec)) in points.into_iter().enumerate() {
            names.push(Box::from(name));
            if let (Some((lon, lat)), Ok(i)) = (sky::lonlat(ra, dec), u32::try_from(i)) {
                out.push((sky::hash(TNS_DEPTH, lon, lat) as u32, ra, dec, i));
            }
        }
        out.sort_unstable_by_key(|p| (p.0, p.3));
        TnsIndex { points: out, names }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The nearest TNS object within `radius_arcsec`: its name (without prefix, as in
    /// `crossmatch_tns.tns_name`) and separation in arcseconds.
    pub fn nearest(&self, ra: f64, dec: f64, radius_arcsec: f64) -> Option<(&str, f64)> {
        self.nearest_index(ra, dec, radius_arcsec)
            .map(|(i, s)| (&*self.names[i], s))
    }

    /// As [`nearest`](Self::nearest), giving the row index instead of the name.
    pub fn nearest_index(&self, ra: f64, dec: f64, radius_arcsec: f64) -> Option<(usize, f64)> {
        self.within(ra, dec, radius_arcsec).into_iter().next()
    }

    /// Every TNS object within `radius_arcsec` (at most 180°), nearest first, as
    /// (row index, arcsec).
    pub fn within(&self, ra: f64, dec: f64, radius_arcsec: f64) -> Vec<(usize, f64)> {
        let mut out = Vec::new();
        let Some((lon, lat)) = sky::lonlat(ra, dec) else {
            return out;
        };
        // Also rejects NaN.
        if radius_arcsec.is_nan() || radius_arcsec < 0.0 {
            return out;
        }
        let r_rad = (radius_arcsec.min(648_000.0) / 3600.0).to_radians();
        let mut check = |lo: usize, hi: usize| {
            for p in &self.points[lo..hi] {
                let s = sky::separation_arcsec(ra, dec, p.1, p.2);
                if s <= radius_arcsec {
                    out.push((p.3 as usize, s));
                }
            }
        };
        let span = |a: u32, b: u32| {
            (
                self.points.partition_point(|p| p.0 < a),
                self.points.partition_point(|p| p.0 < b),
            )
        };
        if sky::neighbour_depth(r_rad).is_some_and(|d| d >= TNS_DEPTH) {
            let mut cells = Vec::with_capacity(9);
            sky::cell_and_neighbours(TNS_DEPTH, sky::hash(TNS_DEPTH, lon, lat), &mut cells);
            for c in cells {
                let (lo, hi) = span(c as u32, c as u32 + 1);
                check(lo, hi);
            }
        } else {
            // A wide query: the cells overlapping the cone, as ranges at TNS_DEPTH.
            let bmoc = cdshealpix::nested::cone_coverage_approx(TNS_DEPTH, lon, lat, r_rad);
            for r in bmoc.to_ranges().iter() {
                let (lo, hi) = span(r.start as u32, r.end.min(u32::MAX as u64) as u32);
                check(lo, hi);
            }
        }
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "objid,name_prefix,name,ra,declination,redshift,typeid,type,reporting_groupid,reporting_group,source_groupid,source_group,discoverydate,discoverymag,discmagfilter,filter,reporters,time_received,internal_names,Discovery_ADS_bibcode,Class_ADS_bibcodes,creationdate,lastmodified";

    #[test]
    fn bad_rows_are_listed_and_good_kept() {
        let text = format!(
            "\"2026-11-22 00:00:00\"\n{HEADER}\n\
             1,AT,2026a,10.0,20.0,,,,,G,,S,2026-01-01 00:00:00,18.5,,r,\"A, B\",,x,,,,2026-01-02 00:00:00\n\
             2,AT,2026b,400.0,20.0,,,,,G,,S,2026-01-01 00:00:00,18.5,,r,,,x,,,,\n\
             3,AT,2026c,10.0,20.0,zz,,,,G,,S,2026-01-01 00:00:00,18.5,,r,,,x,,,,\n\
             4,AT,2026d,10.0\n\
             x,AT,2026e,10.0,20.0,,,,,G,,S,2026-01-01,18.5,,r,,,x,,,,\n\
             6,SN,2026f,11.0,-20.0,0.1,,SN Ia,,G,,S,yesterday,,,,,,,,,,\n"
        );
        let f = parse_tns_csv(&text).unwrap();
        assert_eq!(f.snapshot_date.as_deref(), Some("2026-11-22 00:00:00"));
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0].reporters.as_deref(), Some("A, B"));
        assert_eq!(f.rows[0].z, None);
        let lines: Vec<usize> = f.bad_rows.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8], "{:?}", f.bad_rows);
        assert!(f.bad_rows[0].reason.contains("outside"));
        assert!(f.bad_rows[1].reason.contains("redshift"));
        assert!(f.bad_rows[2].reason.contains("fields"));
        assert!(f.bad_rows[3].reason.contains("objid"));
        assert!(f.bad_rows[4].reason.contains("discoverydate"));
        assert_eq!(parse_tns_csv(""), Err(TnsError::NoHeader));
        assert!(matches!(
            parse_tns_csv("a,b,c\n1,2,3\n"),
            Err(TnsError::MissingColumns { line: 1, .. })
        ));
    }

    #[test]
    fn index_nearest_and_wide() {
        let idx = TnsIndex::from_points([
            ("a", 10.0, 20.0),
            ("b", 10.0, 20.0 + 2.0 / 3600.0),
            ("c", 10.0, 20.0 - 1.0 / 3600.0),
            ("far", 200.0, -30.0),
            ("bad", 0.0, 99.0),
        ]);
        assert_eq!(idx.len(), 4);
        let (n, s) = idx.nearest(10.0, 20.0 + 0.4 / 3600.0, 3.0).unwrap();
        assert_eq!(n, "a");
        assert!((s - 0.4).abs() < 1e-6);
        assert_eq!(idx.within(10.0, 20.0, 3.0).len(), 3);
        assert!(idx.nearest(10.5, 20.0, 3.0).is_none());
        // A 40° query goes through the coverage path and finds the three, not `far`.
        assert_eq!(idx.within(30.0, 20.0, 40.0 * 3600.0).len(), 3);
        assert_eq!(idx.within(30.0, 20.0, 648_000.0).len(), 4);
        assert!(idx.within(f64::NAN, 0.0, 3.0).is_empty());
        assert!(idx.within(0.0, 0.0, f64::NAN).is_empty());
    }
}
