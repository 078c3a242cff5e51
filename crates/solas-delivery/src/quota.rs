//! The per-filter daily byte quota (Lasair's `byte_quota`, default 100 MB a day): how many
//! bytes each filter has delivered on each UTC day, and the [`QuotaSink`] wrapper that checks
//! the ledger before handing records to the real sink. Records past the quota are counted as
//! rejected, not delivered, so a runaway filter cannot flood its topic, inbox or endpoint.

use std::collections::HashMap;
use std::time::SystemTime;

use solas_store::db::Db;
use solas_store::main_db::delivery;

use crate::{utc_day, DeliveryError, DeliveryReport, FilterTarget, Record, Sink};

/// Lasair's `KAFKA_BYTE_QUOTA`: 100,000,000 bytes per filter per UTC day.
pub const DEFAULT_BYTE_QUOTA: i64 = 100_000_000;

/// What one filter did on one UTC day.
pub use solas_store::main_db::delivery::DayCounts as DayStats;

type Clock = Box<dyn Fn() -> SystemTime + Send>;

/// Bytes delivered per (filter, UTC day). "Today" comes from the ledger's clock, which tests
/// replace to cross midnight.
pub trait QuotaLedger: Send {
    /// Bytes the filter has delivered today.
    fn used_today(&mut self, filter_id: i64) -> Result<u64, DeliveryError>;
    /// Adds to today's counters for the filter.
    fn add(
        &mut self,
        filter_id: i64,
        bytes: u64,
        records: u64,
        records_rejected: u64,
    ) -> Result<(), DeliveryError>;
    /// The counters of a given day (`YYYY-MM-DD`), zero if none.
    fn day_stats(&mut self, filter_id: i64, day: &str) -> Result<DayStats, DeliveryError>;
}

/// A ledger in memory, for tests and for runs without a database.
pub struct MemoryLedger {
    days: HashMap<(i64, String), DayStats>,
    clock: Clock,
}

impl Default for MemoryLedger {
    fn default() -> Self {
        MemoryLedger {
            days: HashMap::new(),
            clock: Box::new(SystemTime::now),
        }
    }
}

impl MemoryLedger {
    pub fn with_clock(clock: impl Fn() -> SystemTime + Send + 'static) -> Self {
        MemoryLedger {
            days: HashMap::new(),
            clock: Box::new(clock),
        }
    }
}

impl QuotaLedger for MemoryLedger {
    fn used_today(&mut self, filter_id: i64) -> Result<u64, DeliveryError> {
        let day = utc_day((self.clock)());
        Ok(self.days.get(&(filter_id, day)).map_or(0, |s| s.bytes))
    }

    fn add(
        &mut self,
        filter_id: i64,
        bytes: u64,
        records: u64,
        records_rejected: u64,
    ) -> Result<(), DeliveryError> {
        let day = utc_day((self.clock)());
        let s = self.days.entry((filter_id, day)).or_default();
        s.bytes += bytes;
        s.records += records;
        s.rejected += records_rejected;
        Ok(())
    }

    fn day_stats(&mut self, filter_id: i64, day: &str) -> Result<DayStats, DeliveryError> {
        Ok(self
            .days
            .get(&(filter_id, day.to_string()))
            .copied()
            .unwrap_or_default())
    }
}

/// Creates `filter_delivery_stats` if it is missing. One row per (filter, UTC day), so the
/// counters survive restarts and old days stay as usage history.
pub fn ensure_schema(db: &mut Db) -> Result<(), DeliveryError> {
    Ok(delivery::ensure_ledger(db)?)
}

/// A ledger in the main database (SQLite or PostgreSQL), or a database of its own.
pub struct DbLedger {
    db: Db,
    clock: Clock,
}

impl DbLedger {
    pub fn new(db: Db) -> Result<Self, DeliveryError> {
        Self::with_clock(db, SystemTime::now)
    }

