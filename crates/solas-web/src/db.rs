//! Database plumbing for handlers: database calls block, so they run on tokio's blocking
//! threads ([`blocking`]); connections to the main database (SQLite or PostgreSQL) and the
//! lightcurve store are kept open in a [`Pool`] and taken per request (under WAL a SQLite
//! reader never holds up the pipeline's writer).

use std::sync::Mutex;

use serde_json::{Map, Value};
use solas_store::db::Value as DbValue;

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

/// Open handles reused across requests: take one (or make one), use it, put it back.
pub(crate) struct Pool<T: Send + 'static> {
    idle: Mutex<Vec<T>>,
    make: Box<dyn Fn() -> Result<T, ApiError> + Send + Sync>,
    keep: usize,
}

impl<T: Send + 'static> Pool<T> {
    pub(crate) fn new(
        keep: usize,
        make: impl Fn() -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Pool<T> {
        Pool {
            idle: Mutex::new(Vec::new()),
            make: Box::new(make),
            keep,
        }
    }

    /// Add an already open handle.
    pub(crate) fn put(&self, item: T) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.keep {
            idle.push(item);
        }
    }

    /// A handle for this request, back in the pool when dropped.
    pub(crate) fn take(&self) -> Result<Pooled<'_, T>, ApiError> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let item = match taken {
            Some(item) => item,
            None => (self.make)()?,
        };
        Ok(Pooled {
            pool: self,
            item: Some(item),
        })
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, ApiError> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut item = match taken {
            Some(item) => item,
            None => (self.make)()?,
        };
        let result = f(&mut item);
        self.put(item);
        Ok(result)
    }
}

impl<T: Send + 'static> Drop for Pool<T> {
    /// Closing a synchronous PostgreSQL client blocks on a runtime of its own, which tokio
    /// forbids inside the server's: the handles are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

/// A handle taken from a [`Pool`].
pub(crate) struct Pooled<'a, T: Send + 'static> {
    pool: &'a Pool<T>,
    item: Option<T>,
}

impl<T: Send + 'static> std::ops::Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.item.as_ref().expect("present until dropped")
    }
}

impl<T: Send + 'static> std::ops::DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item.as_mut().expect("present until dropped")
    }
}

impl<T: Send + 'static> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.pool.put(item);
        }
    }
}
