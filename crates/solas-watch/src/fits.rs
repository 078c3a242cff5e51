//! Just enough FITS to read a HEALPix binary table: 2880-byte blocks of 80-character
//! header cards, HDUs in sequence, and BINTABLE columns of fixed-width big-endian numbers
//! (TFORM B, I, J, K, E, D with any repeat count; TSCAL/TZERO applied), plus gzip.
//!
//! Hand-written like the reader in `solas-catalogue`: the skymap tables need nothing more,
//! and a general FITS crate would add weight without removing any of this code. Every size
//! read from a header is checked against the bytes actually present.

use std::collections::HashMap;
use std::io::Read;

const BLOCK: usize = 2880;
const CARD: usize = 80;

/// Largest decompressed skymap, so a small gzip bomb cannot exhaust memory. A flat
/// NSIDE 2048 skymap with four f64 columns is 1.6 GB; this leaves room above that. Only
/// the operator loads skymaps (`solas event add`).
pub(crate) const MAX_SKYMAP_BYTES: u64 = 4 << 30;

/// Largest decompressed MOC. Real MOCs are KB to a few MB (a whole-sky order-29 MOC is a
/// handful of ranges); users upload them, and a 4.4 MB gzip bomb once made the web server
/// hold 4 GB under the skymap cap (audit finding F2).
pub(crate) const MAX_MOC_BYTES: u64 = 64 << 20;

/// The input, decompressed if it is gzip (magic `1f 8b`), otherwise borrowed as is. The
/// output is counted while it inflates and refused one byte past `cap`.
pub(crate) fn maybe_gunzip(bytes: &[u8], cap: u64) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(cap + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        if out.len() as u64 > cap {
            return Err(format!("gzip: decompressed size exceeds {cap} bytes"));
        }
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// Header keywords of one HDU: values with strings unquoted and trimmed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Header {
    cards: HashMap<String, String>,
}

impl Header {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.cards.get(key).map(String::as_str)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        // FITS allows a 'D' exponent (Fortran style).
        self.get(key)?.replace(['D', 'd'], "E").parse().ok()
    }

    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key)?.parse().ok()
    }

    fn get_usize(&self, key: &str) -> Result<usize, String> {
        let v = self.get(key).ok_or_else(|| format!("missing {key}"))?;
        v.parse::<usize>()
            .map_err(|_| format!("{key} = {v:?} is not a non-negative integer"))
    }
}

/// One header-and-data unit.
pub(crate) struct Hdu<'a> {
    pub header: Header,
    pub data: &'a [u8],
}

/// Splits a FITS file into its HDUs. The last HDU's data may end without padding, but
/// must be complete.
pub(crate) fn hdus(bytes: &[u8]) -> Result<Vec<Hdu<'_>>, String> {
    if !bytes.starts_with(b"SIMPLE  =") {
        return Err("not a FITS file (no SIMPLE card)".into());
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        // Trailing zero padding after the last HDU is allowed.
        if !out.is_empty() && bytes[pos..].iter().all(|&b| b == 0 || b == b' ') {
            break;
        }
        let n = out.len();
        let (header, data_start) = parse_header(bytes, pos).map_err(|m| format!("HDU {n}: {m}"))?;
        let size = data_size(&header).map_err(|m| format!("HDU {n}: {m}"))?;
        let data_end = data_start
            .checked_add(size)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                format!(
                    "HDU {n}: truncated: header announces {size} data bytes, {} present",
                    bytes.len().saturating_sub(data_start)
                )
            })?;
        out.push(Hdu {
            header,
            data: &bytes[data_start..data_end],
        });
        pos = data_start.saturating_add(size.div_ceil(BLOCK).saturating_mul(BLOCK));
    }
    Ok(out)
}

fn parse_header(bytes: &[u8], start: usize) -> Result<(Header, usize), String> {
    let mut cards = HashMap::new();
    let mut pos = start;
    loop {
        let card = bytes
            .get(pos..pos + CARD)
            .ok_or("header ends without an END card")?;
        pos += CARD;
        let Ok(card) = std::str::from_utf8(card) else {
            return Err("non-ASCII header card".into());
        };
        if !card.is_ascii() {
            return Err("non-ASCII header card".into());
        }
        let key = card[..8].trim_end();
        if key == "END" {
            return Ok((Header { cards }, pos.div_ceil(BLOCK) * BLOCK));
        }
        if &card[8..10] != "= " {
            continue; // COMMENT, HISTORY, blank, CONTINUE
        }
        cards
            .entry(key.to_string())
            .or_insert_with(|| card_value(&card[10..]));
    }
}

