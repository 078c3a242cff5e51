//! Delimited text: any single-character delimiter, optional quoting (a doubled quote inside
//! quotes is a literal quote), spaces around fields and quotes ignored (3HSP pads
//! `1 , "3HSPJ…" , "00 01 16.37"`), `skip_lines` before the header and
//! `skip_after_header` after it. Blank lines are skipped; a line whose field count differs
//! from the header's is a bad row (a stray delimiter would shift every column after it).
//!
//! Split by hand, not with the `csv` crate: it reads a quote only as a field's first byte,
//! so 3HSP's `1 , "3HSPJ…"` would keep its quotes (and a delimiter inside them would split
//! the field); the watchlist and TNS readers, whose inputs are plain CSV, use the crate.

use std::borrow::Cow;
use std::path::Path;

use super::{Cell, Sink};
use crate::description::Source;
use crate::CatalogueError;

pub(crate) fn read(path: &Path, src: &Source, sink: &mut Sink) -> Result<(), CatalogueError> {
    let delim = single_char(path, "delimiter", src.delimiter.as_deref().unwrap_or(","))?;
    let quote = match src.quote.as_deref() {
        Some("") => None,
        Some(q) => Some(single_char(path, "quote", q)?),
        None => Some('"'),
    };
    // Streamed line by line: a catalogue file may be larger than memory.
    let mut header: Option<Vec<String>> = None;
    let mut after_header = src.skip_after_header;
    let mut index = 0u64;
    super::each_line(path, sink, |sink, no, raw| {
        if no < src.skip_lines as u64 {
            return Ok(());
        }
        // Lossy: a stray Latin-1 byte in a name must not fail the whole catalogue.
        let line = String::from_utf8_lossy(raw);
        let Some(names) = &header else {
            if line.trim().is_empty() {
                return Ok(());
            }
            let names: Vec<String> = split_line(line.trim_start_matches('\u{feff}'), delim, quote)
                .map_err(|e| {
                    CatalogueError::format(path, format!("header (line {}): {e}", no + 1))
                })?
                .into_iter()
                .map(|c| c.trim().to_string())
                .collect();
            sink.header(&names)?;
            header = Some(names);
            return Ok(());
        };
        if after_header > 0 {
            after_header -= 1;
            return Ok(());
        }
        if line.trim().is_empty() {
            return Ok(());
        }
        let line_no = no + 1;
        let this = index;
        index += 1;
        match split_line(&line, delim, quote) {
            Err(e) => sink.bad(line_no, e),
            Ok(fields) if fields.len() != names.len() => sink.bad(
                line_no,
                format!("{} fields, the header has {}", fields.len(), names.len()),
            ),
            Ok(fields) => {
                let cells: Vec<Cell> = fields.into_iter().map(Cell::Text).collect();
                sink.row(line_no, this, &cells)
            }
        }
    })?;
    if header.is_none() {
        return Err(CatalogueError::format(path, "no header line"));
    }
    Ok(())
}

fn single_char(path: &Path, what: &str, s: &str) -> Result<char, CatalogueError> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(CatalogueError::format(
            path,
            format!("{what} must be one character, not {s:?}"),
        )),
    }
}

/// Splits one line into fields; quoted fields are unquoted, unquoted ones kept raw.
pub(crate) fn split_line(
    line: &str,
    delim: char,
    quote: Option<char>,
) -> Result<Vec<Cow<'_, str>>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.trim_start_matches(|c: char| c.is_whitespace() && c != delim);
        match quote {
            Some(q) if start.starts_with(q) => {
                let (value, after) = quoted(&start[q.len_utf8()..], q)?;
                fields.push(value);
                let after = after.trim_start_matches(|c: char| c.is_whitespace() && c != delim);
                match after.strip_prefix(delim) {
                    Some(next) => rest = next,
                    None if after.is_empty() => return Ok(fields),
                    None => {
                        return Err(format!("text after a closing quote: {:?}", truncate(after)))
                    }
                }
            }
            _ => match rest.find(delim) {
                Some(i) => {
                    fields.push(Cow::Borrowed(&rest[..i]));
                    rest = &rest[i + delim.len_utf8()..];
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            },
        }
    }
}

/// The inside of a quoted field starting just after the opening quote, and what follows.
fn quoted(s: &str, q: char) -> Result<(Cow<'_, str>, &str), String> {
    let mut owned: Option<String> = None;
    let mut from = 0;
    let mut search = s;
    loop {
        let Some(i) = search.find(q) else {
            return Err("unterminated quoted field".into());
        };
        let pos = s.len() - search.len() + i;
        let after = &s[pos + q.len_utf8()..];
        if after.starts_with(q) {
            // Doubled quote: a literal quote character.
            let o = owned.get_or_insert_with(String::new);
            o.push_str(&s[from..pos + q.len_utf8()]);
            from = pos + 2 * q.len_utf8();
            search = &s[from..];
            continue;
        }
        let value = match owned {
            Some(mut o) => {
                o.push_str(&s[from..pos]);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(&s[..pos]),
        };
        return Ok((value, after));
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(20) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(l: &str, d: char) -> Vec<String> {
        split_line(l, d, Some('"'))
            .unwrap()
            .into_iter()
            .map(|c| c.into_owned())
            .collect()
    }

    #[test]
    fn fields() {
        assert_eq!(split("a;b;;d", ';'), ["a", "b", "", "d"]);
        assert_eq!(
            split("1 , \"3HSP J0\" , \"\" , \"00 01 16.37\"", ','),
            ["1 ", "3HSP J0", "", "00 01 16.37"]
        );
        assert_eq!(
            split("\"a,b\",\"say \"\"hi\"\"\",c", ','),
            ["a,b", "say \"hi\"", "c"]
        );
        assert_eq!(split("x,", ','), ["x", ""]);
        assert_eq!(split("a\tb", '\t'), ["a", "b"]);
        assert!(split_line("\"open,b", ',', Some('"')).is_err());
        assert!(split_line("\"a\"b,c", ',', Some('"')).is_err());
    }
}
