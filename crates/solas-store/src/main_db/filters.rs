//! Stored user filters (`filters` in the main database): the query, who owns it, whether it
//! is public, when it runs and where its results go. Checking a filter's text is
//! `solas-query`'s job; this module only keeps what was accepted.

use std::path::Path;

use crate::args;
use crate::db::{Db, Row, Target};
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
    /// Output mode: none, kafka, kafka-lite, kafka-full, kafka-gcn, email, webhook.
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

    pub fn runs_on_annotations(&self) -> bool {
        matches!(self.active.as_str(), "annotations" | "both")
    }
}

/// Something a filter's owner should know: it failed, ran out of time, could not deliver
/// or reached its quota; `count` times between `first_at` and `last_at` (UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterReport {
    pub filter_id: i64,
    pub owner: i64,
    pub kind: String,
    pub message: String,
    pub count: i64,
    pub first_at: String,
    pub last_at: String,
}

pub struct FilterStore {
    db: Db,
}

const COLUMNS: &str =
    "id, owner, name, description, selected, tables, conditions, survey, public, active, \
                       output, topic, email, webhook_url, byte_quota";

fn from_row(r: &Row) -> Result<StoredFilter, StoreError> {
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
    /// The filters of the main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<FilterStore, StoreError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<FilterStore, StoreError> {
        Ok(FilterStore {
            db: super::connect(target)?,
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
        super::limits::check_name_and_description("filter", &f.name, &f.description)?;
        self.db
            .query_one(
                "INSERT INTO filters (owner, name, description, selected, tables, conditions, survey, public,
                 active, output, topic, email, webhook_url, byte_quota)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14) RETURNING id",
                args![
                    f.owner, &f.name, &f.description, &f.selected, &f.tables, &f.conditions, &f.survey,
                    f.public, &f.active, &f.output, &f.topic, f.email.clone(), f.webhook_url.clone(),
                    f.byte_quota
                ],
            )
            .map_err(|e| e.if_unique(|| format!("owner {} already has a filter named {:?}", f.owner, f.name)))?
            .get(0)
    }

    pub fn list(&mut self) -> Result<Vec<StoredFilter>, StoreError> {
        self.db
            .query(&format!("SELECT {COLUMNS} FROM filters ORDER BY id"), &[])?
            .iter()
            .map(from_row)
            .collect()
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
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM filters WHERE id = ?1"),
                args![id],
            )?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Replace filter `f.id`'s definition (not its owner); whether it exists. Names stay
    /// unique per owner.
    pub fn update(&mut self, f: &StoredFilter) -> Result<bool, StoreError> {
        if !ACTIVE_MODES.contains(&f.active.as_str()) {
            return Err(StoreError::Invalid(format!(
                "active must be one of {ACTIVE_MODES:?}, not {:?}",
                f.active
            )));
        }
        super::limits::check_name_and_description("filter", &f.name, &f.description)?;
        Ok(self
            .db
            .execute(
                "UPDATE filters SET name = ?2, description = ?3, selected = ?4, tables = ?5,
                 conditions = ?6, survey = ?7, public = ?8, active = ?9, output = ?10, topic = ?11,
                 email = ?12, webhook_url = ?13, modified = CURRENT_TIMESTAMP WHERE id = ?1",
                args![
                    f.id,
                    &f.name,
                    &f.description,
                    &f.selected,
                    &f.tables,
                    &f.conditions,
                    &f.survey,
                    f.public,
                    &f.active,
                    &f.output,
                    &f.topic,
                    f.email.clone(),
                    f.webhook_url.clone()
                ],
            )
            .map_err(|e| {
                e.if_unique(|| format!("owner {} already has a filter named {:?}", f.owner, f.name))
            })?
            > 0)
    }

    pub fn remove(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .db
            .execute("DELETE FROM filters WHERE id = ?1", args![id])?
            > 0)
    }

    pub fn set_active(&mut self, id: i64, active: &str) -> Result<bool, StoreError> {
        if !ACTIVE_MODES.contains(&active) {
            return Err(StoreError::Invalid(format!(
                "active must be one of {ACTIVE_MODES:?}"
            )));
        }
        Ok(self.db.execute(
            "UPDATE filters SET active = ?2, modified = CURRENT_TIMESTAMP WHERE id = ?1",
            args![id, active],
        )? > 0)
    }

    /// Filters that name an annotator and run when it annotates an object.
    pub fn active_on_annotations(&mut self) -> Result<Vec<StoredFilter>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(StoredFilter::runs_on_annotations)
            .collect())
    }

    /// Tell a filter's owner something went wrong (kind: `failed`, `timeout`, `delivery`,
    /// `quota`). A report repeating the last one for the same filter bumps its count and
    /// time instead of adding a row, so a filter failing on every batch leaves one line.
    pub fn report(
        &mut self,
        f: &StoredFilter,
        kind: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO filter_reports (filter_id, owner, kind, message) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (filter_id, kind, message)
             DO UPDATE SET count = filter_reports.count + 1, last_at = CURRENT_TIMESTAMP",
            args![f.id, f.owner, kind, message],
        )?;
        Ok(())
    }

    /// An owner's reports (everyone's for None), newest first.
    pub fn reports(&mut self, owner: Option<i64>) -> Result<Vec<FilterReport>, StoreError> {
        let (sql, args) = match owner {
            Some(o) => ("WHERE owner = ?1", vec![o.into()]),
            None => ("", vec![]),
        };
        self.db
            .query(
                &format!(
                    "SELECT filter_id, owner, kind, message, count, first_at, last_at FROM filter_reports
                     {sql} ORDER BY last_at DESC, filter_id"
                ),
                &args,
            )?
            .iter()
            .map(|r| {
                Ok(FilterReport {
                    filter_id: r.get(0)?,
                    owner: r.get(1)?,
                    kind: r.get(2)?,
                    message: r.get(3)?,
                    count: r.get(4)?,
                    first_at: r.get(5)?,
                    last_at: r.get(6)?,
                })
            })
            .collect()
    }

    /// Keep filters' latest result records (JSON), at most `keep` per filter; one
    /// transaction for all of them (one batch's worth), so one sync.
    pub fn record_outputs(
        &mut self,
        outputs: &[(i64, Vec<String>)],
        keep: usize,
    ) -> Result<(), StoreError> {
        if outputs.is_empty() {
            return Ok(());
        }
        self.db.transaction(|db| {
            for (filter_id, records) in outputs {
                let rows: Vec<Vec<crate::db::Value>> = records
                    .iter()
                    .rev()
                    .take(keep)
                    .rev()
                    .map(|r| args![filter_id, r].to_vec())
                    .collect();
                db.execute_rows(
                    "INSERT INTO filter_outputs (filter_id, record) VALUES",
                    "",
                    &rows,
                )?;
                db.execute(
                    "DELETE FROM filter_outputs WHERE filter_id = ?1 AND seq <= (
                       SELECT seq FROM filter_outputs WHERE filter_id = ?1
                       ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                    args![filter_id, keep as i64],
                )?;
            }
            Ok(())
        })
    }

    /// A filter's latest result records, newest first: (UTC time, JSON).
    pub fn recent_outputs(
        &mut self,
        filter_id: i64,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.db
            .query(
                "SELECT utc, record FROM filter_outputs WHERE filter_id = ?1 ORDER BY seq DESC LIMIT ?2",
                args![filter_id, limit as i64],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }
}
