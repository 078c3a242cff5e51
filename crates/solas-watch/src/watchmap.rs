//! Watchmaps: sky regions given as MOCs (HEALPix Multi-Order Coverage maps), and the index
//! that finds every watchmap containing a position.
//!
//! [`parse_moc`] reads the forms users upload (FITS MOC 1.x with 16/32/64-bit NUNIQ,
//! FITS MOC 2.0 RANGE, the IVOA ASCII form and Aladin's JSON), gzipped or not, with the
//! CDS `moc` crate. Whatever the source, a [`Moc`] is kept as sorted, disjoint ranges of
//! order-29 cells, so containment is one HEALPix hash and a binary search.
//!
//! [`WatchmapIndex`] computes the point's order-29 cell once and tests each map, skipping
//! maps that do not touch the point's order-3 cell (a 768-bit mask per map), so most of a
//! hundred small watchmaps cost one bit test each.

use std::io::Cursor;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use moc::deser::fits::{from_fits_ivoa, MocIdxType, MocQtyType};

/// Largest decompressed MOC. Real MOCs are KB to a few MB (a whole-sky order-29 MOC is a
/// handful of ranges); users upload them, and a 4.4 MB gzip bomb once made the web server
/// hold 4 GB under the skymap cap (audit finding F2).
const MAX_MOC_BYTES: u64 = 64 << 20;
use moc::elemset::range::MocRanges;
use moc::moc::range::RangeMOC;
use moc::moc::{
    CellMOCIntoIterator, CellMOCIterator, CellOrCellRangeMOCIntoIterator,
    CellOrCellRangeMOCIterator, RangeMOCIntoIterator, RangeMOCIterator,
};
use moc::qty::Hpx;

use crate::sky::{self, DEPTH_29};

/// Why a MOC could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MocError {
    #[error("empty input")]
    Empty,
    #[error("not a MOC: {0}")]
    UnknownFormat(String),
    #[error("FITS MOC: {0}")]
    Fits(String),
    #[error("ASCII MOC: {0}")]
    Ascii(String),
    #[error("JSON MOC: {0}")]
    Json(String),
    #[error("gzip: {0}")]
    Gzip(String),
    #[error("not a spatial MOC (time, frequency or space-time MOC)")]
    NotSpatial,
}

/// A spatial MOC: sorted, disjoint, non-adjacent ranges of order-29 HEALPix cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Moc {
    depth_max: u8,
    ranges: Vec<Range<u64>>,
}

impl Moc {
    /// A MOC from ranges of order-29 cells in any order, overlapping or not; `depth_max`
    /// is the order the MOC is said to be resolved to (kept for writing it out again).
    pub fn from_ranges29(depth_max: u8, mut ranges: Vec<Range<u64>>) -> Moc {
        let limit = sky::n_cells(DEPTH_29);
        ranges.retain(|r| r.start < r.end && r.start < limit);
        for r in &mut ranges {
            r.end = r.end.min(limit);
        }
        ranges.sort_unstable_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged.shrink_to_fit();
        Moc {
            depth_max: depth_max.min(DEPTH_29),
            ranges: merged,
        }
    }

    /// A MOC from `(depth, nested hash)` cells; invalid cells are dropped.
    pub fn from_cells(depth_max: u8, cells: impl IntoIterator<Item = (u8, u64)>) -> Moc {
        let ranges = cells
            .into_iter()
            .filter(|&(d, h)| d <= DEPTH_29 && h < sky::n_cells(d))
            .map(|(d, h)| {
                let (a, b) = sky::range29(d, h);
                a..b
            })
            .collect();
        Moc::from_ranges29(depth_max, ranges)
    }

    /// The cell of order `depth` holding a position (decimal degrees), for building a
    /// MOC of positions with [`Moc::from_cells`]; None for an invalid position.
    pub fn cell_of(depth: u8, ra: f64, dec: f64) -> Option<u64> {
        let (lon, lat) = sky::lonlat(ra, dec)?;
        Some(sky::hash(depth.min(DEPTH_29), lon, lat))
    }

    /// Everything in either MOC, at the deeper of their orders.
    pub fn union(&self, other: &Moc) -> Moc {
        let ranges = self.ranges.iter().chain(&other.ranges).cloned().collect();
        Moc::from_ranges29(self.depth_max.max(other.depth_max), ranges)
    }

    /// Deepest order of the MOC.
    pub fn depth_max(&self) -> u8 {
        self.depth_max
    }

    /// The order-29 ranges.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether the position (decimal degrees) is inside. An invalid position is not.
    pub fn contains(&self, ra: f64, dec: f64) -> bool {
        match sky::lonlat(ra, dec) {
            Some((lon, lat)) => self.contains_hash29(sky::hash(DEPTH_29, lon, lat)),
            None => false,
        }
    }

