//! Database plumbing for handlers: database calls block, so they run on tokio's blocking
//! threads ([`blocking`]); connections to the main database (SQLite or PostgreSQL) and the
//! lightcurve store are kept open in a [`Pool`] (`r2d2`) and taken per request (under WAL
//! a SQLite reader never holds up the pipeline's writer).

use serde_json::{Map, Value};
use solas_store::db::Value as DbValue;
use solas_store::StoreError;

use crate::error::ApiError;

/// Run blocking work off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a request's worker failed: {e}")))
}

/// A stored value as JSON: integers stay integers (64-bit ids are exact), non-finite reals
/// become null.
pub(crate) fn json_of(v: &DbValue) -> Value {
    match v {
        DbValue::Null => Value::Null,
        DbValue::Int(n) => Value::from(*n),
        DbValue::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        DbValue::Text(t) => Value::String(t.clone()),
        DbValue::Blob(b) => Value::String(format!("<{} bytes>", b.len())),
    }
}

/// Every row the store read, as JSON objects keyed by column name.
pub(crate) fn all(
    (names, rows): solas_store::main_db::object_view::Named,
) -> Vec<Map<String, Value>> {
    named_json(&names, &rows)
}

/// The first row the store read, if any, as a JSON object.
pub(crate) fn first(named: solas_store::main_db::object_view::Named) -> Option<Map<String, Value>> {
    all(named).into_iter().next()
}

/// Rows as JSON objects keyed by their column names.
pub(crate) fn named_json(
    names: &[String],
    rows: &[solas_store::db::Row],
) -> Vec<Map<String, Value>> {
    rows.iter()
        .map(|r| {
            names
                .iter()
                .zip(&r.0)
                .map(|(n, v)| (n.clone(), json_of(v)))
                .collect()
        })
        .collect()
}

/// Opens one store handle for [`r2d2`].
pub(crate) struct Opener<T> {
    open: Box<dyn Fn() -> Result<T, StoreError> + Send + Sync>,
}

impl<T: Send + 'static> r2d2::ManageConnection for Opener<T> {
    type Connection = T;
    type Error = StoreError;

    fn connect(&self) -> Result<T, StoreError> {
        (self.open)()
    }

    // Nothing to check: the stores connect again by themselves after the server closed a
    // connection (a PostgreSQL restart), so a pooled handle never stays broken.
    fn is_valid(&self, _: &mut T) -> Result<(), StoreError> {
        Ok(())
    }

    fn has_broken(&self, _: &mut T) -> bool {
        false
    }
}

/// Store handles reused across requests, at most `size` open: a burst of requests waits
/// for a free one (up to [`WAIT`]) instead of opening connections past the server's limit.
pub(crate) struct Pool<T: Send + 'static>(Option<r2d2::Pool<Opener<T>>>);

/// How long a request waits for a free handle.
const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl<T: Send + 'static> Pool<T> {
    /// A pool that opens handles as requests need them (none at first).
    pub(crate) fn new(
        size: u32,
        open: impl Fn() -> Result<T, StoreError> + Send + Sync + 'static,
    ) -> Pool<T> {
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(WAIT)
            .test_on_check_out(false)
            .build_unchecked(Opener {
                open: Box::new(open),
            });
        Pool(Some(pool))
    }

    /// A handle for this request, back in the pool when dropped.
    pub(crate) fn take(&self) -> Result<r2d2::PooledConnection<Opener<T>>, ApiError> {
        let pool = self
            .0
            .as_ref()
            .ok_or_else(|| ApiError::internal("pool closed"))?;
        pool.get()
            .map_err(|e| ApiError::internal(format!("no database handle: {e}")))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, ApiError> {
        let mut handle = self.take()?;
        Ok(f(&mut handle))
    }
}

impl<T: Send + 'static> Drop for Pool<T> {
    /// Closing a synchronous PostgreSQL client blocks on a runtime of its own, which tokio
    /// forbids inside the server's: the handles are closed on a thread of their own.
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(pool));
            }
        }
    }
}