/// The value of a card: a quoted string (with `''` for a quote), or the text before a
/// `/` comment.
fn card_value(v: &str) -> String {
    let v = v.trim_start();
    if let Some(rest) = v.strip_prefix('\'') {
        let mut s = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    s.push('\'');
                    chars.next();
                } else {
                    break;
                }
            } else {
                s.push(c);
            }
        }
        s.trim_end().to_string()
    } else {
        v.split('/').next().unwrap_or("").trim().to_string()
    }
}

/// Bytes of data after a header: |BITPIX|/8 × GCOUNT × (PCOUNT + NAXIS1 × … × NAXISn).
fn data_size(h: &Header) -> Result<usize, String> {
    let naxis = h.get_usize("NAXIS")?;
    if naxis == 0 {
        return Ok(0);
    }
    if naxis > 999 {
        return Err(format!("NAXIS = {naxis} is out of range"));
    }
    let bitpix = h
        .get_i64("BITPIX")
        .ok_or("missing or bad BITPIX")?
        .unsigned_abs();
    if ![8, 16, 32, 64].contains(&bitpix) {
        return Err(format!("BITPIX = {bitpix} is not valid"));
    }
    let mut n: usize = 1;
    for i in 1..=naxis {
        n = n
            .checked_mul(h.get_usize(&format!("NAXIS{i}"))?)
            .ok_or("data size overflows")?;
    }
    let pcount = if h.get("PCOUNT").is_some() {
        h.get_usize("PCOUNT")?
    } else {
        0
    };
    let gcount = if h.get("GCOUNT").is_some() {
        h.get_usize("GCOUNT")?
    } else {
        1
    };
    n.checked_add(pcount)
        .and_then(|n| n.checked_mul(gcount))
        .and_then(|n| n.checked_mul(bitpix as usize / 8))
        .ok_or_else(|| "data size overflows".to_string())
}

/// The type of a binary-table column element.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    U8,
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl Kind {
    fn size(self) -> usize {
        match self {
            Kind::U8 => 1,
            Kind::I16 => 2,
            Kind::I32 | Kind::F32 => 4,
            Kind::I64 | Kind::F64 => 8,
        }
    }
}

/// One numeric column of a binary table.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    offset: usize,
    repeat: usize,
    kind: Kind,
    scale: f64,
    zero: f64,
}

/// A BINTABLE HDU's fixed-width part.
pub(crate) struct BinTable<'a> {
    pub header: &'a Header,
    data: &'a [u8],
    rows: usize,
    row_len: usize,
    columns: Vec<Column>,
}