    /// Whether the order-29 cell `h` is inside.
    pub fn contains_hash29(&self, h: u64) -> bool {
        // The last range starting at or before h.
        let i = self.ranges.partition_point(|r| r.start <= h);
        i > 0 && h < self.ranges[i - 1].end
    }

    /// Fraction of the sky covered.
    pub fn sky_fraction(&self) -> f64 {
        let cells: u64 = self.ranges.iter().map(|r| r.end - r.start).sum();
        cells as f64 / sky::n_cells(DEPTH_29) as f64
    }

    /// Area covered, in square degrees.
    pub fn area_deg2(&self) -> f64 {
        self.sky_fraction() * 4.0 * std::f64::consts::PI * sky::DEG2_PER_SR
    }

    /// Where the MOC is, to frame a picture of it: the centre (RA, Dec in degrees) of its
    /// cells weighted by area, and the largest distance (degrees) from there to any cell's
    /// first, middle or last corner point sampled. `None` when empty.
    pub fn extent(&self) -> Option<(f64, f64, f64)> {
        let layer = cdshealpix::nested::get(DEPTH_29);
        let samples: Vec<(f64, f64, f64)> = self
            .ranges
            .iter()
            .flat_map(|r| {
                let w = (r.end - r.start) as f64;
                [r.start, r.start + (r.end - r.start) / 2, r.end - 1]
                    .into_iter()
                    .map(move |h| (h, w / 3.0))
            })
            .map(|(h, w)| {
                let (lon, lat) = layer.center(h);
                (lon, lat, w)
            })
            .collect();
        if samples.is_empty() {
            return None;
        }
        let (mut x, mut y, mut z) = (0.0f64, 0.0f64, 0.0f64);
        for (lon, lat, w) in &samples {
            x += w * lat.cos() * lon.cos();
            y += w * lat.cos() * lon.sin();
            z += w * lat.sin();
        }
        let norm = (x * x + y * y + z * z).sqrt();
        if norm == 0.0 {
            return None;
        }
        let (ra, dec) = (
            y.atan2(x).to_degrees().rem_euclid(360.0),
            (z / norm).clamp(-1.0, 1.0).asin().to_degrees(),
        );
        let radius = samples
            .iter()
            .map(|(lon, lat, _)| {
                crate::sky::separation_arcsec(ra, dec, lon.to_degrees(), lat.to_degrees()) / 3600.0
            })
            .fold(0.0, f64::max);
        Some((ra, dec, radius))
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.ranges.capacity() * std::mem::size_of::<Range<u64>>()
    }

    /// The IVOA ASCII serialisation (`depth/cells …`), e.g. to store a region.
    pub fn to_ascii(&self) -> String {
        self.to_range_moc()
            .to_ascii()
            .unwrap_or_else(|_| String::new())
    }

    /// The MOC as an IVOA FITS file (MOC 2.0, RANGE encoding, as the `moc` crate
    /// writes it), e.g. to hand a skymap's credible region to another tool.
    pub fn to_fits(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self
            .to_range_moc()
            .into_range_moc_iter()
            .to_fits_ivoa(None, None, &mut out);
        out
    }

    fn to_range_moc(&self) -> RangeMOC<u64, Hpx<u64>> {
        RangeMOC::new(
            self.depth_max,
            MocRanges::new_unchecked(self.ranges.clone()),
        )
    }
}

/// Reads a MOC, detecting the form: gzip (`1f 8b`) is decompressed first; then FITS
/// (`SIMPLE  =`), JSON (starts with `{`), or else ASCII (`3/1-3 4/17 …`).
///
/// Malformed input gives an error, never a panic: the `moc` crate's parsers are also run
/// under `catch_unwind`, as a guard against a panic deep in a third-party parser on input
/// it did not expect.
pub fn parse_moc(bytes: &[u8]) -> Result<Moc, MocError> {
    let bytes = solas_fits::maybe_gunzip(bytes, MAX_MOC_BYTES)
        .map_err(|e| MocError::Gzip(e.to_string()))?;
    let bytes: &[u8] = &bytes;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(MocError::Empty);
    }
    let guarded = |f: &dyn Fn() -> Result<Moc, MocError>, wrap: fn(String) -> MocError| {
        catch_unwind(AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(wrap("the MOC parser failed on this input".into())))
    };
    if bytes.starts_with(b"SIMPLE") {
        return guarded(&|| parse_fits(bytes), MocError::Fits);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| MocError::UnknownFormat("neither FITS nor UTF-8 text".into()))?;
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        guarded(&|| parse_json(trimmed), MocError::Json)
    } else if trimmed.starts_with(|c: char| c.is_ascii_digit() || c == 's') {
        guarded(&|| parse_ascii(trimmed), MocError::Ascii)
    } else {
        Err(MocError::UnknownFormat(
            "expected FITS, JSON (`{...}`) or ASCII (`depth/cells`)".into(),
        ))
    }
}

