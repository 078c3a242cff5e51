//! Watchlists: a user's list of sky positions, each a cone (centre and radius), and the
//! index that finds every cone containing an object's position.
//!
//! [`parse_csv`] reads the `ra, dec, name[, radius]` text a user uploads, all or nothing,
//! so a watchlist is never half-loaded: every bad line is reported at once.
//!
//! [`ConeIndex`] holds all cones of all watchlists in one sorted array. Each cone is stored
//! once (32 bytes plus a 4-byte cell key), under the HEALPix cell of its centre at the
//! deepest order whose cells are wider than its radius. A cone of that size can only reach
//! its own cell and the 8 (or 7) around it, so a query looks up the point's cell and its
//! neighbours at each order in use and checks the candidates with the exact great-circle
//! separation. There are no per-cone allocations and no duplicates, which keeps ten
//! million cones within a few hundred megabytes.

use std::collections::HashMap;
use std::fmt;

use crate::csv::Reader;
use crate::sky;

/// Largest radius [`parse_csv`] accepts, in arcseconds (1°). Watchlists are for
/// individual sources; a larger region belongs in a watchmap. The index itself accepts
/// any radius up to 180°.
pub const MAX_CSV_RADIUS_ARCSEC: f64 = 3600.0;

/// One line of a watchlist file.
#[derive(Debug, Clone, PartialEq)]
pub struct Cone {
    /// Right ascension, decimal degrees in [0, 360).
    pub ra: f64,
    /// Declination, decimal degrees in [-90, 90].
    pub dec: f64,
    pub name: String,
    /// The radius given on the line, in arcseconds; `None` means the watchlist's default,
    /// kept apart so that changing the default later applies to these cones (as Lasair
    /// stores a NULL radius).
    pub radius_arcsec: Option<f64>,
}

impl Cone {
    /// The radius to match with: the line's own, or the watchlist default.
    pub fn radius_or(&self, default_arcsec: f64) -> f64 {
        self.radius_arcsec.unwrap_or(default_arcsec)
    }
}

/// What was wrong with one line of a watchlist file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvLineError {
    /// 1-based line number in the file (0 for a problem with the arguments).
    pub line: usize,
    pub reason: String,
}

/// Every bad line of a watchlist file; a file with any is rejected whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct CsvErrors {
    pub errors: Vec<CsvLineError>,
}

impl fmt::Display for CsvErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_bad_lines(f, "watchlist", &self.errors)
    }
}

/// "N bad line(s) in WHAT; line L: reason; …" (the first ten), for an upload's errors.
pub(crate) fn write_bad_lines(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    errors: &[CsvLineError],
) -> fmt::Result {
    write!(f, "{} bad line(s) in {what}", errors.len())?;
    for e in errors.iter().take(10) {
        write!(f, "; line {}: {}", e.line, e.reason)?;
    }
    if errors.len() > 10 {
        write!(f, "; …")?;
    }
    Ok(())
}

/// Parses a watchlist: one cone per line as `ra, dec, name` or `ra, dec, name, radius`
/// (decimal degrees, radius in arcseconds). Blank lines and lines starting with `#` are
/// skipped, as is a header line (a first line whose first two fields are not numbers and
/// whose first starts with a letter, like `ra, dec, name`). Names may be quoted to hold
/// commas.
///
/// All or nothing: if any line is bad, every bad line is returned with its line number and
/// reason (bad number, RA outside [0, 360), Dec outside [-90, 90], radius not in
/// (0, [`MAX_CSV_RADIUS_ARCSEC`]], missing name, wrong field count). The default radius is
/// checked by the same rule and reported as line 0.
pub fn parse_csv(text: &str, default_radius_arcsec: f64) -> Result<Vec<Cone>, CsvErrors> {
    let mut errors = Vec::new();
    if let Err(reason) = check_radius(default_radius_arcsec) {
        errors.push(CsvLineError {
            line: 0,
            reason: format!("default {reason}"),
        });
    }
    let mut cones = Vec::new();
    let mut seen_data = false;
    for record in Reader::new(text) {
        let record = match record {
            Ok(r) => r,
            Err(u) => {
                errors.push(CsvLineError {
                    line: u.line,
                    reason: "unterminated quote".into(),
                });
                break;
            }
        };
        let fields: Vec<&str> = record.fields.iter().map(|f| f.trim()).collect();
        let first = fields.first().copied().unwrap_or("");
        if fields.iter().all(|f| f.is_empty()) || first.starts_with('#') {
            continue;
        }
        let first_line = !seen_data;
        seen_data = true;
        if first_line && looks_like_header(&fields) {
            continue;
        }
        match parse_line(&fields) {
            Ok(c) => cones.push(c),
            Err(reason) => errors.push(CsvLineError {
                line: record.line,
                reason,
            }),
        }
    }
    if errors.is_empty() {
        Ok(cones)
    } else {
        Err(CsvErrors { errors })
    }
}

