//! The filter language's [`Resources`] answered from the main database on either backend (SQLite or
//! PostgreSQL), through the store's typed look-ups: which watchlists and watchmaps a user
//! may name (their own and public ones), which annotators exist, and which watchlist holds
//! the TNS objects.

use std::cell::RefCell;
use std::path::Path;

use solas_query::{Part, QueryError, Resources};

use super::filter_names::FilterNames;
use crate::db::Target;
use crate::StoreError;

pub struct DbResources(RefCell<FilterNames>);

fn db_error(e: StoreError) -> QueryError {
    QueryError::new(
        Part::Tables,
        format!("reading watchlists, watchmaps or annotators: {e}"),
    )
}

impl DbResources {
    pub fn connect(main_db: &Target) -> Result<DbResources, StoreError> {
        Ok(DbResources(RefCell::new(FilterNames::connect(main_db)?)))
    }

    /// The main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<DbResources, StoreError> {
        Ok(DbResources(RefCell::new(FilterNames::open(main_db)?)))
    }
}

impl Resources for DbResources {
    fn watchlist_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        let found = self.0.borrow_mut().watchlist(id).map_err(db_error)?;
        Ok(found.is_some_and(|v| v.visible_to(user)))
    }

    fn mining_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        let owner = self.0.borrow_mut().mining_owner(id).map_err(db_error)?;
        // Its owner's; the operator's (user 0) also to a caller with no user.
        Ok(owner.is_some_and(|o| Some(o) == user || (o == 0 && user.is_none())))
    }

    fn watchmap_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        let found = self.0.borrow_mut().watchmap(id).map_err(db_error)?;
        Ok(found.is_some_and(|v| v.visible_to(user)))
    }

    fn annotator_exists(&self, topic: &str) -> Result<bool, QueryError> {
        self.0
            .borrow_mut()
            .annotator_exists(topic)
            .map_err(db_error)
    }

    fn tns_watchlist_id(&self) -> Result<Option<i64>, QueryError> {
        self.0.borrow_mut().tns_watchlist().map_err(db_error)
    }
}