fn parse_fits(bytes: &[u8]) -> Result<Moc, MocError> {
    // The `moc` crate reads the table as a stream and stops quietly where a truncated file
    // ends, which would give a partial MOC. Check first that every HDU is complete.
    let hdus = solas_fits::hdus(bytes).map_err(|e| MocError::Fits(e.to_string()))?;
    if hdus.len() < 2 || hdus[1].header.get("XTENSION") != Some("BINTABLE") {
        return Err(MocError::Fits(
            "no BINTABLE extension after the primary HDU".into(),
        ));
    }
    let fits = |e: moc::deser::fits::error::FitsError| MocError::Fits(e.to_string());
    let moc = match from_fits_ivoa(Cursor::new(bytes)).map_err(fits)? {
        MocIdxType::U16(MocQtyType::Hpx(m)) => m.collect_to_u64::<Hpx<u64>>(),
        MocIdxType::U32(MocQtyType::Hpx(m)) => m.collect_to_u64::<Hpx<u64>>(),
        MocIdxType::U64(MocQtyType::Hpx(m)) => m.collect(),
        _ => return Err(MocError::NotSpatial),
    };
    Ok(from_range_moc(moc))
}

fn parse_ascii(text: &str) -> Result<Moc, MocError> {
    // MOC 2.0 ASCII may prefix a space MOC with `s`.
    let text = text.strip_prefix('s').unwrap_or(text);
    let cells = moc::deser::ascii::from_ascii_ivoa::<u64, Hpx<u64>>(text)
        .map_err(|e| MocError::Ascii(e.to_string()))?;
    Ok(from_range_moc(
        cells
            .into_cellcellrange_moc_iter()
            .ranges()
            .into_range_moc(),
    ))
}

fn parse_json(text: &str) -> Result<Moc, MocError> {
    let cells = moc::deser::json::from_json_aladin::<u64, Hpx<u64>>(text)
        .map_err(|e| MocError::Json(e.to_string()))?;
    Ok(from_range_moc(
        cells.into_cell_moc_iter().ranges().into_range_moc(),
    ))
}

fn from_range_moc(m: RangeMOC<u64, Hpx<u64>>) -> Moc {
    let depth = m.depth_max();
    let ranges: Vec<Range<u64>> = m.into_moc_ranges().0 .0.into_vec();
    Moc::from_ranges29(depth, ranges)
}

/// Order of the prefilter mask: 768 cells, 12 words per map.
const MASK_DEPTH: u8 = 3;
const MASK_WORDS: usize = 12;

/// Many watchmaps, each a [`Moc`] under the caller's id (Lasair's `ar_id`).
#[derive(Debug, Clone, Default)]
pub struct WatchmapIndex {
    maps: Vec<(i64, Moc, [u64; MASK_WORDS])>,
}

impl WatchmapIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a watchmap. Ids need not be unique; each added map answers for itself.
    pub fn insert(&mut self, ar_id: i64, moc: Moc) {
        let mut mask = [0u64; MASK_WORDS];
        let shift = 2 * (DEPTH_29 - MASK_DEPTH) as u32;
        for r in &moc.ranges {
            for c in (r.start >> shift)..=((r.end - 1) >> shift) {
                mask[(c / 64) as usize] |= 1 << (c % 64);
            }
        }
        self.maps.push((ar_id, moc, mask));
    }

    /// Number of watchmaps.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.maps.capacity() * std::mem::size_of::<(i64, Moc, [u64; MASK_WORDS])>()
            + self
                .maps
                .iter()
                .map(|(_, m, _)| m.memory_bytes())
                .sum::<usize>()
    }

    /// The ids of every watchmap containing the position, in insertion order. An invalid
    /// position is in none.
    pub fn containing(&self, ra: f64, dec: f64) -> Vec<i64> {
        let mut out = Vec::new();
        self.containing_into(ra, dec, &mut out);
        out
    }

    /// As [`containing`](Self::containing), appending to `out`.
    pub fn containing_into(&self, ra: f64, dec: f64, out: &mut Vec<i64>) {
        let Some((lon, lat)) = sky::lonlat(ra, dec) else {
            return;
        };
        let h = sky::hash(DEPTH_29, lon, lat);
        let c = (h >> (2 * (DEPTH_29 - MASK_DEPTH) as u32)) as usize;
        let (word, bit) = (c / 64, 1u64 << (c % 64));
        for (id, moc, mask) in &self.maps {
            if mask[word] & bit != 0 && moc.contains_hash29(h) {
                out.push(*id);
            }
        }
    }
}

