//! The main database in SQLite: Lasair's `objects` table for Rubin objects and
//! `ztf_objects` (Lasair-ZTF's `objects` columns) for ZTF, and the context classifications
//! (`sherlock_classifications`, `ztf_sherlock_classifications`), with Lasair's column names
//! so that Lasair filters run unchanged. Upserts replace every column and stamp `timestamp`.

use std::path::Path;

use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Connection, ToSql};
use solas_features::{Column, ObjectRow, Value, LSST_OBJECT_COLUMNS, ZTF_OBJECT_COLUMNS};

use super::migrate::{self, Migration};
use crate::tables::{create_table, upsert_sql, Dialect};
use crate::{MainDb, StoreError};

pub struct SqliteMainDb {
    conn: Connection,
}

/// The tables holding per-object rows: (table, columns). The first column is the key.
pub const OBJECT_TABLES: [(&str, &[Column]); 4] = [
    ("objects", LSST_OBJECT_COLUMNS),
    ("ztf_objects", ZTF_OBJECT_COLUMNS),
    ("sherlock_classifications", crate::tables::SHERLOCK_COLUMNS),
    (
        "ztf_sherlock_classifications",
        crate::tables::ZTF_SHERLOCK_COLUMNS,
    ),
];

fn migrations() -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "objects (Lasair-LSST columns)",
            sql: create_table(Dialect::Sqlite, OBJECT_TABLES[0].0, OBJECT_TABLES[0].1)
                + "CREATE INDEX objects_last ON objects (lastDiaSourceMjdTai);
                   CREATE INDEX objects_htm16 ON objects (htm16);",
        },
        Migration {
            version: 2,
            name: "ztf_objects (Lasair-ZTF objects columns)",
            sql: create_table(Dialect::Sqlite, OBJECT_TABLES[1].0, OBJECT_TABLES[1].1)
                + "CREATE INDEX ztf_objects_jdmax ON ztf_objects (jdmax);
                   CREATE INDEX ztf_objects_htm16 ON ztf_objects (htm16);",
        },
        Migration {
            version: 3,
            name: "context classifications (Lasair's sherlock_classifications) and their cache",
            sql: create_table(Dialect::Sqlite, OBJECT_TABLES[2].0, OBJECT_TABLES[2].1)
                + &create_table(Dialect::Sqlite, OBJECT_TABLES[3].0, OBJECT_TABLES[3].1)
                + "CREATE INDEX sherlock_classifications_class ON sherlock_classifications (classification);
                   CREATE INDEX ztf_sherlock_classifications_class ON ztf_sherlock_classifications (classification);
                   CREATE TABLE context_cache (
                       survey INTEGER NOT NULL, object_id INTEGER NOT NULL, version TEXT NOT NULL,
                       result TEXT NOT NULL, updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                       PRIMARY KEY (survey, object_id)) WITHOUT ROWID;",
        },
        Migration {
            version: 4,
            name: "stored user filters",
            sql: "CREATE TABLE filters (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                owner INTEGER NOT NULL,
                name TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                selected TEXT NOT NULL, tables TEXT NOT NULL, conditions TEXT NOT NULL,
                survey TEXT NOT NULL DEFAULT 'lsst',
                public INTEGER NOT NULL DEFAULT 0,
                active TEXT NOT NULL DEFAULT 'off',
                output TEXT NOT NULL DEFAULT 'none',
                topic TEXT NOT NULL,
                email TEXT, webhook_url TEXT,
                byte_quota INTEGER NOT NULL DEFAULT 100000000,
                created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                modified TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                UNIQUE (owner, name));"
                .into(),
        },
        Migration {
            version: 5,
            name: "filter reports, annotations, watchlists, watchmaps and TNS",
            sql: super::watch_tables::SQL.into(),
        },
        Migration {
            version: 6,
            name: "gravitational-wave events and their hits",
            sql: super::watch_tables::MMA_SQL.into(),
        },
        Migration {
            version: 7,
            name: "worker status",
            sql: super::watch_tables::WORKER_STATUS_SQL.into(),
        },
        Migration {
            version: 8,
            name: "filters' recent outputs",
            sql: super::watch_tables::FILTER_OUTPUTS_SQL.into(),
        },
        Migration {
            version: 9,
            name: "stage counts per hour",
            sql: super::watch_tables::STAGE_HOURS_SQL.into(),
        },
    ]
}

struct Sql<'a>(&'a Value);

impl ToSql for Sql<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::from(rusqlite::types::Null),
            Value::Int(i) => ToSqlOutput::from(*i),
            // NaN and infinities are not values a filter can compare: store NULL, as Lasair does.
            Value::Float(f) if f.is_finite() => ToSqlOutput::from(*f),
            Value::Float(_) => ToSqlOutput::from(rusqlite::types::Null),
            Value::Text(s) => ToSqlOutput::from(s.as_str()),
        })
    }
}

impl SqliteMainDb {
    pub fn open(path: &Path) -> Result<SqliteMainDb, StoreError> {
        let mut conn = super::open(path)?;
        migrate::apply(&mut conn, &migrations())?;
        Ok(SqliteMainDb { conn })
    }

    /// A read-only handle on the same file, for queries from other threads.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Which table a row's column set belongs to (objects and classifications share their key
/// column, so the whole set is compared).
fn table_for(columns: &[Column]) -> Result<&'static str, StoreError> {
    OBJECT_TABLES
        .iter()
        .find(|(_, cols)| *cols == columns)
        .map(|(t, _)| *t)
        .ok_or_else(|| StoreError::Invalid("row of an unknown column set".into()))
}

impl MainDb for SqliteMainDb {
    fn upsert_objects(&mut self, rows: &[ObjectRow]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for row in rows {
            if row.values.len() != row.columns.len() {
                return Err(StoreError::Invalid(format!(
                    "objects row has {} values for {} columns",
                    row.values.len(),
                    row.columns.len()
                )));
            }
            let table = table_for(row.columns)?;
            let mut stmt = tx.prepare_cached(&upsert_sql(Dialect::Sqlite, table, row.columns))?;
            stmt.execute(params_from_iter(row.values.iter().map(Sql)))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn counts(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        OBJECT_TABLES
            .iter()
            .map(|(table, _)| {
                let n: i64 =
                    self.conn
                        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
                Ok((table.to_string(), n as u64))
            })
            .collect()
    }
}
