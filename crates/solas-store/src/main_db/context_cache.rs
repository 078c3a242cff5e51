//! The context classifier's cache in the main database (`context_cache`): one answer per
//! object, valid only for the classifier and catalogue version it was computed with.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use solas_core::Survey;

use crate::db::{Db, Target, Value};
use crate::tables::Dialect;
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

/// The statement reading the answers of `ids` objects (`?1` survey, `?2` version, then the
/// ids).
///
/// On PostgreSQL each id is one probe of the key. With `object_id IN (…)` the planner,
/// whose statistics lag behind a table that fills as fast as this one, chose to read every
/// row of the survey for each statement: 100–225 ms for 256 ids at 50,000 rows, against
/// under 1 ms by the key.
fn read_sql(dialect: Dialect, ids: usize) -> String {
    match dialect {
        Dialect::Sqlite => {
            let marks: Vec<String> = (3..3 + ids).map(|i| format!("?{i}")).collect();
            format!(
                "SELECT object_id, result FROM context_cache
                 WHERE survey = ?1 AND version = ?2 AND object_id IN ({})",
                marks.join(", ")
            )
        }
        Dialect::Postgres => {
            let rows: Vec<String> = (3..3 + ids).map(|i| format!("(?{i}::BIGINT)")).collect();
            format!(
                "SELECT asked.id, cached.result FROM (VALUES {}) AS asked(id)
                 CROSS JOIN LATERAL (SELECT result FROM context_cache
                     WHERE survey = ?1 AND object_id = asked.id AND version = ?2 OFFSET 0) cached",
                rows.join(", ")
            )
        }
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
                let mut args = vec![crate::survey_code(survey).into(), version.into()];
                args.extend(chunk.iter().map(|&id| id.into()));
                let sql = read_sql(self.db.dialect(), size);
                for row in self.db.query(&sql, &args)? {
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

    /// The regression: with `object_id IN (…)` PostgreSQL read every cached answer of the
    /// survey for each 256 ids asked while its statistics lagged behind the table (100–225
    /// ms a statement halfway through a fresh run). The batch read must find each answer
    /// by its key on a table of 30,000 rows that was never analysed.
    #[test]
    fn the_batch_read_probes_the_key_on_a_table_never_analysed() {
        let Some(pg) = solas_testdata::servers::TempDb::create("context_cache_probes") else {
            return;
        };
        let target = Target::Postgres(pg.url());
        drop(crate::main_db::MainDatabase::connect(&target).unwrap());
        let mut db = crate::main_db::connect(&target).unwrap();
        db.batch(
            "INSERT INTO context_cache (survey, object_id, version, result)
             SELECT 1, i, 'v1', repeat('x', 500) FROM generate_series(1, 30000) i",
        )
        .unwrap();
        let mut args: Vec<Value> = vec![1i64.into(), "v1".into()];
        args.extend((0..256i64).map(|i| (i * 97).into()));
        let sql = format!("EXPLAIN {}", read_sql(Dialect::Postgres, 256));
        let plan: Vec<String> = db
            .query(&sql, &args)
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect();
        let plan = plan.join("\n");
        assert!(crate::db::finds_by_object_key(&plan), "{plan}");
    }
}
