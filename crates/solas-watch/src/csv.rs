//! A small RFC 4180 CSV reader: quoted fields (with `""` for a quote and line breaks
//! inside quotes), `\n` or `\r\n` line ends, and the 1-based line on which each record
//! starts, so errors can point at the line a person sees in an editor.
//!
//! Hand-written rather than the `csv` crate because of two things watchlists typed by
//! hand need and that crate does not do: a quote after blanks (`ra, dec, "NGC 1, core"`)
//! opens a quoted field (the crate takes a quote only as a field's first byte, and would
//! split that name at its comma), and a quote never closed is an error on its line (the
//! crate ends the field at the end of the file, silently taking the rest as one name).

/// One record: its fields and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A record whose closing quote never came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unterminated {
    pub line: usize,
}

/// Iterator over the records of a CSV text. Empty lines give a record with one empty
/// field; callers decide what to skip.
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        // A byte-order mark would otherwise end up in the first header name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Reader {
            text,
            pos: 0,
            line: 1,
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Record, Unterminated>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return None;
        }
        let start_line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut in_quotes = false;
        // Whether the current field began with a quote (only then do quotes mean anything).
        let mut quoted = false;
        let mut i = self.pos;
        // Slicing on ASCII delimiters keeps UTF-8 intact: copy runs between them.
        let mut run = i;
        while i < bytes.len() {
            let b = bytes[i];
            if in_quotes {
                if b == b'"' {
                    field.push_str(&self.text[run..i]);
                    if bytes.get(i + 1) == Some(&b'"') {
                        field.push('"');
                        i += 2;
                    } else {
                        in_quotes = false;
                        i += 1;
                    }
                    run = i;
                    continue;
                }
                if b == b'\n' {
                    self.line += 1;
                }
                i += 1;
                continue;
            }
            match b {
                b'"' if !quoted && self.text[run..i].trim().is_empty() && field.is_empty() => {
                    // Opening quote (leading blanks before it are dropped).
                    in_quotes = true;
                    quoted = true;
                    i += 1;
                    run = i;
                }
                b',' => {
                    field.push_str(&self.text[run..i]);
                    fields.push(std::mem::take(&mut field));
                    quoted = false;
                    i += 1;
                    run = i;
                }
                b'\n' => {
                    let mut end = i;
                    if end > run && bytes[end - 1] == b'\r' {
                        end -= 1;
                    }
                    field.push_str(&self.text[run..end]);
                    fields.push(field);
                    self.line += 1;
                    self.pos = i + 1;
                    return Some(Ok(Record {
                        line: start_line,
                        fields,
                    }));
                }
                _ => i += 1,
            }
        }
        self.pos = bytes.len();
        if in_quotes {
            return Some(Err(Unterminated { line: start_line }));
        }
        let mut end = bytes.len();
        if end > run && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        field.push_str(&self.text[run..end]);
        fields.push(field);
        Some(Ok(Record {
            line: start_line,
            fields,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Result<Record, Unterminated>> {
        Reader::new(text).collect()
    }

    #[test]
    fn quotes_and_lines() {
        let r = all("a,b\r\n\"x, y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",z\nlast");
        assert_eq!(r.len(), 4);
        let r: Vec<Record> = r.into_iter().map(Result::unwrap).collect();
        assert_eq!(r[0].fields, ["a", "b"]);
        assert_eq!(r[1].fields, ["x, y", "he said \"hi\""]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].fields, ["multi\nline", "z"]);
        assert_eq!(r[2].line, 3);
        assert_eq!(r[3].fields, ["last"]);
        assert_eq!(r[3].line, 5);
    }

    #[test]
    fn unterminated_and_utf8() {
        let r = all("é,\"ü\"\n\"open,never closed\n");
        assert_eq!(r[0].as_ref().unwrap().fields, ["é", "ü"]);
        assert_eq!(r[1], Err(Unterminated { line: 2 }));
        assert_eq!(all("").len(), 0);
        assert_eq!(all("\n")[0].as_ref().unwrap().fields, [""]);
    }
}
