//! Column sets of the main-database tables that are not lightcurve features: the context
//! classification, in Lasair's `sherlock_classifications` shape (Lasair-ZTF keys it on
//! `objectId`, Lasair-LSST on `diaObjectId`). And the SQL built from a column set, for
//! SQLite and PostgreSQL alike: the per-object upserts (the tables themselves are made by
//! the main database's frozen migrations).

use solas_features::Column;

pub use solas_features::{SHERLOCK_COLUMNS, ZTF_SHERLOCK_COLUMNS};

/// The SQL dialects of the main database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The current time as `YYYY-MM-DD HH:MM:SS` in UTC: SQLite's CURRENT_TIMESTAMP, kept
    /// as text on PostgreSQL too so filters compare timestamps the same way on both.
    pub fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CURRENT_TIMESTAMP",
            Dialect::Postgres => "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
        }
    }

    /// The current UTC hour as `YYYY-MM-DD HH:00`.
    pub fn this_hour(self) -> String {
        self.hours_ago(0)
    }

    /// The UTC hour `hours` ago as `YYYY-MM-DD HH:00`.
    pub fn hours_ago(self, hours: u32) -> String {
        match self {
            Dialect::Sqlite => format!("strftime('%Y-%m-%d %H:00', 'now', '-{hours} hours')"),
            Dialect::Postgres => format!(
                "to_char(now() AT TIME ZONE 'UTC' - interval '{hours} hours', 'YYYY-MM-DD HH24:00')"
            ),
        }
    }

    /// Rubin's `dayObs` (the date in UTC−12 h, `YYYY-MM-DD`) of an hour column holding
    /// `YYYY-MM-DD HH:00` (UTC).
    pub fn day_obs_of_hour(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("strftime('%Y-%m-%d', {column} || ':00', '-12 hours')"),
            Dialect::Postgres => format!(
                "to_char(CAST({column} || ':00' AS timestamp) - interval '12 hours', 'YYYY-MM-DD')"
            ),
        }
    }

    /// The UTC time `seconds` ago, in the form of [`Dialect::now`].
    pub fn seconds_ago(self, seconds: u32) -> String {
        match self {
            Dialect::Sqlite => format!("datetime('now', '-{seconds} seconds')"),
            Dialect::Postgres => format!(
                "to_char(now() AT TIME ZONE 'UTC' - interval '{seconds} seconds', 'YYYY-MM-DD HH24:MI:SS')"
            ),
        }
    }

    /// The placeholder for the `i`-th parameter (from 1).
    fn placeholder(self, i: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{i}"),
            Dialect::Postgres => format!("${i}"),
        }
    }
}

/// A column set's names, quoted, in order.
pub fn quoted_names(columns: &[Column]) -> Vec<String> {
    columns.iter().map(|c| format!("\"{}\"", c.name)).collect()
}

/// What an insert into a per-object table does with a row whose key (the first column) is
/// there: every other column replaced, `timestamp` stamped.
fn replace_on_conflict(dialect: Dialect, names: &[String]) -> String {
    let updates: Vec<String> = names[1..]
        .iter()
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    format!(
        "ON CONFLICT ({}) DO UPDATE SET {}, \"timestamp\" = {}",
        names[0],
        updates.join(", "),
        dialect.now()
    )
}

/// The upsert of `rows` rows of a per-object table (one key each).
pub fn upsert_sql(dialect: Dialect, table: &str, columns: &[Column], rows: usize) -> String {
    let names = quoted_names(columns);
    format!(
        "INSERT INTO {table} ({}) VALUES {} {}",
        names.join(", "),
        value_tuples(dialect, rows, columns.len()),
        replace_on_conflict(dialect, &names)
    )
}

/// A multi-row statement's `VALUES` list: `rows` tuples of `columns` numbered placeholders,
/// `(?1, ?2), (?3, ?4)`.
pub fn value_tuples(dialect: Dialect, rows: usize, columns: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=columns)
                .map(|i| dialect.placeholder(r * columns + i))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    tuples.join(", ")
}

/// The merge of a per-object table's stage (`stage_<table>`, filled by `COPY`, one row per
/// key) into the table, as [`upsert_sql`] does; in key order, so concurrent writers lock
/// rows in one order.
pub fn merge_from_stage_sql(table: &str, columns: &[Column]) -> String {
    let names = quoted_names(columns);
    format!(
        "INSERT INTO {table} ({cols}) SELECT {cols} FROM stage_{table} ORDER BY {key} {}",
        replace_on_conflict(Dialect::Postgres, &names),
        cols = names.join(", "),
        key = names[0],
    )
}

/// How to cut `rows` rows of `columns` columns into statements: full statements of the
/// most rows one may carry (SQLite binds at most 32,766 parameters, PostgreSQL 65,535; at
/// most 256 rows), then the rest in powers of two. So a table has at most nine statement
/// texts whatever the batch sizes, which the connections' statement caches keep.
pub fn statement_sizes(rows: usize, columns: usize) -> Vec<usize> {
    let fits = (32_000 / columns.max(1)).clamp(1, 256);
    let most = 1 << fits.ilog2();
    let mut sizes = vec![most; rows / most];
    let rest = rows % most;
    let mut bit = most;
    while bit > 0 {
        if rest & bit != 0 {
            sizes.push(bit);
        }
        bit >>= 1;
    }
    sizes
}

