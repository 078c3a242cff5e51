//! The main database, on SQLite (embedded default) or PostgreSQL (scale-out), one code
//! path for both over [`crate::db::Db`]: Lasair's `objects` table for Rubin objects and
//! `ztf_objects` (Lasair-ZTF's `objects` columns) for ZTF, and the context classifications
//! (`sherlock_classifications`, `ztf_sherlock_classifications`), with Lasair's column names
//! so that Lasair filters run unchanged; and beside them what users keep there (filters,
//! watchlists, watchmaps, annotations) and what workers report. Upserts replace every
//! column and stamp `timestamp`.

pub mod annotations;
mod context_cache;
pub mod counterparts;
pub mod delivery;
pub mod filter_names;
pub mod filter_resources;
pub mod filter_runs;
pub mod filters;
pub mod ledger;
pub mod limits;
pub mod mining;
pub mod object_view;
pub mod overview;
mod planner_stats;
mod schema;
pub mod tags;
pub mod user_photometry;
pub mod watch;
pub mod watch_hits;
pub mod watch_matcher;
pub mod watch_view;
pub mod worker_status;

pub use context_cache::DbContextCache;

use std::path::Path;

use solas_features::{
    Column, ColumnType, ObjectRow, Value, LSST_OBJECT_COLUMNS, ZTF_OBJECT_COLUMNS,
};

use crate::db::{Db, Migration, Target};
use crate::tables::upsert_sql;
use crate::{MainDb, StoreError};

pub struct MainDatabase {
    db: Db,
    /// When to analyse the per-object tables (PostgreSQL).
    planner_stats: planner_stats::PlannerStats,
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

/// The main database's migrations. Released ones are frozen as text (the first three
/// under `migrations/`, the rest in `schema`): a column added to a live column list needs a
/// new migration, which `the_frozen_migrations_make_the_live_columns` checks.
fn migrations(dialect: crate::tables::Dialect) -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "objects (Lasair-LSST columns)",
            sql: include_str!("migrations/0001_objects.sql").into(),
        },
        Migration {
            version: 2,
            name: "ztf_objects (Lasair-ZTF objects columns)",
            sql: include_str!("migrations/0002_ztf_objects.sql").into(),
        },
        Migration {
            version: 3,
            name: "context classifications (Lasair's sherlock_classifications) and their cache",
            sql: include_str!("migrations/0003_context.sql").into(),
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
        Migration {
            version: 10,
            name: "each objects row's newest source time",
            sql: format!(
                "ALTER TABLE objects ADD COLUMN \"{}\" REAL;
                 ALTER TABLE ztf_objects ADD COLUMN \"{}\" REAL;",
                solas_features::LSST_NEWEST_SOURCE,
                solas_features::ZTF_NEWEST_SOURCE
            ),
        },
        Migration {
            version: 11,
            name: "failed deliveries per hour",
            sql: "ALTER TABLE stage_hours ADD COLUMN failed_deliveries INTEGER NOT NULL DEFAULT 0;"
                .into(),
        },
        Migration {
            version: 12,
            name: "kept row counts of the objects tables",
            sql: crate::row_counts::migration_sql(dialect, &["objects", "ztf_objects"]),
        },
        Migration {
            version: 13,
            name: "users' tags on objects",
            sql: tags::SQL.into(),
        },
        Migration {
            version: 14,
            name: "users' own photometry",
            sql: user_photometry::SQL.into(),
        },
        Migration {
            version: 15,
            name: "every annotation kept (classifier scores' history)",
            sql: annotations::scores::HISTORY_SQL.into(),
        },
        Migration {
            version: 16,
            name: "classifiers' consensus per object (views over the annotations)",
            sql: annotations::consensus::migration_sql(dialect),
        },
        Migration {
            version: 17,
            name: "watchlists' magnitude triggers",
            sql: "ALTER TABLE watchlists ADD COLUMN mag_change REAL;
                 ALTER TABLE watchlist_hits ADD COLUMN mag REAL;
                 ALTER TABLE watchlist_hits ADD COLUMN fired INTEGER NOT NULL DEFAULT 1;
                 ALTER TABLE ztf_watchlist_hits ADD COLUMN mag REAL;
                 ALTER TABLE ztf_watchlist_hits ADD COLUMN fired INTEGER NOT NULL DEFAULT 1;"
                .into(),
        },
        Migration {
            version: 18,
            name: "cross-survey counterparts",
            sql: counterparts::SQL.into(),
        },
        Migration {
            version: 19,
            name: "the completeness ledger",
            sql: ledger::SQL.into(),
        },
        Migration {
            version: 20,
            name: "mining runs and their results",
            sql: mining::SQL.into(),
        },
        Migration {
            version: 21,
            name: "classifier score history keyed by a model id",
            sql: annotations::scores::MODEL_IDS_SQL.into(),
        },
    ]
}