fn looks_like_header(fields: &[&str]) -> bool {
    fields.len() >= 2
        && fields[0].parse::<f64>().is_err()
        && fields[1].parse::<f64>().is_err()
        && fields[0].starts_with(|c: char| c.is_ascii_alphabetic())
}

fn parse_line(fields: &[&str]) -> Result<Cone, String> {
    if fields.len() < 3 || fields.len() > 4 {
        return Err(format!(
            "expected `ra, dec, name[, radius]`, found {} field(s)",
            fields.len()
        ));
    }
    let mut problems = Vec::new();
    let number = |what: &str, s: &str, problems: &mut Vec<String>| -> Option<f64> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                problems.push(format!("{what} {s:?} is not a number"));
                None
            }
        }
    };
    let ra = number("ra", fields[0], &mut problems);
    let dec = number("dec", fields[1], &mut problems);
    if let Some(ra) = ra {
        if !(0.0..360.0).contains(&ra) {
            problems.push(format!("ra {ra} is outside [0, 360)"));
        }
    }
    if let Some(dec) = dec {
        if !(-90.0..=90.0).contains(&dec) {
            problems.push(format!("dec {dec} is outside [-90, 90]"));
        }
    }
    let name = fields[2];
    if name.is_empty() {
        problems.push("missing name".into());
    }
    let mut radius = None;
    if let Some(r) = fields.get(3).filter(|s| !s.is_empty()) {
        if let Some(r) = number("radius", r, &mut problems) {
            match check_radius(r) {
                Ok(()) => radius = Some(r),
                Err(reason) => problems.push(reason),
            }
        }
    }
    match (ra, dec) {
        (Some(ra), Some(dec)) if problems.is_empty() => Ok(Cone {
            ra,
            dec,
            name: name.to_string(),
            radius_arcsec: radius,
        }),
        _ => Err(problems.join("; ")),
    }
}

fn check_radius(r: f64) -> Result<(), String> {
    if !r.is_finite() || r <= 0.0 {
        Err(format!("radius {r} must be positive"))
    } else if r > MAX_CSV_RADIUS_ARCSEC {
        Err(format!(
            "radius {r} arcsec exceeds the {MAX_CSV_RADIUS_ARCSEC} arcsec limit"
        ))
    } else {
        Ok(())
    }
}

/// A cone that cannot go into the index.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConeError {
    #[error("cone {cone_id}: position ({ra}, {dec}) is not valid")]
    Position { cone_id: i64, ra: f64, dec: f64 },
    #[error("cone {cone_id}: radius {radius_arcsec} arcsec is not in (0, 648000]")]
    Radius { cone_id: i64, radius_arcsec: f64 },
    #[error("more than 2^32 watchlists or cones in one index")]
    TooMany,
}

/// A cone that contains the queried point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConeHit {
    pub wl_id: i64,
    pub cone_id: i64,
    /// Great-circle separation between the point and the cone centre.
    pub arcsec: f64,
}

/// One stored cone: 32 bytes, no heap.
#[derive(Debug, Clone, Copy)]
struct Entry {
    ra: f64,
    dec: f64,
    cone_id: i64,
    radius_arcsec: f32,
    /// Index into `ConeIndex::wl_ids`.
    wl: u32,
}

