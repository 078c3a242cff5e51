//! Column sets of the main-database tables that are not lightcurve features: the context
//! classification, in Lasair's `sherlock_classifications` shape (Lasair-ZTF keys it on
//! `objectId`, Lasair-LSST on `diaObjectId`). And the SQL built from a column set, for
//! SQLite and PostgreSQL alike: the per-object tables and their upserts.

use solas_features::{Column, ColumnType};

macro_rules! columns {
    ($key:literal, $key_ty:ident; $($name:literal : $ty:ident),* $(,)?) => {
        &[
            Column { name: $key, ty: ColumnType::$key_ty },
            $(Column { name: $name, ty: ColumnType::$ty }),*
        ]
    };
}

/// Every column after the key, in Lasair's order.
macro_rules! sherlock_columns {
    ($key:literal, $key_ty:ident) => {
        columns!($key, $key_ty;
            "classification": Text, "association_type": Text, "catalogue_table_name": Text,
            "catalogue_object_id": Text, "catalogue_object_type": Text, "raDeg": Float,
            "decDeg": Float, "separationArcsec": Float, "northSeparationArcsec": Float,
            "eastSeparationArcsec": Float, "physical_separation_kpc": Float,
            "direct_distance": Float, "distance": Float, "best_distance": Float,
            "best_distance_flag": Text, "best_distance_source": Text, "z": Float,
            "photoZ": Float, "photoZErr": Float, "Mag": Float, "MagFilter": Text,
            "MagErr": Float, "classificationReliability": Int, "major_axis_arcsec": Float,
            "annotator": Text, "additional_output": Text, "description": Text, "summary": Text,
        )
    };
}

pub const SHERLOCK_COLUMNS: &[Column] = sherlock_columns!("diaObjectId", Int);
pub const ZTF_SHERLOCK_COLUMNS: &[Column] = sherlock_columns!("objectId", Text);

/// The SQL dialects of the main database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn column_type(self, ty: ColumnType) -> &'static str {
        match (self, ty) {
            (Dialect::Sqlite, ColumnType::Int) => "INTEGER",
            (Dialect::Sqlite, ColumnType::Float) => "REAL",
            (Dialect::Postgres, ColumnType::Int) => "BIGINT",
            (Dialect::Postgres, ColumnType::Float) => "DOUBLE PRECISION",
            (_, ColumnType::Text) => "TEXT",
        }
    }

    /// The current time as `YYYY-MM-DD HH:MM:SS` in UTC: SQLite's CURRENT_TIMESTAMP, kept
    /// as text on PostgreSQL too so filters compare timestamps the same way on both.
    pub fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CURRENT_TIMESTAMP",
            Dialect::Postgres => "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
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

/// `CREATE TABLE` for a per-object table: the first column is the key, then a `timestamp`
/// of the last write.
pub fn create_table(dialect: Dialect, table: &str, columns: &[Column]) -> String {
    let mut sql = format!("CREATE TABLE {table} (");
    for (i, c) in columns.iter().enumerate() {
        let ty = dialect.column_type(c.ty);
        let key = if i == 0 { " PRIMARY KEY NOT NULL" } else { "" };
        sql.push_str(&format!("\"{}\" {ty}{key}, ", c.name));
    }
    sql.push_str(&format!(
        "\"timestamp\" TEXT NOT NULL DEFAULT {});\n",
        dialect.now()
    ));
    sql
}

/// The upsert of one row of a per-object table: every column replaced, `timestamp` stamped.
pub fn upsert_sql(dialect: Dialect, table: &str, columns: &[Column]) -> String {
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let marks: Vec<String> = (1..=columns.len())
        .map(|i| dialect.placeholder(i))
        .collect();
    let updates: Vec<String> = names[1..]
        .iter()
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}, \"timestamp\" = {}",
        names.join(", "),
        marks.join(", "),
        names[0],
        updates.join(", "),
        dialect.now()
    )
}