impl<'a> BinTable<'a> {
    /// Reads the column layout of a BINTABLE HDU. Columns of types this reader does not
    /// decode (strings, logicals, bits, complex, variable-length) are skipped, not errors:
    /// a skymap may carry extra columns that are not needed.
    pub fn new(hdu: &'a Hdu<'a>) -> Result<Self, String> {
        let h = &hdu.header;
        if h.get("XTENSION") != Some("BINTABLE") {
            return Err("HDU is not a BINTABLE".into());
        }
        let row_len = h.get_usize("NAXIS1")?;
        let rows = h.get_usize("NAXIS2")?;
        let fields = h.get_usize("TFIELDS")?;
        if fields > 999 {
            return Err(format!("TFIELDS = {fields} is out of range"));
        }
        if row_len.checked_mul(rows).is_none_or(|n| n > hdu.data.len()) {
            return Err("table rows exceed the data present".into());
        }
        let mut columns = Vec::new();
        let mut offset = 0usize;
        for i in 1..=fields {
            let tform = h
                .get(&format!("TFORM{i}"))
                .ok_or_else(|| format!("missing TFORM{i}"))?
                .trim();
            let (repeat, code) =
                split_tform(tform).ok_or_else(|| format!("bad TFORM{i} {tform:?}"))?;
            let width = match code {
                'L' | 'A' | 'B' => repeat,
                'X' => repeat.div_ceil(8),
                'I' => repeat * 2,
                'J' | 'E' => repeat * 4,
                'K' | 'D' | 'C' => repeat * 8,
                'M' => repeat * 16,
                'P' => repeat.min(1) * 8,
                'Q' => repeat.min(1) * 16,
                _ => return Err(format!("unknown TFORM{i} type {code:?}")),
            };
            let kind = match code {
                'B' => Some(Kind::U8),
                'I' => Some(Kind::I16),
                'J' => Some(Kind::I32),
                'K' => Some(Kind::I64),
                'E' => Some(Kind::F32),
                'D' => Some(Kind::F64),
                _ => None,
            };
            if let (Some(kind), true) = (kind, repeat > 0) {
                columns.push(Column {
                    name: h
                        .get(&format!("TTYPE{i}"))
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    offset,
                    repeat,
                    kind,
                    scale: h.get_f64(&format!("TSCAL{i}")).unwrap_or(1.0),
                    zero: h.get_f64(&format!("TZERO{i}")).unwrap_or(0.0),
                });
            }
            offset = offset.checked_add(width).ok_or("row width overflows")?;
        }
        if offset > row_len {
            return Err(format!(
                "columns need {offset} bytes per row but NAXIS1 = {row_len}"
            ));
        }
        Ok(BinTable {
            header: h,
            data: hdu.data,
            rows,
            row_len,
            columns,
        })
    }

    /// The column named `name` (case-insensitive), if it is numeric.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Number of elements in a column: rows × repeat. A flat HEALPix map written with
    /// `1024E` columns holds 1024 pixels per row, in order.
    pub fn len(&self, col: &Column) -> usize {
        self.rows * col.repeat
    }

    fn raw(&self, col: &Column, i: usize) -> &[u8] {
        let (row, k) = (i / col.repeat, i % col.repeat);
        let at = row * self.row_len + col.offset + k * col.kind.size();
        &self.data[at..at + col.kind.size()]
    }

    /// Element `i` (< `len`) as a float, TSCAL/TZERO applied.
    pub fn f64_at(&self, col: &Column, i: usize) -> f64 {
        let b = self.raw(col, i);
        let v = match col.kind {
            Kind::U8 => b[0] as f64,
            Kind::I16 => i16::from_be_bytes([b[0], b[1]]) as f64,
            Kind::I32 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Kind::I64 => i64::from_be_bytes(b8(b)) as f64,
            Kind::F32 => f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Kind::F64 => f64::from_be_bytes(b8(b)),
        };
        if col.scale == 1.0 && col.zero == 0.0 {
            v
        } else {
            col.zero + col.scale * v
        }
    }

    /// Element `i` of an integer column as an unsigned integer, exactly (no float
    /// round trip): `None` for a negative value or a non-integer column. The FITS
    /// convention for unsigned 64-bit (TZERO = 2^63) is honoured.
    pub fn u64_at(&self, col: &Column, i: usize) -> Option<u64> {
        let b = self.raw(col, i);
        let v: i64 = match col.kind {
            Kind::U8 => b[0] as i64,
            Kind::I16 => i16::from_be_bytes([b[0], b[1]]) as i64,
            Kind::I32 => i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as i64,
            Kind::I64 => i64::from_be_bytes(b8(b)),
            Kind::F32 | Kind::F64 => return None,
        };
        if col.scale != 1.0 {
            return None;
        }
        if col.kind == Kind::I64 && col.zero == 9_223_372_036_854_775_808.0 {
            return Some((v as u64) ^ (1 << 63));
        }
        if col.zero != 0.0 {
            if col.zero.fract() != 0.0 || col.zero.abs() > 1e15 {
                return None;
            }
            return u64::try_from(v.checked_add(col.zero as i64)?).ok();
        }
        u64::try_from(v).ok()
    }
}