/// Connect to the main database and bring its schema up to date. Every store in this
/// module opens its connection here, so whichever process starts first migrates.
pub fn connect(target: &Target) -> Result<Db, StoreError> {
    let mut db = Db::open(target)?;
    let dialect = db.dialect();
    db.migrate("schema_migrations", &migrations(dialect))?;
    Ok(db)
}

/// A value as its column's type wants it. NaN and infinities are not values a filter can
/// compare: they are stored as NULL, as Lasair does.
pub(crate) fn param(v: &Value, ty: ColumnType) -> crate::db::Value {
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
            planner_stats: planner_stats::PlannerStats::default(),
        })
    }

    /// The connection, for reads the stores here do not offer.
    pub fn db(&mut self) -> &mut Db {
        &mut self.db
    }

    /// An object's row in its survey's objects table, every column by name, if it has one.
    pub fn object_row(
        &mut self,
        survey: solas_core::Survey,
        key: &solas_core::ObjectKey,
    ) -> Result<Option<Vec<(String, crate::db::Value)>>, StoreError> {
        let (sql, arg) = match survey {
            solas_core::Survey::Lsst => (
                "SELECT * FROM objects WHERE \"diaObjectId\" = ?1",
                crate::db::Value::Int(key.id),
            ),
            solas_core::Survey::Ztf => (
                "SELECT * FROM ztf_objects WHERE \"objectId\" = ?1",
                crate::db::Value::Text(key.name.clone()),
            ),
        };
        let (names, rows) = self.db.query_named(sql, &[arg])?;
        Ok(rows
            .into_iter()
            .next()
            .map(|row| names.into_iter().zip(row.0).collect()))
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

/// A row's values as its columns take them.
pub(crate) fn params(row: &ObjectRow) -> impl Iterator<Item = crate::db::Value> + '_ {
    row.values
        .iter()
        .zip(row.columns)
        .map(|(v, c)| param(v, c.ty))
}

impl MainDatabase {
    /// A batch's rows on PostgreSQL: each table's rows in one binary `COPY` to a temporary
    /// stage table, merged with one statement, in one transaction with the hits.
    fn copy_batch(
        &mut self,
        rows: &[(&str, &ObjectRow)],
        hits: &watch::Hits,
        scores: &[annotations::scores::ModelScore],
    ) -> Result<(), StoreError> {
        /// One table's rows of the batch, with its quoted column list.
        struct Staged<'a> {
            table: &'a str,
            columns: &'a [Column],
            names: String,
            values: Vec<Vec<crate::db::Value>>,
        }
        let mut tables: Vec<Staged> = Vec::new();
        for group in rows.chunk_by(|a, b| a.0 == b.0) {
            let (table, first) = group[0];
            tables.push(Staged {
                table,
                columns: first.columns,
                names: crate::tables::quoted_names(first.columns).join(", "),
                values: group.iter().map(|(_, row)| params(row).collect()).collect(),
            });
        }
        self.db.transaction(|db| {
            for Staged {
                table,
                columns,
                names,
                values,
            } in &tables
            {
                // Made once per connection; emptied at every commit or rollback.
                db.batch(&format!(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_{table} (LIKE {table} INCLUDING DEFAULTS)
                     ON COMMIT DELETE ROWS"
                ))?;
                db.copy_in(&format!("stage_{table}"), names, values)?;
                db.execute(&crate::tables::merge_from_stage_sql(table, columns), &[])?;
            }
            watch_hits::write_hits(db, hits)?;
            annotations::scores::write_scores(db, scores)
        })?;
        for staged in &tables {
            let key = staged.columns.first().map_or("", |c| c.name);
            let rows = staged.values.len() as u64;
            self.planner_stats
                .wrote(&mut self.db, staged.table, key, rows);
        }
        Ok(())
    }
}

