//! The context classifier's cache in the main database (`context_cache`): one answer per
//! object, valid only for the classifier and catalogue version it was computed with.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use solas_core::Survey;

use crate::{ContextCache, StoreError};

pub struct SqliteContextCache {
    conn: Connection,
}

impl SqliteContextCache {
    /// Open the cache in the main database file (which must have been created by
    /// [`super::SqliteMainDb::open`], so that its migrations have run).
    pub fn open(main_db: &Path) -> Result<SqliteContextCache, StoreError> {
        Ok(SqliteContextCache {
            conn: super::open(main_db)?,
        })
    }
}

impl ContextCache for SqliteContextCache {
    fn get(
        &mut self,
        survey: Survey,
        object_id: i64,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT result FROM context_cache WHERE survey = ?1 AND object_id = ?2 AND version = ?3")?
            .query_row(params![crate::survey_code(survey), object_id, version], |r| r.get(0))
            .optional()?)
    }

    fn put(&mut self, entries: &[(Survey, i64, String)], version: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO context_cache (survey, object_id, version, result) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (survey, object_id) DO UPDATE SET version = excluded.version,
                 result = excluded.result, updated = CURRENT_TIMESTAMP",
            )?;
            for (survey, object_id, result) in entries {
                stmt.execute(params![
                    crate::survey_code(*survey),
                    object_id,
                    version,
                    result
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
