//! The context classifier's cache in the main database (`context_cache`): one answer per
//! object, valid only for the classifier and catalogue version it was computed with.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use solas_core::Survey;

use crate::db::{Db, Target, Value};
use crate::{ContextCache, StoreError};

pub struct DbContextCache {
    db: Db,
    planner_stats: super::planner_stats::PlannerStats,
}

impl DbContextCache {
    /// The cache in the main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<DbContextCache, StoreError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<DbContextCache, StoreError> {
        Ok(DbContextCache {
            db: super::connect(target)?,
            planner_stats: Default::default(),
        })
    }
}

impl ContextCache for DbContextCache {
    fn get_many(
        &mut self,
        objects: &[(Survey, i64)],
        version: &str,
    ) -> Result<HashMap<(Survey, i64), String>, StoreError> {
        let mut found = HashMap::new();
        for survey in [Survey::Lsst, Survey::Ztf] {
            let ids: Vec<i64> = objects
                .iter()
                .filter(|(s, _)| *s == survey)
                .map(|(_, id)| *id)
                .collect();
            let mut rest = &ids[..];
            // A few hundred ids a statement, in a handful of statement texts.
            for size in crate::tables::statement_sizes(ids.len(), 1) {
                let (chunk, after) = rest.split_at(size);
                rest = after;
                let marks: Vec<String> = (3..3 + size).map(|i| format!("?{i}")).collect();
                let mut args = vec![crate::survey_code(survey).into(), version.into()];
                args.extend(chunk.iter().map(|&id| id.into()));
                for row in self.db.query(
                    &format!(
                        "SELECT object_id, result FROM context_cache
                         WHERE survey = ?1 AND version = ?2 AND object_id IN ({})",
                        marks.join(", ")
                    ),
                    &args,
                )? {
                    found.insert((survey, row.get(0)?), row.get(1)?);
                }
            }
        }
        Ok(found)
    }

    fn put(&mut self, entries: &[(Survey, i64, String)], version: &str) -> Result<(), StoreError> {
        // Each object once (one statement may not update a row twice on PostgreSQL), the
        // last answer kept; in key order, so concurrent writers lock rows in one order.
        let mut newest: BTreeMap<(i64, i64), &str> = BTreeMap::new();
        for (survey, object_id, result) in entries {
            newest.insert((crate::survey_code(*survey), *object_id), result);
        }
        let rows: Vec<Vec<Value>> = newest
            .into_iter()
            .map(|((survey, object_id), result)| {
                vec![
                    survey.into(),
                    object_id.into(),
                    version.into(),
                    result.into(),
                ]
            })
            .collect();
        self.db.transaction(|db| {
            db.execute_rows(
                "INSERT INTO context_cache (survey, object_id, version, result) VALUES",
                "ON CONFLICT (survey, object_id) DO UPDATE SET version = excluded.version,
                 result = excluded.result, updated = CURRENT_TIMESTAMP",
                &rows,
            )
        })?;
        self.planner_stats.wrote(
            &mut self.db,
            "context_cache",
            "object_id",
            rows.len() as u64,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context stage reads a batch's answers at once: more objects than one statement
    /// takes, both surveys, answers of another version absent, and of an object put twice
    /// in one batch the last answer kept.
    #[test]
    fn a_batch_of_answers_is_read_and_written_at_once() {
        crate::main_db::each_target("context_cache", |target| {
            drop(crate::main_db::MainDatabase::connect(target).unwrap());
            let mut cache = DbContextCache::connect(target).unwrap();
            let mut entries: Vec<(Survey, i64, String)> = (0..700)
                .map(|i| (Survey::Lsst, i, format!("lsst {i}")))
                .collect();
            entries.push((Survey::Ztf, 5, "ztf 5".into()));
            entries.push((Survey::Lsst, 7, "lsst 7 again".into()));
            cache.put(&entries, "v1").unwrap();
            cache
                .put(&[(Survey::Lsst, 9, "lsst 9 v2".into())], "v2")
                .unwrap();

            let mut asked: Vec<(Survey, i64)> = (0..1000).map(|i| (Survey::Lsst, i)).collect();
            asked.extend([(Survey::Ztf, 5), (Survey::Ztf, 6)]);
            let found = cache.get_many(&asked, "v1").unwrap();
            assert_eq!(found.len(), 700, "{target:?}");
            assert_eq!(found[&(Survey::Lsst, 699)], "lsst 699");
            assert_eq!(found[&(Survey::Lsst, 7)], "lsst 7 again");
            assert_eq!(found[&(Survey::Ztf, 5)], "ztf 5");
            assert!(!found.contains_key(&(Survey::Lsst, 9)), "another version's");
            let v2 = cache.get_many(&asked, "v2").unwrap();
            assert_eq!(v2.len(), 1);
            assert!(cache.get_many(&[], "v1").unwrap().is_empty());
        });
    }
}