    pub fn with_clock(
        mut db: Db,
        clock: impl Fn() -> SystemTime + Send + 'static,
    ) -> Result<Self, DeliveryError> {
        ensure_schema(&mut db)?;
        Ok(DbLedger {
            db,
            clock: Box::new(clock),
        })
    }
}

impl QuotaLedger for DbLedger {
    fn used_today(&mut self, filter_id: i64) -> Result<u64, DeliveryError> {
        Ok(self.day_stats(filter_id, &utc_day((self.clock)()))?.bytes)
    }

    fn add(
        &mut self,
        filter_id: i64,
        bytes: u64,
        records: u64,
        records_rejected: u64,
    ) -> Result<(), DeliveryError> {
        let day = utc_day((self.clock)());
        let counts = DayStats {
            bytes,
            records,
            rejected: records_rejected,
        };
        Ok(delivery::add_day_counts(
            &mut self.db,
            filter_id,
            &day,
            counts,
        )?)
    }

    fn day_stats(&mut self, filter_id: i64, day: &str) -> Result<DayStats, DeliveryError> {
        Ok(delivery::day_counts(&mut self.db, filter_id, day)?)
    }
}

/// A sink that enforces each filter's daily byte quota in front of another sink.
///
/// Like Lasair, the check is "today's bytes ≥ quota → reject": a record is let through while
/// the bytes before it are under the quota, so the record that crosses the line still goes
/// and everything after it that day is rejected. Record sizes are measured as sent (the JSON
/// with its `UTC` field), so the check matches what the Kafka sink counts.
pub struct QuotaSink<S, L> {
    pub inner: S,
    pub ledger: L,
}

impl<S: Sink, L: QuotaLedger> QuotaSink<S, L> {
    pub fn new(inner: S, ledger: L) -> Self {
        QuotaSink { inner, ledger }
    }
}

