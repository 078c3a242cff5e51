//! The main database, on SQLite (embedded default) or PostgreSQL (scale-out), one code
//! path for both over [`crate::db::Db`]: Lasair's `objects` table for Rubin objects and
//! `ztf_objects` (Lasair-ZTF's `objects` columns) for ZTF, and the context classifications
//! (`sherlock_classifications`, `ztf_sherlock_classifications`), with Lasair's column names
//! so that Lasair filters run unchanged; and beside them what users keep there (filters,
//! watchlists, watchmaps, annotations) and what workers report. Upserts replace every
//! column and stamp `timestamp`.

pub mod annotations;
mod context_cache;
pub mod filter_names;
pub mod filters;
pub mod limits;
mod schema;
pub mod watch;

pub use context_cache::DbContextCache;

use std::path::Path;

use solas_features::{
    Column, ColumnType, ObjectRow, Value, LSST_OBJECT_COLUMNS, ZTF_OBJECT_COLUMNS,
};

use crate::db::{Db, Migration, Target};
use crate::tables::{create_table, upsert_sql, Dialect};
use crate::{MainDb, StoreError};

pub struct MainDatabase {
    db: Db,
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
                + "CREATE INDEX objects_last ON objects (\"lastDiaSourceMjdTai\");
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
            sql: schema::SQL.into(),
        },
        Migration {
            version: 6,
            name: "gravitational-wave events and their hits",
            sql: schema::MMA_SQL.into(),
        },
        Migration {
            version: 7,
            name: "worker status",
            sql: schema::WORKER_STATUS_SQL.into(),
        },
        Migration {
            version: 8,
            name: "filters' recent outputs",
            sql: schema::FILTER_OUTPUTS_SQL.into(),
        },
        Migration {
            version: 9,
            name: "stage counts per hour",
            sql: schema::STAGE_HOURS_SQL.into(),
        },
    ]
}

/// Connect to the main database and bring its schema up to date. Every store in this
/// module opens its connection here, so whichever process starts first migrates.
pub fn connect(target: &Target) -> Result<Db, StoreError> {
    let mut db = Db::open(target)?;
    db.migrate("schema_migrations", &migrations())?;
    Ok(db)
}

/// A value as its column's type wants it. NaN and infinities are not values a filter can
/// compare: they are stored as NULL, as Lasair does.
fn param(v: &Value, ty: ColumnType) -> crate::db::Value {
    use crate::db::Value as V;
    match (ty, v) {
        (ColumnType::Int, Value::Int(i)) => V::Int(*i),
        (ColumnType::Float, Value::Float(f)) if f.is_finite() => V::Float(*f),
        (ColumnType::Float, Value::Int(i)) => V::Float(*i as f64),
        (ColumnType::Text, Value::Text(s)) => V::Text(s.clone()),
        _ => V::Null,
    }
}

impl MainDatabase {
    /// The main database in a SQLite file.
    pub fn open(path: &Path) -> Result<MainDatabase, StoreError> {
        Self::connect(&Target::Sqlite(path.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<MainDatabase, StoreError> {
        Ok(MainDatabase {
            db: connect(target)?,
        })
    }

    /// The connection, for reads the stores here do not offer.
    pub fn db(&mut self) -> &mut Db {
        &mut self.db
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

impl MainDb for MainDatabase {
    fn write_batch(&mut self, rows: &[ObjectRow], hits: &watch::Hits) -> Result<(), StoreError> {
        let dialect = self.db.dialect();
        let mut statements = Vec::with_capacity(rows.len());
        for row in rows {
            if row.values.len() != row.columns.len() {
                return Err(StoreError::Invalid(format!(
                    "objects row has {} values for {} columns",
                    row.values.len(),
                    row.columns.len()
                )));
            }
            let table = table_for(row.columns)?;
            let key = match row.values.first() {
                Some(Value::Int(i)) => (*i, String::new()),
                Some(Value::Text(s)) => (0, s.clone()),
                _ => (0, String::new()),
            };
            statements.push((table, key, upsert_sql(dialect, table, row.columns), row));
        }
        // Rows in one order, whichever worker writes them: workers writing some of the same
        // objects at once (after a rebalance) then wait for each other, not deadlock.
        statements.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        self.db.transaction(|db| {
            for (_, _, sql, row) in &statements {
                let args: Vec<crate::db::Value> = row
                    .values
                    .iter()
                    .zip(row.columns)
                    .map(|(v, c)| param(v, c.ty))
                    .collect();
                db.execute(sql, &args)?;
            }
            watch::write_hits(db, hits)
        })
    }

    fn counts(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        OBJECT_TABLES
            .iter()
            .map(|(table, _)| {
                let n: i64 = self
                    .db
                    .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])?
                    .get(0)?;
                Ok((table.to_string(), n as u64))
            })
            .collect()
    }
}
