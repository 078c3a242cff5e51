//! Solas's one FITS reader, for everything it reads in FITS: alert cutouts (trimmed to
//! their image, drawn as PNG), GW skymaps and MOCs (binary tables), catalogue tables and
//! the SFD dust maps (images). 2880-byte blocks of 80-character header cards, HDUs in
//! sequence ([`hdus`]), BINTABLE columns of fixed-width big-endian values ([`table`]) and
//! 2-D images with BSCALE/BZERO ([`image`]), plus gunzip bounded by the caller's cap.
//!
//! Hand-written, not `fitsrs`: fed hostile files (users upload skymaps and MOCs, alerts carry
//! cutouts), fitsrs 0.4.1 panics on a card holding a lone quote, aborts on a huge ZNAXIS,
//! hangs on a huge TFIELDS, and misreads `8X` and `0K` columns without an error. Here every
//! size read from a header is checked against the bytes present, and NAXIS and TFIELDS are
//! bounded; `fuzz/` runs the readers on mutated real files.

pub mod image;
pub mod table;

pub use image::ImageHdu;
pub use table::{BinTable, Column};

use std::collections::HashMap;
use std::io::Read;

/// FITS block size: headers and data units are padded to it.
pub const BLOCK: usize = 2880;
const CARD: usize = 80;

/// Why a FITS file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitsError {
    #[error("not a FITS file (no SIMPLE card)")]
    NotFits,
    #[error("gzip: {0}")]
    Gzip(String),
    #[error("gzip: decompressed size exceeds {0} bytes")]
    TooLarge(u64),
    /// A header or data unit that breaks the standard or does not fit the bytes present.
    #[error("HDU {hdu}: {reason}")]
    Hdu { hdu: usize, reason: String },
    /// Readable FITS, but not what the caller needs (no BINTABLE, no image, a bad column).
    #[error("{0}")]
    Unusable(String),
}

/// The input, decompressed if it is gzip (magic `1f 8b`), otherwise borrowed as is. The
/// output is counted while it inflates and refused one byte past `cap`.
pub fn maybe_gunzip(bytes: &[u8], cap: u64) -> Result<std::borrow::Cow<'_, [u8]>, FitsError> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(cap + 1)
            .read_to_end(&mut out)
            .map_err(|e| FitsError::Gzip(e.to_string()))?;
        if out.len() as u64 > cap {
            return Err(FitsError::TooLarge(cap));
        }
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// Header keywords of one HDU: values with strings unquoted and trimmed.
#[derive(Debug, Default, Clone)]
pub struct Header {
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

    /// A non-negative integer keyword; the message says which is missing or bad.
    pub(crate) fn get_usize(&self, key: &str) -> Result<usize, String> {
        let v = self.get(key).ok_or_else(|| format!("missing {key}"))?;
        v.parse::<usize>()
            .map_err(|_| format!("{key} = {v:?} is not a non-negative integer"))
    }
}

/// One header-and-data unit.
pub struct Hdu<'a> {
    pub header: Header,
    /// Its data, exactly as long as the header says.
    pub data: &'a [u8],
    /// Where the unit starts in the file (its first header card) and ends (after its
    /// data's padding, or at the end of the file when the last unit is not padded).
    pub start: usize,
    pub end: usize,
}

/// Splits a FITS file into its HDUs. The last HDU's data may end without padding, but
/// must be complete.
pub fn hdus(bytes: &[u8]) -> Result<Vec<Hdu<'_>>, FitsError> {
    HduIter::new(bytes).collect()
}

/// The HDUs of a file one at a time, each read only when asked for: a reader that needs
/// the first image (a cutout) or the n-th table (a catalogue) does not depend on the rest
/// of the file. Ends after the first error.
pub struct HduIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    n: usize,
    failed: bool,
}

impl<'a> HduIter<'a> {
    pub fn new(bytes: &'a [u8]) -> HduIter<'a> {
        HduIter {
            bytes,
            pos: 0,
            n: 0,
            failed: false,
        }
    }

    fn read(&mut self) -> Result<Hdu<'a>, FitsError> {
        let (bytes, n) = (self.bytes, self.n);
        if n == 0 && !bytes.starts_with(b"SIMPLE  =") {
            return Err(FitsError::NotFits);
        }
        let hdu_error = |reason: String| FitsError::Hdu { hdu: n, reason };
        let (header, data_start) = parse_header(bytes, self.pos).map_err(hdu_error)?;
        let size = data_size(&header).map_err(hdu_error)?;
        let data_end = data_start
            .checked_add(size)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                hdu_error(format!(
                    "truncated: header announces {size} data bytes, {} present",
                    bytes.len().saturating_sub(data_start)
                ))
            })?;
        let start = self.pos;
        self.pos = data_start.saturating_add(size.div_ceil(BLOCK).saturating_mul(BLOCK));
        self.n += 1;
        Ok(Hdu {
            header,
            data: &bytes[data_start..data_end],
            start,
            end: self.pos.min(bytes.len()),
        })
    }
}

impl<'a> Iterator for HduIter<'a> {
    type Item = Result<Hdu<'a>, FitsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || (self.n > 0 && self.pos >= self.bytes.len()) {
            return None;
        }
        // Trailing zero padding after the last HDU is allowed.
        if self.n > 0 && self.bytes[self.pos..].iter().all(|&b| b == 0 || b == b' ') {
            return None;
        }
        let hdu = self.read();
        self.failed = hdu.is_err();
        Some(hdu)
    }
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

/// A FITS file with an empty primary HDU and one binary table: `extra` header cards
/// (key, value as FITS writes it), `cols` (name, TFORM), `data` the rows' big-endian bytes,
/// `row_len` bytes each. Solas writes the skymaps it makes this way (a GCN notice's error
/// circle); the crates that read FITS test with it. Written by hand: a header of a dozen
/// cards and padding to 2,880 bytes is all a table needs.
pub fn bintable_file(
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

/// Small FITS files made in memory, for the tests of the crates that read FITS.
#[doc(hidden)]
pub mod testing {
    pub use crate::bintable_file as bintable;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::bintable;

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

    fn hdus_and_table(b: &[u8]) -> Result<(), FitsError> {
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
