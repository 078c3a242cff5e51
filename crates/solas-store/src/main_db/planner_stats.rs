//! The planner's statistics of the per-object tables, kept current while they grow fast
//! (PostgreSQL). Autovacuum analyses a table once a tenth of it has changed, but looks at
//! most once a minute: a store filling from empty (a new deployment, a replayed night) runs
//! every filter of that minute with the plan of a nearly empty table. Measured on a fresh
//! store of 100,000 Rubin alerts, a filter joining `sherlock_classifications` hashed the
//! whole table where it expected 362 rows (23 ms against 4 ms a batch once analysed).
//! So a table is analysed after every batch that brings the rows written since its last
//! analysis above the rows it then had (and at least [`MIN_ROWS`]): once per doubling.
//! Only the key column is analysed (and the row count, which any analysis updates): what
//! the server plans on these tables is a batch's join on the key (the filters themselves
//! read the batch's copies, `filter_runs::pg`), and all of `objects`' 150 columns took
//! 290 ms an analysis at 100,000 rows. An analysis also makes the
//! server plan its cached statements again: a statement prepared while the table was
//! empty keeps a plan for an empty table. (Batch reads that only look up keys, such as the
//! context cache's, are written as one probe per key instead and need no statistics.)

use std::collections::HashMap;

use crate::db::Db;
use crate::StoreError;

/// Rows written before a table is first analysed here.
const MIN_ROWS: u64 = 1000;

/// What was last seen of each table.
#[derive(Default)]
pub(crate) struct PlannerStats {
    tables: HashMap<String, Seen>,
}

struct Seen {
    /// The rows the planner believed the table held when last analysed.
    rows_then: u64,
    /// Rows inserted or updated since.
    written: u64,
}

impl PlannerStats {
    /// After a committed batch wrote `rows` rows of `table`: analyse its `key` column if the
    /// rows written since its last analysis outnumber the rows it then had. The batch is
    /// committed, so an analysis that fails is only logged (the batch must not be written
    /// again for it).
    pub(crate) fn wrote(&mut self, db: &mut Db, table: &str, key: &str, rows: u64) {
        if let Err(e) = self.analyse_if_grown(db, table, key, rows) {
            log::warn!("analysing {table} for the planner: {e}");
        }
    }

    fn analyse_if_grown(
        &mut self,
        db: &mut Db,
        table: &str,
        key: &str,
        rows: u64,
    ) -> Result<(), StoreError> {
        if db.dialect() != crate::tables::Dialect::Postgres {
            return Ok(());
        }
        let seen = match self.tables.get_mut(table) {
            Some(seen) => seen,
            None => {
                let rows_then = believed_rows(db, table)?;
                self.tables.entry(table.to_string()).or_insert(Seen {
                    rows_then,
                    written: 0,
                })
            }
        };
        seen.written += rows;
        if seen.written > seen.rows_then.max(MIN_ROWS) {
            db.batch(&format!("ANALYZE {table} (\"{key}\")"))?;
            seen.rows_then = believed_rows(db, table)?;
            seen.written = 0;
        }
        Ok(())
    }
}

/// The planner's row count of `table` (`pg_class.reltuples`; 0 for one never analysed).
fn believed_rows(db: &mut Db, table: &str) -> Result<u64, StoreError> {
    let rows: f64 = db
        .query_one(
            "SELECT GREATEST(reltuples, 0)::float8 FROM pg_class WHERE oid = to_regclass(?1)",
            crate::args![table],
        )?
        .get(0)?;
    Ok(rows as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table filled from empty is analysed once the rows written pass the rows the
    /// planner believed it had, and again only after as many again.
    #[test]
    fn a_table_is_analysed_each_time_it_has_doubled() {
        let Some(pg) = solas_testdata::servers::TempDb::create("planner_stats") else {
            return;
        };
        let mut db = Db::open(&crate::db::Target::Postgres(pg.url())).unwrap();
        db.batch("CREATE TABLE t (id BIGINT PRIMARY KEY)").unwrap();
        let mut stats = PlannerStats::default();
        let fill = |db: &mut Db, stats: &mut PlannerStats, from: i64, to: i64| {
            db.batch(&format!(
                "INSERT INTO t SELECT generate_series({from}, {})",
                to - 1
            ))
            .unwrap();
            stats
                .analyse_if_grown(db, "t", "id", (to - from) as u64)
                .unwrap();
            believed_rows(db, "t").unwrap()
        };
        assert_eq!(
            fill(&mut db, &mut stats, 0, 800),
            0,
            "under the first threshold"
        );
        assert_eq!(fill(&mut db, &mut stats, 800, 1500), 1500, "analysed");
        assert_eq!(
            fill(&mut db, &mut stats, 1500, 2500),
            1500,
            "not yet doubled"
        );
        assert_eq!(fill(&mut db, &mut stats, 2500, 3100), 3100, "doubled");
    }
}
