//! FITS binary tables (BINTABLE): the HDUs are read by `solas-fits` (every size checked
//! against the bytes present), the rows here. Supported TFORM types: L, X, B, I, J, K, A,
//! E, D (a repeat count > 1 on a numeric type takes the first element); TSCAL/TZERO and
//! TNULL are applied. Variable-length arrays (P, Q) and complex types are decoded as null.

use std::borrow::Cow;
use std::path::Path;

use solas_fits::Header;

use super::{Cell, Sink};
use crate::CatalogueError;

pub(crate) fn read(path: &Path, hdu: usize, sink: &mut Sink) -> Result<(), CatalogueError> {
    // Mapped, not read: a table may be larger than memory, and the mapped pages are the
    // page cache's to drop once the rows have been passed on.
    let file = std::fs::File::open(path).map_err(|e| CatalogueError::io(path, e))?;
    // SAFETY: the catalogue file is only read during the load; a file truncated under a
    // running load is the operator's error (SIGBUS), as for any mapped input.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| CatalogueError::io(path, e))?;
    let data: &[u8] = &map;
    let err = |m: String| CatalogueError::format(path, m);
    // HDUs up to the table's, and no further.
    let n = hdu;
    let mut found = None;
    for (i, h) in solas_fits::HduIter::new(data).enumerate() {
        let h = h.map_err(|e| err(e.to_string()))?;
        if i == n {
            found = Some(h);
            break;
        }
    }
    let hdu = found.ok_or_else(|| err(format!("no HDU {n} in the file")))?;
    if hdu.header.get("XTENSION") != Some("BINTABLE") {
        return Err(err(format!("HDU {n} is not a BINTABLE")));
    }
    let table = Table::new(&hdu.header).map_err(|m| err(format!("HDU {n}: {m}")))?;
    let rows = table
        .row_len
        .checked_mul(table.rows)
        .and_then(|len| hdu.data.get(..len))
        .ok_or_else(|| {
            err(format!(
                "HDU {n}: file truncated ({} rows of {} bytes)",
                table.rows, table.row_len
            ))
        })?;
    let used = sink.header(&table.names())?;
    sink.expect_rows(table.rows as u64);
    let mut cells = vec![Cell::Null; table.columns.len()];
    for (r, row) in rows.chunks_exact(table.row_len.max(1)).enumerate() {
        for &c in &used {
            cells[c] = table.columns[c].decode(row);
        }
        sink.row(r as u64, r as u64, &cells)?;
    }
    Ok(())
}

fn int(h: &Header, key: &str) -> Result<i64, String> {
    h.get_i64(key)
        .ok_or_else(|| format!("missing or non-integer {key}"))
}

struct Table {
    row_len: usize,
    rows: usize,
    columns: Vec<Column>,
}

struct Column {
    name: String,
    offset: usize,
    repeat: usize,
    kind: u8,
    scale: f64,
    zero: f64,
    null: Option<i64>,
}

impl Table {
    fn new(cards: &Header) -> Result<Table, String> {
        let to_usize = |k: &str| {
            int(cards, k).and_then(|v| usize::try_from(v).map_err(|_| format!("negative {k}")))
        };
        let row_len = to_usize("NAXIS1")?;
        let rows = to_usize("NAXIS2")?;
        let fields = to_usize("TFIELDS")?;
        // The standard's bound: a header claiming more is not a table to reserve room for.
        if fields > 999 {
            return Err(format!("TFIELDS = {fields} is out of range"));
        }
        let mut columns = Vec::with_capacity(fields);
        let mut offset = 0;
        for i in 1..=fields {
            let form = cards
                .get(&format!("TFORM{i}"))
                .ok_or_else(|| format!("missing TFORM{i}"))?
                .trim();
            let digits = form.bytes().take_while(u8::is_ascii_digit).count();
            let repeat: usize = if digits == 0 {
                1
            } else {
                form[..digits]
                    .parse()
                    .map_err(|_| format!("bad TFORM{i}"))?
            };
            let kind = *form
                .as_bytes()
                .get(digits)
                .ok_or_else(|| format!("bad TFORM{i} {form:?}"))?;
            let width = match kind {
                b'L' | b'B' | b'A' => Some(repeat),
                b'X' => Some(repeat.div_ceil(8)),
                b'I' => repeat.checked_mul(2),
                b'J' | b'E' => repeat.checked_mul(4),
                b'K' | b'D' | b'C' | b'P' => repeat.checked_mul(8),
                b'M' | b'Q' => repeat.checked_mul(16),
                _ => return Err(format!("unsupported TFORM{i} {form:?}")),
            }
            .ok_or_else(|| format!("TFORM{i} {form:?}: width overflows"))?;
            let f = |k: &str, default: f64| {
                cards
                    .get(&format!("{k}{i}"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default)
            };
            columns.push(Column {
                name: cards
                    .get(&format!("TTYPE{i}"))
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("col{i}")),
                offset,
                repeat,
                kind,
                scale: f("TSCAL", 1.0),
                zero: f("TZERO", 0.0),
                null: cards.get(&format!("TNULL{i}")).and_then(|v| v.parse().ok()),
            });
            offset = offset
                .checked_add(width)
                .ok_or_else(|| format!("TFORM{i} {form:?}: row width overflows"))?;
        }
        if offset != row_len {
            return Err(format!(
                "columns take {offset} bytes but NAXIS1 is {row_len}"
            ));
        }
        Ok(Table {
            row_len,
            rows,
            columns,
        })
    }

    fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

impl Column {
    fn decode<'a>(&self, row: &'a [u8]) -> Cell<'a> {
        if self.repeat == 0 {
            return Cell::Null;
        }
        let b = &row[self.offset..];
        let int = |v: i64| {
            if self.null == Some(v) {
                Cell::Null
            } else if self.scale == 1.0
                && self.zero.fract() == 0.0
                && self.zero.abs() <= 2f64.powi(63)
            {
                // Exact, offsets included: unsigned 64-bit columns are K with TZERO = 2^63.
                let x = i128::from(v) + self.zero as i128;
                match i64::try_from(x) {
                    Ok(i) => Cell::Int(i),
                    Err(_) => Cell::Text(Cow::Owned(x.to_string())),
                }
            } else {
                Cell::Num(v as f64 * self.scale + self.zero)
            }
        };
        match self.kind {
            b'A' => {
                let raw = &b[..self.repeat];
                let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
                Cell::Text(match String::from_utf8_lossy(&raw[..end]) {
                    Cow::Borrowed(s) => Cow::Borrowed(s.trim_end()),
                    Cow::Owned(s) => Cow::Owned(s.trim_end().to_string()),
                })
            }
            b'L' => match b[0] {
                b'T' => Cell::Num(1.0),
                b'F' => Cell::Num(0.0),
                _ => Cell::Null,
            },
            b'B' => int(b[0] as i64),
            b'X' => Cell::Num(b[0] as f64),
            b'I' => int(i16::from_be_bytes([b[0], b[1]]) as i64),
            b'J' => int(i32::from_be_bytes(b[..4].try_into().expect("4 bytes")) as i64),
            b'K' => int(i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))),
            b'E' => Cell::Num(
                f32::from_be_bytes(b[..4].try_into().expect("4 bytes")) as f64 * self.scale
                    + self.zero,
            ),
            b'D' => Cell::Num(
                f64::from_be_bytes(b[..8].try_into().expect("8 bytes")) * self.scale + self.zero,
            ),
            _ => Cell::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in [
            "SIMPLE  =                    T",
            "BITPIX  =                    8",
            "NAXIS   =                    0",
            "END",
        ] {
            out.extend(format!("{c:<80}").into_bytes());
        }
        out.resize(solas_fits::BLOCK, b' ');
        let start = out.len();
        for c in cards.iter().copied().chain(["END"]) {
            out.extend(format!("{c:<80}").into_bytes());
        }
        out.resize(start + solas_fits::BLOCK, b' ');
        out
    }

    /// Table headers from mutated catalogue files: a huge TFIELDS, or a repeat count whose
    /// width overflows, are refused with a message, never a panic or a huge reservation.
    #[test]
    fn a_table_header_claiming_huge_sizes_is_refused_not_a_panic() {
        for cards in [
            &[
                "XTENSION= 'BINTABLE'",
                "BITPIX  = 8",
                "NAXIS   = 2",
                "NAXIS1  = 8",
                "NAXIS2  = 0",
                "PCOUNT  = 0",
                "GCOUNT  = 1",
                "TFIELDS = 9223372036854775807",
            ][..],
            &[
                "XTENSION= 'BINTABLE'",
                "BITPIX  = 8",
                "NAXIS   = 2",
                "NAXIS1  = 8",
                "NAXIS2  = 0",
                "PCOUNT  = 0",
                "GCOUNT  = 1",
                "TFIELDS = 1",
                "TFORM1  = '4611686018427387904K'",
            ][..],
        ] {
            let file = header(cards);
            let hdus = solas_fits::hdus(&file).unwrap();
            assert!(Table::new(&hdus[1].header).is_err(), "{cards:?}");
        }
    }
}
