//! The context classifier's cache in the main database (`context_cache`): one answer per
//! object, valid only for the classifier and catalogue version it was computed with.

use std::path::Path;

use solas_core::Survey;

use crate::args;
use crate::db::{Db, Target};
use crate::{ContextCache, StoreError};

pub struct DbContextCache {
    db: Db,
}

impl DbContextCache {
    /// The cache in the main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<DbContextCache, StoreError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<DbContextCache, StoreError> {
        Ok(DbContextCache {
            db: super::connect(target)?,
        })
    }
}

impl ContextCache for DbContextCache {
    fn get(
        &mut self,
        survey: Survey,
        object_id: i64,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        self.db
            .query_opt(
                "SELECT result FROM context_cache WHERE survey = ?1 AND object_id = ?2 AND version = ?3",
                args![crate::survey_code(survey), object_id, version],
            )?
            .map(|r| r.get(0))
            .transpose()
    }

    fn put(&mut self, entries: &[(Survey, i64, String)], version: &str) -> Result<(), StoreError> {
        self.db.transaction(|db| {
            for (survey, object_id, result) in entries {
                db.execute(
                    "INSERT INTO context_cache (survey, object_id, version, result) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (survey, object_id) DO UPDATE SET version = excluded.version,
                     result = excluded.result, updated = CURRENT_TIMESTAMP",
                    args![crate::survey_code(*survey), object_id, version, result],
                )?;
            }
            Ok(())
        })
    }
}
