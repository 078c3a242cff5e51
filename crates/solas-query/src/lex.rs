//! The first gate: raw-text and token screening, before anything is parsed. It refuses
//! over-long parts, backslashes and control characters, comments of every kind, `;`,
//! placeholders, non-ASCII names and every operator outside the small set the language
//! uses. sqlparser's MySQL dialect is used because Lasair users write MySQL (double-quoted
//! strings, `#` comments — which it recognises, so they can be refused).
//!
//! Nothing here is the security boundary on its own (the whitelist walk in `check.rs`
//! is), but refusing early gives the user a precise token and position.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::error::{Part, QueryError};
use crate::spec::MAX_PART_CHARS;
use crate::tables::is_identifier;

/// Words that only make sense in a whole statement, never in a SELECT list or a WHERE
/// clause. The whitelist would refuse them anyway; naming them gives a clearer message.
const STATEMENT_WORDS: &[&str] = &[
    "select",
    "union",
    "intersect",
    "except",
    "into",
    "outfile",
    "dumpfile",
    "from",
    "where",
    "join",
    "with",
    "exists",
    "group",
    "having",
    "window",
    "over",
    "for",
    "create",
    "drop",
    "insert",
    "update",
    "delete",
    "alter",
    "attach",
    "pragma",
    "grant",
    "set",
    "call",
    "execute",
    "prepare",
    "returning",
    "procedure",
    "lock",
    "load",
];

/// The text of `text` starting at 1-based (line, column), a few characters of it.
pub fn snippet_at(text: &str, line: u64, column: u64) -> String {
    text.lines()
        .nth(line.saturating_sub(1) as usize)
        .map(|l| {
            l.chars()
                .skip(column.saturating_sub(1) as usize)
                .take(20)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "end of input".to_string())
}

/// (line, column) of every character, 1-based.
fn positions(text: &str) -> impl Iterator<Item = ((u64, u64), char)> + '_ {
    let (mut line, mut col) = (1u64, 0u64);
    text.chars().map(move |c| {
        col += 1;
        let here = (line, col);
        if c == '\n' {
            line += 1;
            col = 0;
        }
        (here, c)
    })
}

/// Comment markers outside string literals are refused on the raw text, before the
/// tokenizer: MySQL's `/*! … */` "executable comments" are tokenized as code by
/// sqlparser's MySQL dialect, so relying on its comment tokens alone would let
/// `/*!50000 OR 1=1*/` through as part of an expression. `--` is refused even where
/// MySQL would read two minus signs, so no reading of the text sees a comment.
fn refuse_comment_markers(text: &str, part: Part) -> Result<(), QueryError> {
    let chars: Vec<((u64, u64), char)> = positions(text).collect();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|&(_, c)| c);
        match quote {
            Some(q) if c == q => {
                if next == Some(q) {
                    i += 1; // doubled quote inside the literal
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => {
                let marker = match (c, next) {
                    ('\'', _) | ('"', _) | ('`', _) => {
                        quote = Some(c);
                        None
                    }
                    ('#', _) => Some("#"),
                    ('-', Some('-')) => Some("--"),
                    ('/', Some('*')) => Some("/*"),
                    ('*', Some('/')) => Some("*/"),
                    _ => None,
                };
                if let Some(m) = marker {
                    return Err(QueryError::new(part, "comments are not allowed").at(m, Some(pos)));
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// Screens one part and returns its tokens without whitespace.
pub fn screen(text: &str, part: Part) -> Result<Vec<TokenWithSpan>, QueryError> {
    if let Some((pos, c)) = positions(text).nth(MAX_PART_CHARS) {
        let tail: String = text.chars().skip(MAX_PART_CHARS).take(20).collect();
        let _ = c;
        return Err(QueryError::new(
            part,
            format!("too long: at most {MAX_PART_CHARS} characters"),
        )
        .at(tail, Some(pos)));
    }
    for (pos, c) in positions(text) {
        if c == '\\' {
            return Err(QueryError::new(part, "backslashes are not allowed").at("\\", Some(pos)));
        }
        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
            return Err(QueryError::new(part, "control characters are not allowed")
                .at(format!("{c:?}"), Some(pos)));
        }
    }
    refuse_comment_markers(text, part)?;
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| {
            let (line, col) = (e.location.line, e.location.column);
            QueryError::new(part, format!("cannot read this: {}", e.message))
                .at(snippet_at(text, line, col), Some((line, col)))
        })?;
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        let pos = Some((t.span.start.line, t.span.start.column));
        let refuse = |msg: &str, tok: &str| Err(QueryError::new(part, msg).at(tok, pos));
        match &t.token {
            Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab) => {
                continue
            }
            Token::Whitespace(Whitespace::SingleLineComment { prefix, .. }) => {
                return refuse("comments are not allowed", prefix)
            }
            Token::Whitespace(Whitespace::MultiLineComment(_)) => {
                return refuse("comments are not allowed", "/*")
            }
            Token::Word(w) => {
                if !w.value.is_ascii() {
                    return refuse("names must be plain ASCII letters, digits and _", &w.value);
                }
                match w.quote_style {
                    None => {
                        let lower = w.value.to_ascii_lowercase();
                        if lower == "limit" || lower == "offset" {
                            return refuse(
                                "LIMIT and OFFSET are not part of a filter: use the row-limit parameter",
                                &w.value,
                            );
                        }
                        if STATEMENT_WORDS.contains(&lower.as_str()) {
                            return refuse(
                                "only an expression is allowed here, not SQL statements or clauses",
                                &w.value,
                            );
                        }
                    }
                    Some('`') if is_identifier(&w.value) => {}
                    Some(_) => return refuse("this quoted name is not allowed", &w.value),
                }
            }
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::Comma
            | Token::Eq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::LParen
            | Token::RParen
            | Token::Period
            | Token::EOF => {}
            Token::SemiColon => return refuse("only one expression is allowed: `;` is not", ";"),
            Token::Placeholder(p) => return refuse("placeholders are not allowed", p),
            other => {
                let shown = other.to_string();
                return refuse("this symbol is not allowed in a filter", &shown);
            }
        }
        out.push(t);
    }
    Ok(out)
}
