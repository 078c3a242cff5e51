//! Binary tables (BINTABLE): the numeric columns of the fixed-width part (TFORM B, I, J,
//! K, E, D with any repeat count; TSCAL/TZERO applied), as the skymaps and MOCs need.

use crate::{FitsError, Hdu, Header};

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
pub struct Column {
    pub name: String,
    offset: usize,
    repeat: usize,
    kind: Kind,
    scale: f64,
    zero: f64,
}

/// A BINTABLE HDU's fixed-width part.
pub struct BinTable<'a> {
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
    pub fn new(hdu: &'a Hdu<'a>) -> Result<Self, FitsError> {
        Self::layout(hdu).map_err(FitsError::Unusable)
    }

    fn layout(hdu: &'a Hdu<'a>) -> Result<Self, String> {
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
