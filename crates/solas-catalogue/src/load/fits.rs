//! FITS binary tables (BINTABLE), parsed by hand: 2880-byte blocks of 80-character header
//! cards, then big-endian fixed-width rows. Supported TFORM types: L, X, B, I, J, K, A, E,
//! D (a repeat count > 1 on a numeric type takes the first element); TSCAL/TZERO and
//! TNULL are applied. Variable-length arrays (P, Q) and complex types are decoded as null.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::{Cell, Sink};
use crate::CatalogueError;

const BLOCK: usize = 2880;
const CARD: usize = 80;

pub(crate) fn read(path: &Path, hdu: usize, sink: &mut Sink) -> Result<(), CatalogueError> {
    let data = std::fs::read(path).map_err(|e| CatalogueError::io(path, e))?;
    let err = |m: String| CatalogueError::format(path, m);
    let mut pos = 0;
    for n in 0..=hdu {
        let (cards, header_end) =
            parse_header(&data, pos).map_err(|m| err(format!("HDU {n}: {m}")))?;
        let size = data_size(&cards).map_err(|m| err(format!("HDU {n}: {m}")))?;
        if n < hdu {
            pos = header_end + size.div_ceil(BLOCK) * BLOCK;
            continue;
        }
        if cards.get("XTENSION").map(|s| s.as_str()) != Some("BINTABLE") {
            return Err(err(format!("HDU {n} is not a BINTABLE")));
        }
        let table = Table::new(&cards).map_err(|m| err(format!("HDU {n}: {m}")))?;
        let end = header_end
            .checked_add(table.row_len * table.rows)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| {
                err(format!(
                    "HDU {n}: file truncated ({} rows of {} bytes)",
                    table.rows, table.row_len
                ))
            })?;
        let used = sink.header(&table.names())?;
        let mut cells = vec![Cell::Null; table.columns.len()];
        for (r, row) in data[header_end..end]
            .chunks_exact(table.row_len.max(1))
            .enumerate()
        {
            for &c in &used {
                cells[c] = table.columns[c].decode(row);
            }
            sink.row(r as u64, r as u64, &cells);
        }
        return Ok(());
    }
    unreachable!("the loop returns at n == hdu")
}

/// Header keyword → value (strings unquoted and right-trimmed), and where the data starts.
fn parse_header(data: &[u8], start: usize) -> Result<(HashMap<String, String>, usize), String> {
    let mut cards = HashMap::new();
    let mut pos = start;
    loop {
        let card = data.get(pos..pos + CARD).ok_or("header without END")?;
        pos += CARD;
        if !card.is_ascii() {
            return Err("non-ASCII header card".into());
        }
        let card = std::str::from_utf8(card).map_err(|_| "non-ASCII header card")?;
        let key = card[..8].trim_end();
        if key == "END" {
            return Ok((cards, pos.div_ceil(BLOCK) * BLOCK));
        }
        if &card[8..10] != "= " {
            continue; // COMMENT, HISTORY, blank
        }
        cards.insert(key.to_string(), card_value(&card[10..]));
    }
}

fn card_value(v: &str) -> String {
    let v = v.trim_start();
    if let Some(s) = v.strip_prefix('\'') {
        // A quoted string; '' is a literal quote. Trailing spaces are not significant.
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(c);
        }
        out.trim_end().to_string()
    } else {
        v.split('/').next().unwrap_or("").trim().to_string()
    }
}

fn int(cards: &HashMap<String, String>, key: &str) -> Result<i64, String> {
    cards
        .get(key)
        .ok_or_else(|| format!("missing {key}"))?
        .parse()
        .map_err(|_| format!("{key} is not an integer"))
}

/// Bytes of the data unit (before padding): |BITPIX|/8 × GCOUNT × (PCOUNT + ΠNAXISn).
fn data_size(cards: &HashMap<String, String>) -> Result<usize, String> {
    let naxis = int(cards, "NAXIS")?;
    if naxis == 0 {
        return Ok(0);
    }
    let mut n: i64 = 1;
    for i in 1..=naxis {
        n = n
            .checked_mul(int(cards, &format!("NAXIS{i}"))?)
            .ok_or("data size overflows")?;
    }
    let pcount = int(cards, "PCOUNT").unwrap_or(0);
    let gcount = int(cards, "GCOUNT").unwrap_or(1);
    let bytes = (int(cards, "BITPIX")?.abs() / 8) * gcount * (pcount + n);
    usize::try_from(bytes).map_err(|_| "negative data size".into())
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
    fn new(cards: &HashMap<String, String>) -> Result<Table, String> {
        let to_usize = |k: &str| {
            int(cards, k).and_then(|v| usize::try_from(v).map_err(|_| format!("negative {k}")))
        };
        let row_len = to_usize("NAXIS1")?;
        let rows = to_usize("NAXIS2")?;
        let fields = to_usize("TFIELDS")?;
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
                b'L' | b'B' | b'A' => repeat,
                b'X' => repeat.div_ceil(8),
                b'I' => 2 * repeat,
                b'J' | b'E' => 4 * repeat,
                b'K' | b'D' | b'C' | b'P' => 8 * repeat,
                b'M' | b'Q' => 16 * repeat,
                _ => return Err(format!("unsupported TFORM{i} {form:?}")),
            };
            let f = |k: &str, default: f64| {
                cards
                    .get(&format!("{k}{i}"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default)
            };
            columns.push(Column {
                name: cards
                    .get(&format!("TTYPE{i}"))
                    .cloned()
                    .unwrap_or_else(|| format!("col{i}")),
                offset,
                repeat,
                kind,
                scale: f("TSCAL", 1.0),
                zero: f("TZERO", 0.0),
                null: cards.get(&format!("TNULL{i}")).and_then(|v| v.parse().ok()),
            });
            offset += width;
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

    #[test]
    fn card_values() {
        assert_eq!(
            card_value(" 'BINTABLE'           / binary table"),
            "BINTABLE"
        );
        assert_eq!(card_value(" 'it''s   '"), "it's");
        assert_eq!(card_value("                  261 / length"), "261");
    }
}