impl MainDb for MainDatabase {
    fn write_batch(
        &mut self,
        rows: &[ObjectRow],
        hits: &watch::Hits,
        scores: &[annotations::scores::ModelScore],
    ) -> Result<(), StoreError> {
        let dialect = self.db.dialect();
        let mut keyed = Vec::with_capacity(rows.len());
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
            keyed.push((table, key, row));
        }
        // Rows in one order, whichever worker writes them: workers writing some of the same
        // objects at once (after a rebalance) then wait for each other, not deadlock. One
        // row per key (the last given): a statement may not upsert one row twice.
        keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut unique: Vec<(&str, &ObjectRow)> = Vec::with_capacity(keyed.len());
        for (i, (table, key, row)) in keyed.iter().enumerate() {
            let superseded = keyed
                .get(i + 1)
                .is_some_and(|(t, k, _)| t == table && k == key);
            if !superseded {
                unique.push((table, row));
            }
        }
        if dialect == crate::tables::Dialect::Postgres {
            return self.copy_batch(&unique, hits, scores);
        }
        // Each table's rows in statements of a few hundred: one SQL text built per
        // statement rather than per row.
        let mut statements: Vec<(String, Vec<crate::db::Value>)> = Vec::new();
        for group in unique.chunk_by(|a, b| a.0 == b.0) {
            let (table, first) = group[0];
            let mut rest = group;
            for size in crate::tables::statement_sizes(group.len(), first.columns.len()) {
                let (chunk, after) = rest.split_at(size);
                rest = after;
                let sql = upsert_sql(dialect, table, first.columns, size);
                let args = chunk.iter().flat_map(|(_, row)| params(row)).collect();
                statements.push((sql, args));
            }
        }
        self.db.transaction(|db| {
            for (sql, args) in &statements {
                db.execute(sql, args)?;
            }
            watch_hits::write_hits(db, hits)?;
            annotations::scores::write_scores(db, scores)
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

    fn notice_context(
        &mut self,
        survey: solas_core::Survey,
        object: &solas_core::ObjectKey,
    ) -> Result<object_view::NoticeContext, StoreError> {
        object_view::notice_context(&mut self.db, survey, object)
    }
}

/// Each test given it runs on SQLite and, where a server runs, PostgreSQL (a database of
/// its own, named after `name`).
#[cfg(test)]
pub(crate) fn each_target(name: &str, test: impl Fn(&Target)) {
    let dir = tempfile::tempdir().unwrap();
    test(&Target::Sqlite(dir.path().join("solas.db")));
    if let Some(pg) = solas_testdata::servers::TempDb::create(name) {
        test(&Target::Postgres(pg.url()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Released migrations are frozen text while the live column lists (features, context)
    /// may grow. A database made by the migrations must have exactly the live columns, in
    /// order (a column added later sits after `timestamp`); if not, databases made before
    /// the change lack the new column: add a migration that adds it rather than editing a
    /// released one.
    #[test]
    fn the_frozen_migrations_make_the_live_columns() {
        let tmp = tempfile::tempdir().unwrap();
        let mut db = connect(&Target::Sqlite(tmp.path().join("main.db"))).unwrap();
        for (table, columns) in OBJECT_TABLES {
            let mut have: Vec<String> = db
                .query(
                    &format!("SELECT name FROM pragma_table_info('{table}')"),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap())
                .collect();
            let stamp = have.iter().position(|c| c == "timestamp");
            assert!(stamp.is_some(), "{table} has no timestamp column");
            have.retain(|c| c != "timestamp");
            let want: Vec<&str> = columns.iter().map(|c| c.name).collect();
            assert_eq!(
                have, want,
                "{table}: the migrations and the live columns differ"
            );
        }
    }
}