fn b8(b: &[u8]) -> [u8; 8] {
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// `1024E` → (1024, 'E'); `D` → (1, 'D'); `1PE(5)` → (1, 'P').
fn split_tform(t: &str) -> Option<(usize, char)> {
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let repeat = if digits == 0 {
        1
    } else {
        t[..digits].parse().ok()?
    };
    let code = t[digits..].chars().next()?;
    Some((repeat, code))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a FITS file with an empty primary HDU and one BINTABLE; used by tests
    /// across the crate. `cols` are (name, tform); `rows` are the raw big-endian bytes.
    pub(crate) fn bintable(
        extra: &[(&str, &str)],
        cols: &[(&str, &str)],
        row_len: usize,
        data: &[u8],
    ) -> Vec<u8> {
        fn card(out: &mut Vec<u8>, s: &str) {
            let mut c = s.as_bytes().to_vec();
            c.resize(80, b' ');
            out.extend_from_slice(&c);
        }
        fn pad(out: &mut Vec<u8>, fill: u8) {
            let len = out.len().div_ceil(2880) * 2880;
            out.resize(len, fill);
        }
        let mut out = Vec::new();
        card(&mut out, "SIMPLE  =                    T");
        card(&mut out, "BITPIX  =                    8");
        card(&mut out, "NAXIS   =                    0");
        card(&mut out, "END");
        pad(&mut out, b' ');
        card(&mut out, "XTENSION= 'BINTABLE'");
        card(&mut out, "BITPIX  =                    8");
        card(&mut out, "NAXIS   =                    2");
        card(&mut out, &format!("NAXIS1  = {row_len:>20}"));
        card(
            &mut out,
            &format!("NAXIS2  = {:>20}", data.len() / row_len.max(1)),
        );
        card(&mut out, "PCOUNT  =                    0");
        card(&mut out, "GCOUNT  =                    1");
        card(&mut out, &format!("TFIELDS = {:>20}", cols.len()));
        for (i, (name, tform)) in cols.iter().enumerate() {
            card(&mut out, &format!("TTYPE{:<3}= '{name}'", i + 1));
            card(&mut out, &format!("TFORM{:<3}= '{tform}'", i + 1));
        }
        for (k, v) in extra {
            card(&mut out, &format!("{k:<8}= {v}"));
        }
        card(&mut out, "END");
        pad(&mut out, b' ');
        out.extend_from_slice(data);
        pad(&mut out, 0);
        out
    }

    #[test]
    fn reads_columns_and_rejects_truncation() {
        let mut data = Vec::new();
        for (u, p) in [(4u64 * 4 + 1, 0.5f64), (4 * 4 + 2, 0.25)] {
            data.extend_from_slice(&(u as i64).to_be_bytes());
            data.extend_from_slice(&(p as f32).to_be_bytes());
        }
        let f = bintable(
            &[("OBJECT", "'S1 ''x'''")],
            &[("UNIQ", "K"), ("P", "E")],
            12,
            &data,
        );
        let hdus = hdus(&f).unwrap();
        assert_eq!(hdus.len(), 2);
        assert_eq!(hdus[1].header.get("OBJECT"), Some("S1 'x'"));
        let t = BinTable::new(&hdus[1]).unwrap();
        let (u, p) = (t.column("uniq").unwrap(), t.column("P").unwrap());
        assert_eq!(t.len(u), 2);
        assert_eq!(t.u64_at(u, 1), Some(18));
        assert_eq!(t.f64_at(p, 0), 0.5);
        assert_eq!(t.u64_at(p, 0), None);
        // Cut anywhere: an error, never a panic.
        for cut in (0..f.len()).step_by(97) {
            let _ = hdus_and_table(&f[..cut]);
        }
        assert!(super::hdus(&f[..2880 + 2880 + 10]).is_err());
    }

    fn hdus_and_table(b: &[u8]) -> Result<(), String> {
        let h = hdus(b)?;
        for hdu in &h {
            if hdu.header.get("XTENSION").is_some() {
                BinTable::new(hdu)?;
            }
        }
        Ok(())
    }

    #[test]
    fn gzip_detection() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"SIMPLE  = hello").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(&*maybe_gunzip(&gz, 100).unwrap(), b"SIMPLE  = hello");
        assert_eq!(&*maybe_gunzip(b"plain", 100).unwrap(), b"plain");
        assert!(maybe_gunzip(&gz[..gz.len() / 2], 100).is_err());
        assert!(maybe_gunzip(&gz, 10).is_err(), "past the cap");
    }
}
