//! What a user's filter may name, looked up when it is checked: watchlists and watchmaps
//! (with their owner and whether they are public), annotators, and the TNS watchlist. The
//! filter checker (solas-query) reads these on either backend through this one type.

use std::path::Path;

use crate::args;
use crate::db::{Db, Target};
use crate::StoreError;

use super::annotations::normalise_topic;

/// Who owns a watchlist or watchmap, and whether everyone may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    pub owner: i64,
    pub public: bool,
}

impl Visibility {
    /// Whether `user` (None: nobody logged in) may name it in a filter.
    pub fn visible_to(&self, user: Option<i64>) -> bool {
        self.public || Some(self.owner) == user
    }
}

pub struct FilterNames {
    db: Db,
}

impl FilterNames {
    /// The main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<FilterNames, StoreError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<FilterNames, StoreError> {
        Ok(FilterNames {
            db: super::connect(target)?,
        })
    }

    pub fn watchlist(&mut self, wl_id: i64) -> Result<Option<Visibility>, StoreError> {
        self.visibility(
            "SELECT owner, public FROM watchlists WHERE wl_id = ?1",
            wl_id,
        )
    }

    /// A mining run's owner, if the run exists.
    pub fn mining_owner(&mut self, run_id: i64) -> Result<Option<i64>, StoreError> {
        self.db
            .query_opt(
                "SELECT owner FROM mining_runs WHERE run_id = ?1",
                args![run_id],
            )?
            .map(|r| r.get(0))
            .transpose()
    }

    pub fn watchmap(&mut self, ar_id: i64) -> Result<Option<Visibility>, StoreError> {
        self.visibility(
            "SELECT owner, public FROM watchmaps WHERE ar_id = ?1",
            ar_id,
        )
    }

    fn visibility(&mut self, sql: &str, id: i64) -> Result<Option<Visibility>, StoreError> {
        self.db
            .query_opt(sql, args![id])?
            .map(|r| {
                Ok(Visibility {
                    owner: r.get(0)?,
                    public: r.get(1)?,
                })
            })
            .transpose()
    }

    /// Whether an annotator of this topic exists (topics compare case-insensitively).
    pub fn annotator_exists(&mut self, topic: &str) -> Result<bool, StoreError> {
        Ok(self
            .db
            .query_opt(
                "SELECT 1 FROM annotators WHERE topic = ?1",
                args![normalise_topic(topic)],
            )?
            .is_some())
    }

    /// The watchlist TNS imports fill, once one has been made.
    pub fn tns_watchlist(&mut self) -> Result<Option<i64>, StoreError> {
        super::watch::tns_watchlist(&mut self.db)
    }
}
