//! The one error type of the crate. Every refusal says which part of the filter it is in,
//! the offending token and, when known, its line and column in that part, because a user
//! editing a 20-line WHERE clause needs to be pointed at the exact place.

use std::fmt;

/// Which of the three filter texts an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Selected,
    Tables,
    Conditions,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Selected => "selected",
            Part::Tables => "tables",
            Part::Conditions => "conditions",
        })
    }
}

/// A refused filter (or a failure of a [`crate::Resources`] look-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
    /// The offending token as the user wrote it (shortened if very long).
    pub token: Option<String>,
    /// 1-based (line, column) of the token in its part; columns count characters.
    pub position: Option<(u64, u64)>,
    pub part: Part,
}

impl QueryError {
    pub fn new(part: Part, message: impl Into<String>) -> Self {
        QueryError {
            message: message.into(),
            token: None,
            position: None,
            part,
        }
    }

    pub fn at(mut self, token: impl AsRef<str>, position: Option<(u64, u64)>) -> Self {
        self.token = Some(shorten(token.as_ref()));
        // sqlparser uses line 0 for "no location"; that is not a position.
        self.position = position.filter(|(line, col)| *line > 0 && *col > 0);
        self
    }
}

/// Tokens are echoed back to the user; a 4 KB token would drown the message.
fn shorten(token: &str) -> String {
    const MAX: usize = 60;
    if token.chars().count() <= MAX {
        token.to_string()
    } else {
        let mut s: String = token.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.part)?;
        if let Some((line, col)) = self.position {
            write!(f, " (line {line}, column {col})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(token) = &self.token {
            write!(f, " [at `{}`]", token.escape_debug())?;
        }
        Ok(())
    }
}

impl std::error::Error for QueryError {}
