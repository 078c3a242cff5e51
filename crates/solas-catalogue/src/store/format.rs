//! Byte layout of one stored catalogue (all little-endian):
//!
//! - `rows.bin`: one 48-byte record per row, sorted by HEALPix cell at the catalogue's
//!   index depth: unit vector x, y, z (f64, for a dot-product pre-filter), RA, Dec (f64,
//!   degrees, exactly as loaded) and the u64 offset of the row's attributes in `attrs.bin`.
//! - `attrs.bin`: per row, `u16` id length + id, `u16` type length (0xFFFF = none) + type,
//!   `u8` magnitude-filter index into the description's `mags` (0xFF = none), then seven
//!   f64 (NaN = none): mag, mag_err, z, photoz, photoz_err, distance_mpc, semi-major axis ″.
//! - `cells.bin`: `12·4^depth + 1` u64: row `cells[c]..cells[c+1]` of `rows.bin` lie in
//!   cell `c` (nested scheme).

use crate::CatalogueRow;

pub(crate) const ROW_BYTES: usize = 48;
const NO_TYPE: u16 = u16::MAX;
const NO_FILTER: u8 = u8::MAX;

pub(crate) fn put_row(rows: &mut Vec<u8>, xyz: [f64; 3], ra: f64, dec: f64, attr_offset: u64) {
    for v in [xyz[0], xyz[1], xyz[2], ra, dec] {
        rows.extend_from_slice(&v.to_le_bytes());
    }
    rows.extend_from_slice(&attr_offset.to_le_bytes());
}

/// Appends the attributes of `row`; `filter` is its magnitude filter's index.
pub(crate) fn put_attrs(out: &mut Vec<u8>, row: &CatalogueRow, filter: Option<u8>) {
    // Ids and types longer than 64 KiB are cut; no real catalogue comes near that.
    let put_str = |out: &mut Vec<u8>, s: &str| {
        let mut end = s.len().min(u16::MAX as usize - 1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        out.extend_from_slice(&(end as u16).to_le_bytes());
        out.extend_from_slice(&s.as_bytes()[..end]);
    };
    put_str(out, &row.id);
    match &row.object_type {
        Some(t) => put_str(out, t),
        None => out.extend_from_slice(&NO_TYPE.to_le_bytes()),
    }
    out.push(filter.unwrap_or(NO_FILTER));
    for v in [
        row.mag,
        row.mag_err,
        row.z,
        row.photoz,
        row.photoz_err,
        row.distance_mpc,
        row.semi_major_axis_arcsec,
    ] {
        out.extend_from_slice(&v.unwrap_or(f64::NAN).to_le_bytes());
    }
}

#[inline]
pub(crate) fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes the attributes at `offset`; None if the file is corrupt there.
pub(crate) fn get_attrs(
    b: &[u8],
    offset: usize,
    filters: &[String],
    row: &mut CatalogueRow,
) -> Option<()> {
    let mut p = offset;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = b.get(p..p.checked_add(n)?)?;
        p += n;
        Some(s)
    };
    let len = u16::from_le_bytes(take(2)?.try_into().ok()?);
    row.id = String::from_utf8_lossy(take(len as usize)?).into_owned();
    let len = u16::from_le_bytes(take(2)?.try_into().ok()?);
    row.object_type = if len == NO_TYPE {
        None
    } else {
        Some(String::from_utf8_lossy(take(len as usize)?).into_owned())
    };
    let f = take(1)?[0];
    let mut vals = [None; 7];
    for v in &mut vals {
        let x = f64::from_le_bytes(take(8)?.try_into().ok()?);
        *v = (!x.is_nan()).then_some(x);
    }
    let [mag, mag_err, z, photoz, photoz_err, distance, smaj] = vals;
    row.mag = mag;
    row.mag_filter = if f == NO_FILTER {
        None
    } else {
        filters.get(f as usize).cloned()
    };
    row.mag_err = mag_err;
    row.z = z;
    row.photoz = photoz;
    row.photoz_err = photoz_err;
    row.distance_mpc = distance;
    row.semi_major_axis_arcsec = smaj;
    Some(())
}
