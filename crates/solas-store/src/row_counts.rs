//! Kept row counts: how many rows the big tables hold (objects, detections…), counted by
//! triggers as rows come and go, so the home and status pages read a few rows instead of
//! a `count(*)` that grows with the whole history.
//!
//! `row_counts (tbl, shard, n)`: a table's count is the sum of its shards. SQLite (one
//! writer) keeps shard 0 with a row trigger. PostgreSQL adds each statement's rows with a
//! statement trigger to the shard of the writing connection (`pg_backend_pid() % 1024`),
//! so concurrent writers in a scale-out fleet rarely wait on one counter row.

use std::collections::HashMap;

use crate::db::Db;
use crate::tables::Dialect;
use crate::StoreError;

/// A migration's SQL that starts counting `tables` (their current rows included).
pub(crate) fn migration_sql(dialect: Dialect, tables: &[&str]) -> String {
    let mut sql = String::from(
        "CREATE TABLE IF NOT EXISTS row_counts (
            tbl TEXT NOT NULL, shard INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (tbl, shard));\n",
    );
    if dialect == Dialect::Postgres {
        // Transition tables hold the rows a statement inserted (an upsert's updated rows
        // are not among them) or deleted.
        for (name, sign) in [("inserted", ""), ("deleted", "-")] {
            sql.push_str(&format!(
                "CREATE OR REPLACE FUNCTION solas_rows_{name}() RETURNS trigger LANGUAGE plpgsql AS $f$
                 BEGIN
                   INSERT INTO row_counts (tbl, shard, n)
                     SELECT TG_TABLE_NAME, pg_backend_pid() % 1024, {sign}count(*) FROM counted_rows
                   ON CONFLICT (tbl, shard) DO UPDATE SET n = row_counts.n + excluded.n;
                   RETURN NULL;
                 END $f$;\n"
            ));
        }
    }
    for t in tables {
        sql.push_str(&format!(
            "INSERT INTO row_counts (tbl, shard, n) SELECT '{t}', 0, COUNT(*) FROM {t};\n"
        ));
        match dialect {
            Dialect::Sqlite => {
                for (event, delta) in [("INSERT", "+"), ("DELETE", "-")] {
                    sql.push_str(&format!(
                        "CREATE TRIGGER {t}_counted_{event} AFTER {event} ON {t}
                         BEGIN UPDATE row_counts SET n = n {delta} 1 WHERE tbl = '{t}' AND shard = 0; END;\n"
                    ));
                }
            }
            Dialect::Postgres => {
                for (event, name, kind) in
                    [("INSERT", "inserted", "NEW"), ("DELETE", "deleted", "OLD")]
                {
                    sql.push_str(&format!(
                        "CREATE TRIGGER {t}_counted_{event} AFTER {event} ON {t}
                         REFERENCING {kind} TABLE AS counted_rows
                         FOR EACH STATEMENT EXECUTE FUNCTION solas_rows_{name}();\n"
                    ));
                }
            }
        }
    }
    sql
}

/// Every counted table's rows; a table not counted (an older database) is absent.
pub fn row_counts(db: &mut Db) -> Result<HashMap<String, i64>, StoreError> {
    if !db.has_table("row_counts")? {
        return Ok(HashMap::new());
    }
    db.query(
        "SELECT tbl, CAST(SUM(n) AS BIGINT) FROM row_counts GROUP BY tbl",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}