impl<S: Sink, L: QuotaLedger> Sink for QuotaSink<S, L> {
    fn deliver(
        &mut self,
        target: &FilterTarget,
        records: &[Record],
    ) -> Result<DeliveryReport, DeliveryError> {
        let accepted = if target.byte_quota < 0 {
            records.len()
        } else {
            let quota = target.byte_quota as u64;
            let mut used = self.ledger.used_today(target.filter_id)?;
            let mut n = 0;
            // The UTC field is always 19 characters, so any such string gives the exact size.
            for r in records {
                if used >= quota {
                    break;
                }
                used += r.to_json_with_utc("0000-00-00 00:00:00").len() as u64;
                n += 1;
            }
            n
        };
        let rejected = (records.len() - accepted) as u64;
        if rejected > 0 {
            log::warn!(
                "filter {} ({}): daily byte quota {} reached, {} record(s) rejected",
                target.filter_id,
                target.name,
                target.byte_quota,
                rejected
            );
        }
        let result = if accepted > 0 {
            self.inner.deliver(target, &records[..accepted])
        } else {
            Ok(DeliveryReport::default())
        };
        match result {
            Ok(mut report) => {
                report.rejected_quota += rejected;
                self.ledger.add(
                    target.filter_id,
                    report.bytes,
                    report.delivered,
                    report.rejected_quota,
                )?;
                Ok(report)
            }
            Err(e) => {
                self.ledger.add(target.filter_id, 0, 0, rejected)?;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutputMode;
    use solas_store::db::Target;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    /// Counts what it is given, as a real sink would (bytes = JSON with UTC).
    #[derive(Default)]
    struct Counting {
        delivered: u64,
    }

    impl Sink for Counting {
        fn deliver(
            &mut self,
            _: &FilterTarget,
            records: &[Record],
        ) -> Result<DeliveryReport, DeliveryError> {
            self.delivered += records.len() as u64;
            let bytes = records
                .iter()
                .map(|r| r.to_json_with_utc("2026-01-01 00:00:00").len() as u64)
                .sum();
            Ok(DeliveryReport {
                delivered: records.len() as u64,
                bytes,
                rejected_quota: 0,
            })
        }
    }

    fn rec(id: i64) -> Record {
        let mut m = serde_json::Map::new();
        m.insert("diaObjectId".into(), id.into());
        Record(m)
    }

    fn size() -> u64 {
        rec(1000).to_json_with_utc("2026-01-01 00:00:00").len() as u64
    }

    /// A clock the test moves by setting seconds since the epoch.
    fn clock() -> (Arc<AtomicU64>, impl Fn() -> SystemTime + Send + 'static) {
        let secs = Arc::new(AtomicU64::new(1_767_225_600)); // 2026-01-01 00:00:00
        let c = secs.clone();
        (secs, move || {
            UNIX_EPOCH + Duration::from_secs(c.load(Ordering::SeqCst))
        })
    }

    fn check_ledger<L: QuotaLedger>(ledger: L, secs: Arc<AtomicU64>) {
        let mut target = FilterTarget::new(5, 1, "q", OutputMode::Kafka);
        target.byte_quota = (size() * 3 - 1) as i64; // the third record crosses the line
        let mut sink = QuotaSink::new(Counting::default(), ledger);
        let records: Vec<Record> = (1000..1005).map(rec).collect();
        let r = sink.deliver(&target, &records).unwrap();
        assert_eq!((r.delivered, r.rejected_quota), (3, 2));
        assert_eq!(r.bytes, size() * 3);
        // Over quota for the rest of the day: everything rejected, nothing reaches the sink.
        let r = sink.deliver(&target, &records[..2]).unwrap();
        assert_eq!((r.delivered, r.rejected_quota, r.bytes), (0, 2, 0));
        assert_eq!(sink.inner.delivered, 3);
        let s = sink.ledger.day_stats(5, "2026-01-01").unwrap();
        assert_eq!(
            s,
            DayStats {
                bytes: size() * 3,
                records: 3,
                rejected: 4
            }
        );
        // Another filter has its own quota.
        let other = FilterTarget {
            filter_id: 6,
            ..target.clone()
        };
        assert_eq!(sink.deliver(&other, &records[..1]).unwrap().delivered, 1);
        // A new UTC day starts from zero.
        secs.fetch_add(86_400, Ordering::SeqCst);
        assert_eq!(sink.deliver(&target, &records[..1]).unwrap().delivered, 1);
        assert_eq!(sink.ledger.day_stats(5, "2026-01-02").unwrap().records, 1);
        // Unlimited (-1) never rejects.
        target.byte_quota = -1;
        let r = sink.deliver(&target, &records).unwrap();
        assert_eq!((r.delivered, r.rejected_quota), (5, 0));
        // Quota 0 rejects everything.
        target.byte_quota = 0;
        assert_eq!(sink.deliver(&target, &records).unwrap().rejected_quota, 5);
    }

    #[test]
    fn memory_ledger_enforces_daily_quota() {
        let (secs, c) = clock();
        check_ledger(MemoryLedger::with_clock(c), secs);
    }

    #[test]
    fn sqlite_ledger_enforces_daily_quota_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.db");
        let (secs, c) = clock();
        let open = || Db::open(&Target::Sqlite(path.clone())).unwrap();
        check_ledger(DbLedger::with_clock(open(), c).unwrap(), secs);
        // A new process sees the same counters.
        let mut again = DbLedger::new(open()).unwrap();
        assert_eq!(again.day_stats(5, "2026-01-01").unwrap().records, 3);
        assert_eq!(
            again.day_stats(99, "2026-01-01").unwrap(),
            DayStats::default()
        );
    }

    #[test]
    fn postgres_ledger_enforces_daily_quota() {
        let Some(pg) = solas_testdata::servers::TempDb::create("ledger") else {
            return;
        };
        let (secs, c) = clock();
        let db = Db::open(&Target::Postgres(pg.url())).unwrap();
        check_ledger(DbLedger::with_clock(db, c).unwrap(), secs);
    }
}
