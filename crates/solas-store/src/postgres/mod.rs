//! PostgreSQL backends for the scale-out deployment that are PostgreSQL's own: the
//! lightcurve store, hash-partitioned by object, with versioned migrations of its own (run
//! by the one runner, [`crate::db::Db::migrate`]), on one server or sharded by object over
//! several ([`ShardedLightcurves`]). (The
//! main database on PostgreSQL is [`crate::main_db`], the same code as on SQLite.)

mod bulk;
mod lightcurves;
mod sharded;

pub use lightcurves::PgLightcurves;
pub use sharded::{shard_of, ShardedLightcurves, SHARD_SEPARATOR};

use crate::StoreError;

pub(crate) fn pg_error(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("postgresql: {e}"))
}