#[cfg(test)]
mod tests {

    /// Found by the fuzz target `moc_upload`: overlapping ASCII ranges make the `moc`
    /// crate's sort panic (an inconsistent order). The panic is caught; the upload is
    /// refused with an error.
    #[test]
    fn fuzz_moc_ascii_with_overlapping_ranges_is_an_error_not_a_panic() {
        let input = "3/3 63 6/13  17\n7\n7/36/13  17\n7\n7/36/17/3 17/1  \n3717\n7/36/17/3 17\n7\n3/2 6/13  17\n7\n7/36/17/3 17\n7\n7/3 17\n7/3 17\n7\n";
        assert!(parse_moc(input.as_bytes()).is_err());
    }

    /// Audit finding F2: a 4.4 MB gzip bomb uploaded as a watchmap made the web server hold
    /// 4 GB. A MOC inflating past its cap is refused while it inflates.
    #[test]
    fn f2_a_gzip_bomb_watchmap_is_refused_at_the_moc_cap() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(MAX_MOC_BYTES >> 20) + 2 {
            std::io::Write::write_all(&mut gz, &zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        match parse_moc(&bomb) {
            Err(MocError::Gzip(e)) => assert!(e.contains("exceeds"), "{e}"),
            other => panic!("not refused as a bomb: {other:?}"),
        }
    }

    use super::*;

    #[test]
    fn ascii_and_json_agree() {
        // Cells 1..3 at order 3 and cell 17 at order 4; the JSON says the same.
        let a = parse_moc(b"3/1-3 4/17\n").unwrap();
        let j = parse_moc(br#"{"3":[1,2,3],"4":[17]}"#).unwrap();
        assert_eq!(a, j);
        assert_eq!(a.depth_max(), 4);
        let expect = Moc::from_cells(4, [(3, 1), (3, 2), (3, 3), (4, 17)]);
        assert_eq!(a.ranges(), expect.ranges());
        // A point at the centre of order-3 cell 2 is inside; cell 5's centre is not.
        for (cell, inside) in [(2u64, true), (5, false), (0, false)] {
            let (lon, lat) = cdshealpix::nested::center(3, cell);
            assert_eq!(
                a.contains(lon.to_degrees(), lat.to_degrees()),
                inside,
                "cell {cell}"
            );
        }
        let (lon, lat) = cdshealpix::nested::center(4, 17);
        assert!(j.contains(lon.to_degrees(), lat.to_degrees()));
        // Order-4 cell 17 is 1/64 of the sky / 4 ... area check: 3 cells of 1/768 + 1 of 1/3072.
        let frac = 3.0 / 768.0 + 1.0 / 3072.0;
        assert!((a.sky_fraction() - frac).abs() < 1e-15);
        // The ASCII form round-trips.
        assert_eq!(
            parse_moc(a.to_ascii().as_bytes()).unwrap().ranges(),
            a.ranges()
        );
        // And FITS writing round-trips through the parser.
        assert_eq!(parse_moc(&a.to_fits()).unwrap().ranges(), a.ranges());
    }

    #[test]
    fn garbage_is_an_error() {
        // `3/` alone is a valid, empty MOC of order 3 (the IVOA form declares depth so).
        assert!(parse_moc(b"3/").unwrap().is_empty());
        for bad in [
            &b""[..],
            b"   \n",
            b"hello world",
            b"3/1-",
            b"{\"3\": [1, 2",
            b"[1,2,3]",
            b"SIMPLE  = T",
            b"\x1f\x8b\x08\x00garbage",
            b"\xff\xfe\x00",
            b"{\"3\": [1, 2], \"4\": [4]}", // overlapping cells
        ] {
            assert!(
                parse_moc(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn index_uses_mask_and_ranges() {
        let mut idx = WatchmapIndex::new();
        idx.insert(1, Moc::from_cells(3, [(3, 2)]));
        idx.insert(2, Moc::from_cells(0, [(0, 0)]));
        idx.insert(3, Moc::from_cells(5, [(5, 2 * 16 + 3)]));
        let (lon, lat) = cdshealpix::nested::center(5, 2 * 16 + 3);
        assert_eq!(
            idx.containing(lon.to_degrees(), lat.to_degrees()),
            [1, 2, 3]
        );
        let (lon, lat) = cdshealpix::nested::center(5, 2 * 16 + 4);
        assert_eq!(idx.containing(lon.to_degrees(), lat.to_degrees()), [1, 2]);
        assert!(idx.containing(f64::NAN, 1.0).is_empty());
        assert_eq!(idx.len(), 3);
    }
}
