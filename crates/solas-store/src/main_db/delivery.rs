//! The delivery stage's tables: `filter_delivery_stats` (bytes, records and rejections per
//! filter per UTC day: the daily byte quota's ledger), and the email digest's queue
//! (`email_queue`) and log of sent digests (`email_digest_log`). The delivery crate decides
//! what goes in; this module is the SQL.

use crate::args;
use crate::db::{Db, Migration};
use crate::tables::Dialect;
use crate::StoreError;

/// Make the quota ledger's table if it is missing.
pub fn ensure_ledger(db: &mut Db) -> Result<(), StoreError> {
    // A migration, under the database's lock: filter workers starting together on
    // PostgreSQL race on a bare CREATE TABLE IF NOT EXISTS.
    db.migrate(
        "ledger_migrations",
        &[Migration {
            version: 1,
            name: "delivery quota ledger",
            sql: "CREATE TABLE IF NOT EXISTS filter_delivery_stats (
             filter_id INTEGER NOT NULL,
             day TEXT NOT NULL,
             bytes INTEGER NOT NULL DEFAULT 0,
             records INTEGER NOT NULL DEFAULT 0,
             rejected INTEGER NOT NULL DEFAULT 0,
             PRIMARY KEY (filter_id, day)
         );"
            .into(),
        }],
    )?;
    Ok(())
}

/// What one filter delivered on one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub bytes: u64,
    pub records: u64,
    pub rejected: u64,
}

/// Add to a filter's counts of a day (`day` as `YYYY-MM-DD`, UTC).
pub fn add_day_counts(
    db: &mut Db,
    filter_id: i64,
    day: &str,
    counts: DayCounts,
) -> Result<(), StoreError> {
    // Stored integers are i64; a day's counters never get near 2^63.
    db.execute(
        "INSERT INTO filter_delivery_stats (filter_id, day, bytes, records, rejected)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (filter_id, day) DO UPDATE SET
             bytes = filter_delivery_stats.bytes + excluded.bytes,
             records = filter_delivery_stats.records + excluded.records,
             rejected = filter_delivery_stats.rejected + excluded.rejected",
        args![
            filter_id,
            day,
            counts.bytes as i64,
            counts.records as i64,
            counts.rejected as i64
        ],
    )?;
    Ok(())
}

/// A filter's counts of a day (zero when it delivered nothing).
pub fn day_counts(db: &mut Db, filter_id: i64, day: &str) -> Result<DayCounts, StoreError> {
    let Some(r) = db.query_opt(
        "SELECT bytes, records, rejected FROM filter_delivery_stats
         WHERE filter_id = ?1 AND day = ?2",
        args![filter_id, day],
    )?
    else {
        return Ok(DayCounts::default());
    };
    Ok(DayCounts {
        bytes: r.get::<i64>(0)?.max(0) as u64,
        records: r.get::<i64>(1)?.max(0) as u64,
        rejected: r.get::<i64>(2)?.max(0) as u64,
    })
}

/// Make the email queue and digest log if they are missing.
pub fn ensure_email(db: &mut Db) -> Result<(), StoreError> {
    db.migrate(
        "email_migrations",
        &[Migration {
            version: 1,
            name: "email digest queue and log",
            sql: "CREATE TABLE IF NOT EXISTS email_queue (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             filter_id INTEGER NOT NULL,
             utc TEXT NOT NULL,
             json TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS email_queue_filter ON email_queue (filter_id);
         CREATE TABLE IF NOT EXISTS email_digest_log (
             filter_id INTEGER NOT NULL,
             day TEXT NOT NULL,
             rows INTEGER NOT NULL,
             sent_utc TEXT NOT NULL,
             PRIMARY KEY (filter_id, day)
         );"
            .into(),
        }],
    )?;
    Ok(())
}

/// The queue's order column: `rowid` on SQLite, where queues made before `seq` existed
/// lack it (on newer ones `seq` is the rowid), `seq` on PostgreSQL.
fn queue_order(db: &Db) -> &'static str {
    match db.dialect() {
        Dialect::Sqlite => "rowid",
        Dialect::Postgres => "seq",
    }
}

/// Queue a filter's records (JSON) for its next digest, stamped `utc`, in one transaction.
pub fn enqueue(
    db: &mut Db,
    filter_id: i64,
    utc: &str,
    records: &[String],
) -> Result<(), StoreError> {
    db.transaction(|tx| {
        for json in records {
            tx.execute(
                "INSERT INTO email_queue (filter_id, utc, json) VALUES (?1, ?2, ?3)",
                args![filter_id, utc, json],
            )?;
        }
        Ok(())
    })
}

/// Records queued for a filter.
pub fn queued(db: &mut Db, filter_id: i64) -> Result<usize, StoreError> {
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM email_queue WHERE filter_id = ?1",
            args![filter_id],
        )?
        .get(0)?;
    Ok(n as usize)
}

/// One queued record: its place in the queue, when it was queued (UTC), and its JSON.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    pub utc: String,
    pub json: String,
}

/// A filter's queued records, oldest first.
pub fn queued_records(db: &mut Db, filter_id: i64) -> Result<Vec<Queued>, StoreError> {
    let order = queue_order(db);
    db.query(
        &format!(
            "SELECT {order}, utc, json FROM email_queue WHERE filter_id = ?1 ORDER BY {order}"
        ),
        args![filter_id],
    )?
    .iter()
    .map(|r| {
        Ok(Queued {
            seq: r.get(0)?,
            utc: r.get(1)?,
            json: r.get(2)?,
        })
    })
    .collect()
}

/// Whether the filter's digest of `day` was sent.
pub fn digest_sent(db: &mut Db, filter_id: i64, day: &str) -> Result<bool, StoreError> {
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM email_digest_log WHERE filter_id = ?1 AND day = ?2",
            args![filter_id, day],
        )?
        .get(0)?;
    Ok(n > 0)
}

/// The digest of `day` went out with the queued records up to `last_seq`: they leave the
/// queue and the day is logged, in one transaction.
pub fn digest_done(
    db: &mut Db,
    filter_id: i64,
    day: &str,
    last_seq: i64,
    rows: usize,
    sent_utc: &str,
) -> Result<(), StoreError> {
    let order = queue_order(db);
    db.transaction(|tx| {
        tx.execute(
            &format!("DELETE FROM email_queue WHERE filter_id = ?1 AND {order} <= ?2"),
            args![filter_id, last_seq],
        )?;
        tx.execute(
            "INSERT INTO email_digest_log (filter_id, day, rows, sent_utc) VALUES (?1, ?2, ?3, ?4)",
            args![filter_id, day, rows as i64, sent_utc],
        )?;
        Ok(())
    })
}
