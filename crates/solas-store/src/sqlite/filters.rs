//! Stored user filters (`filters` in the main database): the query, who owns it, whether it
//! is public, when it runs and where its results go. Checking a filter's text is
//! `solas-query`'s job; this module only keeps what was accepted.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::StoreError;

/// When a filter runs.
pub const ACTIVE_MODES: [&str; 4] = ["off", "alerts", "annotations", "both"];

#[derive(Debug, Clone, PartialEq)]
pub struct StoredFilter {
    pub id: i64,
    pub owner: i64,
    pub name: String,
    pub description: String,
    pub selected: String,
    pub tables: String,
    pub conditions: String,
    /// "lsst" or "ztf": which objects table it reads.
    pub survey: String,
    pub public: bool,
    /// One of [`ACTIVE_MODES`].
    pub active: String,
    /// Output mode: none, kafka, kafka-lite, kafka-full, email, webhook.
    pub output: String,
    pub topic: String,
    pub email: Option<String>,
    pub webhook_url: Option<String>,
    /// Bytes per UTC day the filter may deliver; -1 for no limit.
    pub byte_quota: i64,
}

impl StoredFilter {
    pub fn runs_on_alerts(&self) -> bool {
        matches!(self.active.as_str(), "alerts" | "both")
    }
}

pub struct FilterStore {
    conn: Connection,
}

const COLUMNS: &str =
    "id, owner, name, description, selected, tables, conditions, survey, public, active, \
                       output, topic, email, webhook_url, byte_quota";

fn from_row(r: &Row) -> rusqlite::Result<StoredFilter> {
    Ok(StoredFilter {
        id: r.get(0)?,
        owner: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        selected: r.get(4)?,
        tables: r.get(5)?,
        conditions: r.get(6)?,
        survey: r.get(7)?,
        public: r.get(8)?,
        active: r.get(9)?,
        output: r.get(10)?,
        topic: r.get(11)?,
        email: r.get(12)?,
        webhook_url: r.get(13)?,
        byte_quota: r.get(14)?,
    })
}

impl FilterStore {
    /// Open the filters of a main database created by [`super::SqliteMainDb::open`].
    pub fn open(main_db: &Path) -> Result<FilterStore, StoreError> {
        Ok(FilterStore {
            conn: super::open(main_db)?,
        })
    }

    /// Store a new filter (its `id` is ignored) and return its id. Names are unique per owner.
    pub fn add(&mut self, f: &StoredFilter) -> Result<i64, StoreError> {
        if !ACTIVE_MODES.contains(&f.active.as_str()) {
            return Err(StoreError::Invalid(format!(
                "active must be one of {ACTIVE_MODES:?}, not {:?}",
                f.active
            )));
        }
        self.conn
            .execute(
                "INSERT INTO filters (owner, name, description, selected, tables, conditions, survey, public,
                 active, output, topic, email, webhook_url, byte_quota)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
                params![
                    f.owner, f.name, f.description, f.selected, f.tables, f.conditions, f.survey, f.public,
                    f.active, f.output, f.topic, f.email, f.webhook_url, f.byte_quota
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(err, _) if err.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Invalid(format!("owner {} already has a filter named {:?}", f.owner, f.name))
                }
                other => other.into(),
            })?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn list(&mut self) -> Result<Vec<StoredFilter>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM filters ORDER BY id"))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Filters that run on every batch of alerts.
    pub fn active_on_alerts(&mut self) -> Result<Vec<StoredFilter>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(StoredFilter::runs_on_alerts)
            .collect())
    }

    pub fn get(&mut self, id: i64) -> Result<Option<StoredFilter>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM filters WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?)
    }

    pub fn remove(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM filters WHERE id = ?1", [id])?
            > 0)
    }

    pub fn set_active(&mut self, id: i64, active: &str) -> Result<bool, StoreError> {
        if !ACTIVE_MODES.contains(&active) {
            return Err(StoreError::Invalid(format!(
                "active must be one of {ACTIVE_MODES:?}"
            )));
        }
        Ok(self.conn.execute(
            "UPDATE filters SET active = ?2, modified = CURRENT_TIMESTAMP WHERE id = ?1",
            params![id, active],
        )? > 0)
    }
}
