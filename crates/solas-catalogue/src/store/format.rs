//! Byte layout of one stored catalogue, format 2 (all little-endian):
//!
//! - `pos.bin`: one 16-byte record per row, RA and Dec (f64, degrees, exactly as loaded),
//!   sorted by HEALPix cell (nested) at the catalogue's index depth. A cone reads only these
//!   for the rows it rejects.
//! - `attrs.bin`: per row, in the same order, a LEB128 length and then the attributes
//!   (see [`put_attrs`]): id (a u64 when it is a plain decimal number, else text), type,
//!   magnitude filter, and a bit mask of the values present followed by those values as f64
//!   (mag, mag_err, z, photoz, photoz_err, distance, semi-major axis, pm_ra, pm_dec, parallax).
//! - `cells.bin`: `12·4^depth + 1` pairs of u64: the first row of cell `c` in `pos.bin` and
//!   the byte where its attributes start in `attrs.bin`; the last pair holds the totals.
//!
//! Format 1 stored a unit vector and an attribute offset with every row and seven f64 for
//! every row's attributes: 117 B/row on the shared catalogues, 120 GB for Gaia. Format 2 is
//! ~16 B + the attributes a row has (an integer id and one magnitude: ~35 B/row).

use crate::CatalogueRow;

pub(crate) const POS_BYTES: usize = 16;
pub(crate) const CELL_BYTES: usize = 16;

const HAS_TYPE: u8 = 1;
const HAS_FILTER: u8 = 2;
const NUMERIC_ID: u8 = 4;

/// The optional values of a row in mask-bit order.
fn values(row: &CatalogueRow) -> [Option<f64>; 10] {
    [
        row.mag,
        row.mag_err,
        row.z,
        row.photoz,
        row.photoz_err,
        row.distance_mpc,
        row.semi_major_axis_arcsec,
        row.pm_ra_mas_yr,
        row.pm_dec_mas_yr,
        row.parallax_mas,
    ]
}