/// The cones stored under one HEALPix order.
#[derive(Debug, Clone)]
struct Level {
    depth: u8,
    /// Range of `entries`/`keys` holding this level, sorted by key.
    lo: usize,
    hi: usize,
    /// `coarse[c]..coarse[c + 1]` (relative to `lo`) are the entries whose key lies in
    /// coarse cell `c` (= key >> `coarse_shift`), so a lookup binary-searches only a few.
    coarse_shift: u32,
    coarse: Vec<u32>,
}

/// Collects cones, then sorts them into a [`ConeIndex`].
#[derive(Debug, Default)]
pub struct ConeIndexBuilder {
    entries: Vec<Entry>,
    wl_ids: Vec<i64>,
    wl_lookup: HashMap<i64, u32>,
}

impl ConeIndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` more cones, to avoid regrowing a large vector.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// Adds one cone. RA is wrapped into [0, 360); Dec must be in [-90, 90]; the radius
    /// in (0°, 180°]. The radius is stored as f32 (relative precision 6e-8, i.e. under
    /// 0.2 mas for a 1° cone).
    pub fn push(
        &mut self,
        wl_id: i64,
        cone_id: i64,
        ra: f64,
        dec: f64,
        radius_arcsec: f64,
    ) -> Result<(), ConeError> {
        if sky::lonlat(ra, dec).is_none() {
            return Err(ConeError::Position { cone_id, ra, dec });
        }
        if !(radius_arcsec > 0.0 && radius_arcsec <= 648_000.0) {
            return Err(ConeError::Radius {
                cone_id,
                radius_arcsec,
            });
        }
        if self.entries.len() >= u32::MAX as usize {
            return Err(ConeError::TooMany);
        }
        let wl = match self.wl_lookup.get(&wl_id) {
            Some(&w) => w,
            None => {
                let w = u32::try_from(self.wl_ids.len()).map_err(|_| ConeError::TooMany)?;
                self.wl_ids.push(wl_id);
                self.wl_lookup.insert(wl_id, w);
                w
            }
        };
        self.entries.push(Entry {
            ra: ra.rem_euclid(360.0),
            dec,
            cone_id,
            radius_arcsec: radius_arcsec as f32,
            wl,
        });
        Ok(())
    }

    /// Number of cones pushed so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sorts the cones into the index.
    pub fn build(self) -> ConeIndex {
        let ConeIndexBuilder {
            entries, wl_ids, ..
        } = self;
        // Sort key: level depth in the top byte, cell below; cones too big for any level
        // go last, under depth 0xFF, and are checked for every query.
        let mut keyed: Vec<(u64, Entry)> = entries.into_iter().map(|e| (sort_key(&e), e)).collect();
        keyed.sort_unstable_by_key(|&(k, e)| (k, e.wl, e.cone_id));

        let n = keyed.len();
        let mut out = Vec::with_capacity(n);
        let mut keys = Vec::with_capacity(n);
        let mut levels = Vec::new();
        let mut big_from = n;
        for (i, (k, e)) in keyed.into_iter().enumerate() {
            let depth = (k >> 56) as u8;
            if depth == BIG && big_from == n {
                big_from = i;
            }
            if depth != BIG && levels.last().is_none_or(|l: &Level| l.depth != depth) {
                levels.push(Level {
                    depth,
                    lo: i,
                    hi: i,
                    coarse_shift: 0,
                    coarse: Vec::new(),
                });
            }
            if let Some(l) = levels.last_mut().filter(|_| depth != BIG) {
                l.hi = i + 1;
            }
            keys.push((k & 0xFFFF_FFFF) as u32);
            out.push(e);
        }
        for l in &mut levels {
            // Coarse table at most ~1 entry per cone, and at most order 9 (12.6 MB).
            let n = (l.hi - l.lo) as u64;
            let mut c = l.depth.min(9);
            while c > 0 && sky::n_cells(c) > n.max(12) {
                c -= 1;
            }
            l.coarse_shift = 2 * (l.depth - c) as u32;
            let ncoarse = sky::n_cells(c) as usize;
            let mut coarse = vec![0u32; ncoarse + 1];
            for &k in &keys[l.lo..l.hi] {
                coarse[(k >> l.coarse_shift) as usize + 1] += 1;
            }
            for j in 1..coarse.len() {
                coarse[j] += coarse[j - 1];
            }
            l.coarse = coarse;
        }
        ConeIndex {
            entries: out,
            keys,
            levels,
            big_from,
            wl_ids,
        }
    }
}

/// Depth marking cones of 48° or more, which no HEALPix level can bound.
const BIG: u8 = 0xFF;
/// Deepest order used: finer cells would add lookups without removing candidates for
/// the usual arcsecond radii, and keys at order ≤ 13 fit in 32 bits.
const MAX_LEVEL_DEPTH: u8 = 12;

fn sort_key(e: &Entry) -> u64 {
    let r = (e.radius_arcsec as f64 / 3600.0).to_radians();
    match sky::neighbour_depth(r) {
        Some(d) => {
            let d = d.min(MAX_LEVEL_DEPTH);
            // Positions were checked on push.
            let (lon, lat) = sky::lonlat(e.ra, e.dec).unwrap_or((0.0, 0.0));
            ((d as u64) << 56) | sky::hash(d, lon, lat)
        }
        None => (BIG as u64) << 56,
    }
}

/// Every cone of every watchlist, sorted for lookup by position. See the module doc.
#[derive(Debug, Clone)]
pub struct ConeIndex {
    entries: Vec<Entry>,
    /// HEALPix cell of each entry's centre at its level's depth.
    keys: Vec<u32>,
    levels: Vec<Level>,
    /// `entries[big_from..]` are the cones too large for any level.
    big_from: usize,
    wl_ids: Vec<i64>,
}

impl ConeIndex {
    pub fn builder() -> ConeIndexBuilder {
        ConeIndexBuilder::new()
    }

    /// Index of `(wl_id, cone_id, ra, dec, radius_arcsec)` cones; the first invalid cone
    /// is the error.
    pub fn new(
        cones: impl IntoIterator<Item = (i64, i64, f64, f64, f64)>,
    ) -> Result<ConeIndex, ConeError> {
        let mut b = ConeIndexBuilder::new();
        for (wl_id, cone_id, ra, dec, r) in cones {
            b.push(wl_id, cone_id, ra, dec, r)?;
        }
        Ok(b.build())
    }

    /// Index of one watchlist's parsed cones, with `cone_id` = position in `cones`
    /// (for callers that keep the names in a parallel list) and the watchlist default
    /// radius for cones without their own.
    pub fn from_cones(
        wl_id: i64,
        cones: &[Cone],
        default_radius_arcsec: f64,
    ) -> Result<ConeIndex, ConeError> {
        let mut b = ConeIndexBuilder::new();
        b.reserve(cones.len());
        for (i, c) in cones.iter().enumerate() {
            b.push(
                wl_id,
                i as i64,
                c.ra,
                c.dec,
                c.radius_or(default_radius_arcsec),
            )?;
        }
        Ok(b.build())
    }

    /// Number of cones.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.keys.capacity() * 4
            + self.wl_ids.capacity() * 8
            + self
                .levels
                .iter()
                .map(|l| l.coarse.capacity() * 4 + std::mem::size_of::<Level>())
                .sum::<usize>()
    }

    /// Every cone containing the point (separation ≤ radius), sorted by watchlist then
    /// cone id. An invalid position (NaN, |Dec| > 90) contains nothing.
    pub fn matches(&self, ra: f64, dec: f64) -> Vec<ConeHit> {
        let mut out = Vec::new();
        self.matches_into(ra, dec, &mut out);
        out
    }

    /// As [`matches`](Self::matches), appending to `out` (which is not cleared), to reuse
    /// one buffer over many queries.
    pub fn matches_into(&self, ra: f64, dec: f64, out: &mut Vec<ConeHit>) {
        let Some((lon, lat)) = sky::lonlat(ra, dec) else {
            return;
        };
        let start = out.len();
        let mut cells = Vec::with_capacity(9);
        for l in &self.levels {
            let h = sky::hash(l.depth, lon, lat);
            sky::cell_and_neighbours(l.depth, h, &mut cells);
            for &c in &cells {
                let c = c as u32;
                let cc = (c >> l.coarse_shift) as usize;
                let (a, b) = (
                    l.lo + l.coarse[cc] as usize,
                    l.lo + l.coarse[cc + 1] as usize,
                );
                let keys = &self.keys[a..b];
                let first = keys.partition_point(|&k| k < c);
                for j in a + first..b {
                    if self.keys[j] != c {
                        break;
                    }
                    self.check(j, lon, lat, out);
                }
            }
        }
        for j in self.big_from..self.entries.len() {
            self.check(j, lon, lat, out);
        }
        out[start..].sort_unstable_by_key(|h| (h.wl_id, h.cone_id));
    }

    #[inline]
    fn check(&self, j: usize, lon: f64, lat: f64, out: &mut Vec<ConeHit>) {
        let e = &self.entries[j];
        let sep = sky::separation_rad(lon, lat, e.ra.to_radians(), e.dec.to_radians()).to_degrees()
            * 3600.0;
        if sep <= e.radius_arcsec as f64 {
            out.push(ConeHit {
                wl_id: self.wl_ids[e.wl as usize],
                cone_id: e.cone_id,
                arcsec: sep,
            });
        }
    }

    /// Matches many points: `(index into points, hit)` pairs, in point order.
    pub fn matches_many(&self, points: &[(f64, f64)]) -> Vec<(usize, ConeHit)> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for (i, &(ra, dec)) in points.iter().enumerate() {
            buf.clear();
            self.matches_into(ra, dec, &mut buf);
            out.extend(buf.iter().map(|&h| (i, h)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_good_with_header_comments_and_radius() {
        let text = "# my list\nra, dec, name\n\n10.5, -20.25, SN one\n 359.9,89.9 , \"a, b\", 5\r\n0,0,x,\n";
        let cones = parse_csv(text, 2.0).unwrap();
        assert_eq!(cones.len(), 3);
        assert_eq!(cones[0].name, "SN one");
        assert_eq!(cones[0].radius_arcsec, None);
        assert_eq!(cones[0].radius_or(2.0), 2.0);
        assert_eq!(cones[1].name, "a, b");
        assert_eq!(cones[1].radius_arcsec, Some(5.0));
        assert_eq!((cones[2].ra, cones[2].dec), (0.0, 0.0));
    }

    #[test]
    fn csv_reports_every_bad_line() {
        let text = "ra,dec,name\n1,2,ok\nx,2,a\n360,0,b\n0,-91,c\n0,0,\n0,0,d,0\n0,0,e,-3\n0,0,f,3601\n0,0\n0,0,g,1,extra\n1,2,ok2\n0,nan,h\n";
        let err = parse_csv(text, 2.0).unwrap_err();
        let lines: Vec<usize> = err.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9, 10, 11, 13], "{err}");
        assert!(err.errors[0].reason.contains("not a number"));
        assert!(err.errors[1].reason.contains("outside [0, 360)"));
        assert!(err.errors[2].reason.contains("outside [-90, 90]"));
        assert!(err.errors[3].reason.contains("missing name"));
        assert!(err.errors[4].reason.contains("positive"));
        assert!(err.errors[6].reason.contains("exceeds"));
        assert!(err.errors[7].reason.contains("found 2"));
        // A first line that is bad data, not a header, is an error.
        let err = parse_csv("abc,10,x\n", 2.0).unwrap_err();
        assert_eq!(err.errors[0].line, 1);
        // A bad default radius.
        assert_eq!(parse_csv("1,2,x\n", 0.0).unwrap_err().errors[0].line, 0);
        // Unterminated quote.
        assert_eq!(parse_csv("1,2,\"x\n", 2.0).unwrap_err().errors[0].line, 1);
    }

    fn brute(cones: &[(f64, f64, f64)], ra: f64, dec: f64) -> Vec<i64> {
        cones
            .iter()
            .enumerate()
            .filter(|(_, &(cra, cdec, r))| {
                sky::separation_arcsec(ra, dec, cra, cdec) <= (r as f32) as f64
            })
            .map(|(i, _)| i as i64)
            .collect()
    }

    #[test]
    fn index_agrees_with_brute_force() {
        let mut rng = fastrand::Rng::with_seed(7);
        // Clusters at the poles, a base-cell corner, RA 0 and random places, with radii
        // from 0.1″ to 60° so that every level and the big list are used.
        let centres = [
            (0.0, 90.0),
            (0.0, -90.0),
            (45.0, 41.8103149),
            (0.0, 0.0),
            (135.0, 0.0),
            (300.0, -60.0),
        ];
        let mut cones = Vec::new();
        for _ in 0..3000 {
            let (ra0, dec0) = centres[rng.usize(..centres.len())];
            let spread = [0.001, 0.05, 2.0][rng.usize(..3)];
            let ra = (ra0 + (rng.f64() - 0.5) * spread * 20.0).rem_euclid(360.0);
            let dec = (dec0 + (rng.f64() - 0.5) * spread).clamp(-90.0, 90.0);
            let r = [0.1, 1.0, 5.0, 60.0, 900.0, 7200.0, 90000.0, 216000.0][rng.usize(..8)];
            cones.push((ra, dec, r));
        }
        let mut b = ConeIndex::builder();
        for (i, &(ra, dec, r)) in cones.iter().enumerate() {
            b.push(i as i64 % 3, i as i64, ra, dec, r).unwrap();
        }
        let idx = b.build();
        assert_eq!(idx.len(), cones.len());
        assert!(idx.levels.len() > 3);
        for q in 0..4000 {
            let (ra, dec) = if q % 2 == 0 {
                let (cra, cdec, _) = cones[rng.usize(..cones.len())];
                let d = [1e-5, 1e-3, 0.02, 0.5][rng.usize(..4)];
                (
                    (cra + (rng.f64() - 0.5) * d).rem_euclid(360.0),
                    (cdec + (rng.f64() - 0.5) * d).clamp(-90.0, 90.0),
                )
            } else {
                (
                    rng.f64() * 360.0,
                    (rng.f64() * 2.0 - 1.0).asin().to_degrees(),
                )
            };
            let mut got: Vec<i64> = idx.matches(ra, dec).iter().map(|h| h.cone_id).collect();
            got.sort();
            assert_eq!(got, brute(&cones, ra, dec), "query ({ra}, {dec})");
        }
    }

    #[test]
    fn hits_carry_ids_and_separation() {
        let mut b = ConeIndex::builder();
        b.push(7, 100, 10.0, 20.0, 5.0).unwrap();
        b.push(3, 200, 10.0, 20.0 + 4.0 / 3600.0, 2.0).unwrap();
        b.push(7, 101, 10.0, 21.0, 5.0).unwrap();
        assert!(b.push(1, 1, 0.0, 91.0, 1.0).is_err());
        assert!(b.push(1, 1, 0.0, 0.0, 0.0).is_err());
        assert!(b.push(1, 1, f64::NAN, 0.0, 1.0).is_err());
        let idx = b.build();
        let hits = idx.matches(10.0, 20.0 + 3.0 / 3600.0);
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].wl_id, hits[0].cone_id), (3, 200));
        assert!((hits[0].arcsec - 1.0).abs() < 1e-6);
        assert_eq!((hits[1].wl_id, hits[1].cone_id), (7, 100));
        assert!((hits[1].arcsec - 3.0).abs() < 1e-6);
        assert!(idx.matches(f64::NAN, 0.0).is_empty());
        assert!(idx.matches(0.0, 95.0).is_empty());
        let many = idx.matches_many(&[(10.0, 21.0), (50.0, 0.0), (10.0, 20.0)]);
        assert_eq!(
            many.iter()
                .map(|(i, h)| (*i, h.cone_id))
                .collect::<Vec<_>>(),
            [(0, 101), (2, 100)]
        );
        assert!(idx.memory_bytes() > 0);
        assert!(ConeIndex::builder().build().matches(1.0, 1.0).is_empty());
        let idx = ConeIndex::new([(1, 2, 359.9999, 0.0, 1.0)]).unwrap();
        assert_eq!(idx.matches(0.0001, 0.0).len(), 1, "across RA 0");
        assert!(ConeIndex::new([(1, 2, 0.0, 0.0, -1.0)]).is_err());
    }
}
