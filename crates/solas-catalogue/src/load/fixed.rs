//! Fixed-width text: each field is a byte range of the line, given in `[source.fields]` as
//! VizieR ReadMe files write them (`"1-11"`, `" 26- 50"`, or `"72"` for one byte; 1-based,
//! inclusive). The fields are the file's header: `[columns]` names them like CSV columns.
//!
//! Positions count bytes, so the file must have one byte per character (ASCII, or Latin-1:
//! a stray non-UTF-8 byte becomes U+FFFD in its field only). `skip_lines` lines are skipped
//! first; blank lines are skipped. A line shorter than a field leaves that field blank or
//! partial (fixed-width files often drop trailing blanks), and blank fields are missing
//! values. A line with a tab is a bad row: its byte positions are no longer the columns'.
//! Other broken lines show up as bad values (a shifted line puts a name where the RA is)
//! and are reported by their 1-based line number like CSV lines.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use super::{Cell, Sink};
use crate::description::Source;
use crate::CatalogueError;

/// One field: its name and 0-based byte range `start..end`.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    name: String,
    start: usize,
    end: usize,
}

pub(crate) fn read(path: &Path, src: &Source, sink: &mut Sink) -> Result<(), CatalogueError> {
    let fields = fields(path, &src.fields)?;
    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let used = sink.header(&names)?;
    let mut decode = vec![false; fields.len()];
    for i in used {
        decode[i] = true;
    }

    let mut index = 0u64;
    super::each_line(path, sink, |sink, no, line| {
        if no < src.skip_lines as u64 || line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let line_no = no + 1;
        let this = index;
        index += 1;
        if let Some(at) = line.iter().position(|&b| b == b'\t') {
            return sink.bad(
                line_no,
                format!(
                    "tab at byte {} of a fixed-width line (positions would shift)",
                    at + 1
                ),
            );
        }
        let cells: Vec<Cell> = fields
            .iter()
            .zip(&decode)
            .map(|(f, &wanted)| {
                if !wanted {
                    return Cell::Null;
                }
                Cell::Text(cut(line, f.start, f.end))
            })
            .collect();
        sink.row(line_no, this, &cells)
    })
}

/// Bytes `start..end` of a line as text; blank or partial where the line is shorter.
fn cut(line: &[u8], start: usize, end: usize) -> Cow<'_, str> {
    String::from_utf8_lossy(&line[start.min(line.len())..end.min(line.len())])
}

/// The described fields, ordered by position; errors name the field and its range.
fn fields(path: &Path, spec: &BTreeMap<String, String>) -> Result<Vec<Field>, CatalogueError> {
    if spec.is_empty() {
        return Err(CatalogueError::format(
            path,
            "format = \"fixed\" needs a [source.fields] table of byte ranges (e.g. ra = \"1-11\")",
        ));
    }
    let mut fields = spec
        .iter()
        .map(|(name, range)| {
            let (start, end) = parse_range(range).map_err(|e| {
                CatalogueError::format(path, format!("[source.fields] {name} = {range:?}: {e}"))
            })?;
            Ok(Field {
                name: name.clone(),
                start,
                end,
            })
        })
        .collect::<Result<Vec<_>, CatalogueError>>()?;
    fields.sort_by(|a, b| (a.start, a.end, &a.name).cmp(&(b.start, b.end, &b.name)));
    Ok(fields)
}

/// `"1-11"` (bytes 1 to 11), `" 26- 50"` or `"72"`: 1-based and inclusive, as in VizieR
/// ReadMe files. Returns the 0-based half-open range.
pub(crate) fn parse_range(s: &str) -> Result<(usize, usize), String> {
    let num = |t: &str| -> Result<usize, String> {
        t.trim()
            .parse::<usize>()
            .map_err(|_| format!("{:?} is not a byte position", t.trim()))
    };
    let (first, last) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let n = num(s)?;
            (n, n)
        }
    };
    if first == 0 {
        return Err("byte positions start at 1".into());
    }
    if last < first {
        return Err(format!("range ends ({last}) before it starts ({first})"));
    }
    Ok((first - 1, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field's text in one line, sliced as `read` does.
    fn field<'a>(line: &'a [u8], range: &str) -> Cow<'a, str> {
        let (start, end) = parse_range(range).unwrap();
        cut(line, start, end)
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("1-11"), Ok((0, 11)));
        assert_eq!(parse_range(" 26- 50"), Ok((25, 50)));
        assert_eq!(parse_range("72"), Ok((71, 72)));
        assert!(parse_range("0-3").is_err());
        assert!(parse_range("5-3").is_err());
        assert!(parse_range("a-3").is_err());
        assert!(parse_range("1-").is_err());
        assert!(parse_range("").is_err());
    }

    #[test]
    fn slices() {
        let line = b"  0.0006250 -20.0743611  UVQSJ000000.15-200427.7   QX ";
        assert_eq!(field(line, "1-11"), "  0.0006250");
        assert_eq!(field(line, "26-50").trim(), "UVQSJ000000.15-200427.7");
        assert_eq!(field(line, "52-55"), "QX ");
        // Past the end of a trimmed line: blank, or what is there.
        assert_eq!(field(line, "57-61"), "");
        assert_eq!(field(line, "50-60"), "  QX ");
        // A Latin-1 byte spoils only its own field.
        let latin = b"ab\xe9 cd";
        assert_eq!(field(latin, "1-2"), "ab");
        assert_eq!(field(latin, "1-3"), "ab\u{fffd}");
    }
}