impl Dialect {
    /// A statement as this dialect takes it: on PostgreSQL, `?N` placeholders become `$N`
    /// and `CURRENT_TIMESTAMP` becomes [`Dialect::now`]; quoted text is left alone.
    pub fn sql(self, sql: &str) -> String {
        if self == Dialect::Sqlite {
            return sql.to_string();
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let mut next_bare = 0;
        for_unquoted(sql, &mut out, |seg, out| {
            let mut chars = seg.char_indices().peekable();
            let mut word_start: Option<usize> = None;
            let flush_word = |start: usize, end: usize, out: &mut String| {
                let word = &seg[start..end];
                if word == "CURRENT_TIMESTAMP" {
                    out.push_str(Dialect::Postgres.now());
                } else {
                    out.push_str(word);
                }
            };
            while let Some((i, c)) = chars.next() {
                let is_word = c.is_ascii_alphanumeric() || c == '_';
                if is_word {
                    word_start.get_or_insert(i);
                    continue;
                }
                if let Some(start) = word_start.take() {
                    flush_word(start, i, out);
                }
                if c == '?' {
                    let mut digits = String::new();
                    while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    if digits.is_empty() {
                        next_bare += 1;
                        digits = next_bare.to_string();
                    }
                    out.push('$');
                    out.push_str(&digits);
                } else {
                    out.push(c);
                }
            }
            if let Some(start) = word_start {
                flush_word(start, seg.len(), out);
            }
        });
        out
    }

    /// Schema SQL written for SQLite, as this dialect takes it: on PostgreSQL integers are
    /// `BIGINT` (64-bit ids end to end), `AUTOINCREMENT` keys are identity columns, `REAL`
    /// is `DOUBLE PRECISION` and `BLOB` is `BYTEA`.
    pub fn ddl(self, sql: &str) -> String {
        if self == Dialect::Sqlite {
            return sql.to_string();
        }
        let mut out = String::with_capacity(sql.len() + 64);
        for_unquoted(sql, &mut out, |seg, out| {
            let seg = seg
                .replace(
                    "INTEGER PRIMARY KEY AUTOINCREMENT",
                    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                )
                .replace("WITHOUT ROWID", "");
            let mut word = String::new();
            let flush = |word: &mut String, out: &mut String| {
                out.push_str(match word.as_str() {
                    "INTEGER" => "BIGINT",
                    "REAL" => "DOUBLE PRECISION",
                    "BLOB" => "BYTEA",
                    w => w,
                });
                word.clear();
            };
            for c in seg.chars() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    word.push(c);
                } else {
                    flush(&mut word, out);
                    out.push(c);
                }
            }
            flush(&mut word, out);
        });
        out
    }
}

/// Copy `sql` to `out`, passing each stretch outside quotes ('…', "…") and `--` comments
/// through `f` and the rest verbatim.
fn for_unquoted(sql: &str, out: &mut String, mut f: impl FnMut(&str, &mut String)) {
    let bytes = sql.as_bytes();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        let close = match bytes[i] {
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            b'-' if bytes.get(i + 1) == Some(&b'-') => Some(b'\n'),
            _ => None,
        };
        let Some(close) = close else {
            i += 1;
            continue;
        };
        f(&sql[start..i], out);
        let end = sql[i + 1..]
            .bytes()
            .position(|b| b == close)
            .map_or(sql.len(), |p| i + 1 + p + 1);
        out.push_str(&sql[i..end]);
        i = end;
        start = end;
    }
    f(&sql[start..], out);
}

#[cfg(test)]
mod dialect_tests {
    use super::Dialect;

    #[test]
    fn postgres_statements() {
        let pg = Dialect::Postgres;
        assert_eq!(
            pg.sql(
                "UPDATE t SET a = ?2, \"why?1\" = 'it''s ?3', at = CURRENT_TIMESTAMP WHERE id = ?1"
            ),
            format!(
                "UPDATE t SET a = $2, \"why?1\" = 'it''s ?3', at = {} WHERE id = $1",
                pg.now()
            )
        );
        assert_eq!(pg.sql("SELECT ? , ?"), "SELECT $1 , $2");
        assert_eq!(Dialect::Sqlite.sql("SELECT ?1"), "SELECT ?1");
        assert_eq!(
            pg.ddl("CREATE TABLE x (id INTEGER PRIMARY KEY AUTOINCREMENT, \"REAL\" REAL, b BLOB, n INTEGER) WITHOUT ROWID; -- INTEGER"),
            "CREATE TABLE x (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \"REAL\" DOUBLE PRECISION, b BYTEA, n BIGINT) ; -- INTEGER"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_sizes_cover_the_rows_in_few_distinct_sizes() {
        use super::statement_sizes;
        assert_eq!(statement_sizes(0, 110), Vec::<usize>::new());
        assert_eq!(statement_sizes(1, 110), vec![1]);
        // 110 columns: 290 rows fit, so full statements of 256.
        assert_eq!(statement_sizes(600, 110), vec![256, 256, 64, 16, 8]);
        assert_eq!(statement_sizes(600, 110).iter().sum::<usize>(), 600);
        // Wider than the parameter limit allows more than one row.
        assert_eq!(statement_sizes(3, 40_000), vec![1, 1, 1]);
    }
}