pub(crate) fn put_pos(out: &mut Vec<u8>, ra: f64, dec: f64) {
    out.extend_from_slice(&ra.to_le_bytes());
    out.extend_from_slice(&dec.to_le_bytes());
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 number at `*p`, moving `*p` past it; None past the end or over 64 bits.
pub(crate) fn get_varint(b: &[u8], p: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*p)?;
        *p += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// An id is stored as a number when printing the number gives the id back.
fn numeric_id(id: &str) -> Option<u64> {
    let n: u64 = id.parse().ok()?;
    (n.to_string() == id).then_some(n)
}

/// Appends the length-prefixed attributes of `row`; `filter` is its magnitude filter's index.
pub(crate) fn put_attrs(out: &mut Vec<u8>, row: &CatalogueRow, filter: Option<u8>) {
    let mut body = Vec::with_capacity(48);
    let id = numeric_id(&row.id);
    let flags = u8::from(row.object_type.is_some()) * HAS_TYPE
        + u8::from(filter.is_some()) * HAS_FILTER
        + u8::from(id.is_some()) * NUMERIC_ID;
    body.push(flags);
    let vals = values(row);
    let mask = vals
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_some_and(f64::is_finite))
        .fold(0u16, |m, (i, _)| m | 1 << i);
    body.extend_from_slice(&mask.to_le_bytes());
    match id {
        Some(n) => put_varint(&mut body, n),
        None => put_text(&mut body, &row.id),
    }
    if let Some(t) = &row.object_type {
        put_text(&mut body, t);
    }
    if let Some(f) = filter {
        body.push(f);
    }
    for v in vals.into_iter().flatten().filter(|v| v.is_finite()) {
        body.extend_from_slice(&v.to_le_bytes());
    }
    put_varint(out, body.len() as u64);
    out.extend_from_slice(&body);
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[inline]
pub(crate) fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Whether a length-prefixed attribute record has a proper motion (from its mask alone).
pub(crate) fn has_proper_motion(b: &[u8]) -> bool {
    let mut p = 0;
    if get_varint(b, &mut p).is_none() {
        return false;
    }
    match b.get(p + 1..p + 3) {
        Some(m) => u16::from_le_bytes([m[0], m[1]]) & (0b11 << 7) != 0,
        None => false,
    }
}

/// Moves `*p` past one length-prefixed attribute record; None if the file is corrupt there.
pub(crate) fn skip_attrs(b: &[u8], p: &mut usize) -> Option<()> {
    let len = usize::try_from(get_varint(b, p)?).ok()?;
    *p = p.checked_add(len).filter(|&end| end <= b.len())?;
    Some(())
}

/// Decodes the record at `*p` into `row`, moving `*p` past it; None if corrupt.
pub(crate) fn get_attrs(
    b: &[u8],
    p: &mut usize,
    filters: &[String],
    row: &mut CatalogueRow,
) -> Option<()> {
    let len = usize::try_from(get_varint(b, p)?).ok()?;
    let end = p.checked_add(len)?;
    let body = b.get(*p..end)?;
    *p = end;
    let mut c = Cursor { b: body, p: 0 };
    let flags = c.take(1)?[0];
    let mask = u16::from_le_bytes(c.take(2)?.try_into().ok()?);
    row.id = if flags & NUMERIC_ID != 0 {
        c.varint()?.to_string()
    } else {
        c.text()?
    };
    row.object_type = if flags & HAS_TYPE != 0 {
        Some(c.text()?)
    } else {
        None
    };
    row.mag_filter = if flags & HAS_FILTER != 0 {
        filters.get(c.take(1)?[0] as usize).cloned()
    } else {
        None
    };
    let mut vals = [None; 10];
    for (i, v) in vals.iter_mut().enumerate() {
        if mask & (1 << i) != 0 {
            *v = Some(f64::from_le_bytes(c.take(8)?.try_into().ok()?));
        }
    }
    let [mag, mag_err, z, photoz, photoz_err, distance, smaj, pm_ra, pm_dec, parallax] = vals;
    row.mag = mag;
    row.mag_err = mag_err;
    row.z = z;
    row.photoz = photoz;
    row.photoz_err = photoz_err;
    row.distance_mpc = distance;
    row.semi_major_axis_arcsec = smaj;
    row.pm_ra_mas_yr = pm_ra;
    row.pm_dec_mas_yr = pm_dec;
    row.parallax_mas = parallax;
    Some(())
}

/// Reads one attribute record's fields in order.
struct Cursor<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }

    fn varint(&mut self) -> Option<u64> {
        get_varint(self.b, &mut self.p)
    }

    fn text(&mut self) -> Option<String> {
        let len = usize::try_from(self.varint()?).ok()?;
        Some(String::from_utf8_lossy(self.take(len)?).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> CatalogueRow {
        CatalogueRow {
            catalogue: 0,
            id: id.into(),
            ra: 1.0,
            dec: 2.0,
            object_type: Some("RRAB".into()),
            mag: Some(12.5),
            mag_filter: Some("V".into()),
            mag_err: None,
            z: Some(0.01),
            photoz: None,
            photoz_err: None,
            distance_mpc: None,
            semi_major_axis_arcsec: Some(3.0),
            pm_ra_mas_yr: Some(-801.551),
            pm_dec_mas_yr: Some(10362.394),
            parallax_mas: Some(546.976),
        }
    }

    #[test]
    fn attributes_read_back_as_written() {
        let filters = vec!["B".to_string(), "V".to_string()];
        for id in [
            "4472832130942575872",
            "007",
            "NGC 7814",
            "",
            "18446744073709551615",
        ] {
            let mut out = Vec::new();
            put_attrs(&mut out, &row(id), Some(1));
            put_attrs(&mut out, &row("next"), Some(1));
            let mut back = row("x");
            back.mag = None;
            let mut p = 0;
            get_attrs(&out, &mut p, &filters, &mut back).unwrap();
            let mut want = row(id);
            want.ra = back.ra;
            want.dec = back.dec;
            assert_eq!(back, want, "{id}");
            let mut q = 0;
            skip_attrs(&out, &mut q).unwrap();
            assert_eq!(p, q);
            get_attrs(&out, &mut p, &filters, &mut back).unwrap();
            assert_eq!(back.id, "next");
            assert_eq!(p, out.len());
        }
    }

    #[test]
    fn a_truncated_record_is_none_not_a_panic() {
        let mut out = Vec::new();
        put_attrs(&mut out, &row("NGC 7814"), Some(0));
        for cut in 0..out.len() {
            let mut r = row("x");
            assert!(
                get_attrs(&out[..cut], &mut 0, &[], &mut r).is_none(),
                "{cut}"
            );
        }
    }
}
