//! One connection to the main database, SQLite (embedded default) or PostgreSQL (scale-out),
//! so that each store is written once. Statements are written in the SQL both understand,
//! with SQLite's numbered placeholders (`?1`); on PostgreSQL they become `$1`, and
//! `CURRENT_TIMESTAMP` becomes the same `YYYY-MM-DD HH:MM:SS` text SQLite writes, so stored
//! times compare alike on both. Migrations are written once too, in SQLite's types, and
//! translated for PostgreSQL ([`Dialect::ddl`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::tables::Dialect;
use crate::StoreError;

/// Where the main database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://…` or `host=… dbname=…`).
    Postgres(String),
}

impl Target {
    /// A PostgreSQL URL or key=value string, or else a SQLite file path.
    pub fn parse(s: &str) -> Target {
        let pg = s.starts_with("postgres://")
            || s.starts_with("postgresql://")
            || s.split_whitespace()
                .any(|w| w.starts_with("host=") || w.starts_with("dbname="));
        if pg {
            Target::Postgres(s.to_string())
        } else {
            Target::Sqlite(PathBuf::from(s))
        }
    }

    /// The SQLite file, if that is where it lives.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Target::Sqlite(p) => Some(p),
            Target::Postgres(_) => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(p) => write!(f, "{}", p.display()),
            // Connection strings may carry a password.
            Target::Postgres(url) => match url.rsplit_once('@') {
                Some((_, host)) => write!(f, "postgres://…@{host}"),
                // key=value form: every setting but the password.
                None if url.contains('=') => {
                    let shown: Vec<&str> = url
                        .split_whitespace()
                        .filter(|kv| !kv.starts_with("password="))
                        .collect();
                    write!(f, "postgresql {}", shown.join(" "))
                }
                None => write!(f, "postgresql database"),
            },
        }
    }
}

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&i64> for Value {
    fn from(v: &i64) -> Self {
        Value::Int(*v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&f64> for Value {
    fn from(v: &f64) -> Self {
        Value::Float(*v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Statement arguments: `args![a, b]` is `&[Value]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::db::Value::from($v)),*][..] };
}

/// A value read back as a Rust type.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` as `T`; a NULL or a value of another type is an error unless `T` is an
    /// `Option`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StoreError> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| StoreError::Backend(format!("no column {i} in the result")))?;
        T::from_value(v).ok_or_else(|| {
            StoreError::Backend(format!(
                "column {i} holds {v:?}, not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// A versioned schema change, written in SQLite's SQL (see [`Dialect::ddl`]). Once
/// released it never changes; new columns come as new migrations.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: String,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres {
        client: Box<postgres::Client>,
        /// Prepared statements by SQL text: one parse per connection.
        prepared: HashMap<String, postgres::Statement>,
        /// For connecting again after the server closed the connection (a restart).
        url: String,
    },
    /// Only while being dropped.
    Closed,
}

/// A connection to the main database.
pub struct Db {
    conn: Conn,
}

impl Drop for Db {
    /// The synchronous PostgreSQL client closes by blocking on a runtime of its own, which
    /// tokio forbids inside another runtime (a web server dropping its pool, say): there it
    /// is closed on a thread of its own.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if let Conn::Postgres { client, .. } = std::mem::replace(&mut self.conn, Conn::Closed) {
            std::thread::spawn(move || drop(client));
        }
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the connection is closed".into())
}

fn pg(e: postgres::Error) -> StoreError {
    // The server's own words (the error's Display is only "db error").
    let text = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    };
    use postgres::error::SqlState;
    match e.code() {
        Some(&SqlState::UNIQUE_VIOLATION) => return StoreError::Unique(text),
        Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE) => {
            return StoreError::Conflict(text)
        }
        _ => {}
    }
    StoreError::Backend(format!("postgresql: {text}"))
}

fn sqlite(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(err, msg)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Unique(msg.unwrap_or_else(|| err.to_string()))
        }
        other => StoreError::Sql(other),
    }
}

impl Db {
    /// Connect (a SQLite file is created if missing, with WAL and FULL sync).
    pub fn open(target: &Target) -> Result<Db, StoreError> {
        let conn = match target {
            Target::Sqlite(path) => Conn::Sqlite(crate::sqlite::open(path)?),
            Target::Postgres(url) => Conn::Postgres {
                client: Box::new(postgres::Client::connect(url, postgres::NoTls).map_err(pg)?),
                prepared: HashMap::new(),
                url: url.clone(),
            },
        };
        Ok(Db { conn })
    }

    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres { .. } | Conn::Closed => Dialect::Postgres,
        }
    }

    /// The SQLite connection, for the code that still reads SQLite directly.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.conn {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres { .. } | Conn::Closed => None,
        }
    }

    /// After the server closed the connection (restarted, say), connect again: the failed
    /// call's error was transient, and the caller's next try finds a working connection.
    fn reconnect_if_closed(&mut self) -> Result<(), StoreError> {
        if let Conn::Postgres {
            client,
            prepared,
            url,
        } = &mut self.conn
        {
            if client.is_closed() {
                log::warn!("the PostgreSQL connection was closed; connecting again");
                **client = postgres::Client::connect(url, postgres::NoTls).map_err(pg)?;
                prepared.clear();
            }
        }
        Ok(())
    }

    /// Run one statement; returns the rows it changed.
    pub fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, StoreError> {
        self.reconnect_if_closed()?;
        match &mut self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt
                    .execute(rusqlite::params_from_iter(args.iter()))
                    .map_err(sqlite)? as u64)
            }
            Conn::Postgres {
                client, prepared, ..
            } => {
                let stmt = prepare(client, prepared, sql)?;
                let refs = pg_args(args);
                client.execute(&stmt, &refs).map_err(pg)
            }
            Conn::Closed => Err(closed()),
        }
    }

    /// Many rows by one statement text: `head` (up to and including `VALUES`), then a few
    /// hundred rows' value tuples, then `tail` (an `ON CONFLICT` clause, say), as many
    /// statements as it takes ([`crate::tables::statement_sizes`]). Every row has the
    /// first's number of values. Row by row, each was a round trip on a server. Returns
    /// the rows changed.
    pub fn execute_rows(
        &mut self,
        head: &str,
        tail: &str,
        rows: &[Vec<Value>],
    ) -> Result<u64, StoreError> {
        let Some(columns) = rows.first().map(Vec::len) else {
            return Ok(0);
        };
        if let Some(odd) = rows.iter().find(|r| r.len() != columns) {
            return Err(StoreError::Invalid(format!(
                "a row of {} values among rows of {columns}",
                odd.len()
            )));
        }
        let dialect = self.dialect();
        let mut changed = 0;
        let mut rest = rows;
        for size in crate::tables::statement_sizes(rows.len(), columns) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let values = crate::tables::value_tuples(dialect, size, columns);
            let args: Vec<Value> = chunk.iter().flatten().cloned().collect();
            changed += self.execute(&format!("{head} {values} {tail}"), &args)?;
        }
        Ok(changed)
    }

    /// Every row a query returns.
    pub fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StoreError> {
        Ok(self.query_named(sql, args)?.1)
    }

    /// The names of a query's columns, and every row it returns.
    pub fn query_named(
        &mut self,
        sql: &str,
        args: &[Value],
    ) -> Result<(Vec<String>, Vec<Row>), StoreError> {
        self.reconnect_if_closed()?;
        match &mut self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let names = stmt.column_names().iter().map(|s| s.to_string()).collect();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                        (0..n)
                            .map(|i| r.get_ref(i).map(from_sqlite))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Row)
                    })
                    .map_err(sqlite)?;
                let rows = rows.collect::<Result<Vec<_>, _>>().map_err(sqlite)?;
                Ok((names, rows))
            }
            Conn::Postgres {
                client, prepared, ..
            } => {
                let stmt = prepare(client, prepared, sql)?;
                let names = stmt
                    .columns()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect();
                let refs = pg_args(args);
                let rows = client.query(&stmt, &refs).map_err(pg)?;
                let rows = rows
                    .iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| r.try_get::<_, Value>(i).map_err(pg))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Row)
                    })
                    .collect::<Result<_, _>>()?;
                Ok((names, rows))
            }
            Conn::Closed => Err(closed()),
        }
    }

    /// The first row a query returns, if any.
    pub fn query_opt(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The one row a query must return.
    pub fn query_one(&mut self, sql: &str, args: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, args)?
            .ok_or_else(|| StoreError::Backend(format!("no row from {sql}")))
    }

    /// Whether a table exists (an older database may lack the newer ones).
    /// The number of rows of `table`, None when it does not exist (yet).
    pub fn count_rows(&mut self, table: &str) -> Result<Option<i64>, StoreError> {
        if !self.has_table(table)? {
            return Ok(None);
        }
        self.query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])?
            .get(0)
            .map(Some)
    }

    pub fn has_table(&mut self, table: &str) -> Result<bool, StoreError> {
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
            }
            Dialect::Postgres => {
                "SELECT count(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = ?1"
            }
        };
        Ok(self.query_one(sql, args![table])?.get::<i64>(0)? > 0)
    }

    /// Several statements without arguments.
    pub fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.reconnect_if_closed()?;
        match &mut self.conn {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres { client, .. } => client
                .batch_execute(&Dialect::Postgres.sql(sql))
                .map_err(pg),
            Conn::Closed => Err(closed()),
        }
    }

    /// Rows into `table`'s `columns` in one binary `COPY` (PostgreSQL; the caller's open
    /// transaction holds it). The column types are read once per connection from a
    /// prepared `SELECT`, and each value is sent as its column takes it. On SQLite, which
    /// has no round trips to save, it is refused: callers insert there.
    pub fn copy_in(
        &mut self,
        table: &str,
        columns: &str,
        rows: &[Vec<Value>],
    ) -> Result<(), StoreError> {
        self.reconnect_if_closed()?;
        match &mut self.conn {
            Conn::Postgres {
                client, prepared, ..
            } => {
                let probe = prepare(
                    client,
                    prepared,
                    &format!("SELECT {columns} FROM {table} LIMIT 0"),
                )?;
                let types: Vec<postgres::types::Type> =
                    probe.columns().iter().map(|c| c.type_().clone()).collect();
                let sink = client
                    .copy_in(&format!(
                        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
                    ))
                    .map_err(pg)?;
                let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
                for row in rows {
                    writer.write(&pg_args(row)).map_err(pg)?;
                }
                writer.finish().map_err(pg)?;
                Ok(())
            }
            Conn::Sqlite(_) => Err(StoreError::Invalid("COPY is PostgreSQL's".into())),
            Conn::Closed => Err(closed()),
        }
    }

    /// Run `f` in one transaction: committed if it returns Ok, rolled back otherwise. On
    /// SQLite the write lock is taken at the start, so a read-then-write cannot be beaten
    /// to it by another process.
    ///
    /// On PostgreSQL, workers writing the same rows at once (after a rebalance, say) can
    /// deadlock; the server then fails one of them, and its transaction is run again.
    pub fn transaction<T>(
        &mut self,
        mut f: impl FnMut(&mut Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        const ATTEMPTS: u32 = 5;
        let mut attempt = 1;
        loop {
            match self.transaction_once(&mut f) {
                Err(StoreError::Conflict(why)) if attempt < ATTEMPTS => {
                    log::warn!("transaction run again (attempt {attempt} lost: {why})");
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }

    fn transaction_once<T>(
        &mut self,
        f: &mut impl FnMut(&mut Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.batch(match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })?;
        match f(self).and_then(|v| self.batch("COMMIT").map(|_| v)) {
            Ok(v) => Ok(v),
            Err(e) => {
                if let Err(rollback) = self.batch("ROLLBACK") {
                    log::error!("rolling back after {e}: {rollback}");
                }
                Err(e)
            }
        }
    }

    /// Apply every migration not yet recorded in `table`, in order, each in its own
    /// transaction. Processes opening a fresh database together apply each once: SQLite's
    /// write lock and a PostgreSQL advisory lock see to it. Returns the versions applied.
    pub fn migrate(
        &mut self,
        table: &str,
        migrations: &[Migration],
    ) -> Result<Vec<i64>, StoreError> {
        // Every store connects through here, per request in the web server: when all is
        // applied already (the usual case), one read answers, without the lock.
        if self.applied_all(table, migrations) {
            return Ok(Vec::new());
        }
        let key = format!("solas migrations {table}");
        let pg = self.dialect() == Dialect::Postgres;
        if pg {
            self.query_one("SELECT pg_advisory_lock(hashtext(?1))::text", args![&key])?;
        }
        let result = self.migrate_locked(table, migrations);
        if pg {
            self.query_one("SELECT pg_advisory_unlock(hashtext(?1))::text", args![&key])?;
        }
        result
    }

    /// Whether `table` records every one of `migrations` (false if it cannot be read, e.g.
    /// on a fresh database).
    fn applied_all(&mut self, table: &str, migrations: &[Migration]) -> bool {
        let Ok(rows) = self.query(&format!("SELECT version FROM {table}"), &[]) else {
            return false;
        };
        let applied: std::collections::HashSet<i64> =
            rows.iter().filter_map(|r| r.get(0).ok()).collect();
        migrations.iter().all(|m| applied.contains(&m.version))
    }

    fn migrate_locked(
        &mut self,
        table: &str,
        migrations: &[Migration],
    ) -> Result<Vec<i64>, StoreError> {
        let dialect = self.dialect();
        self.batch(&dialect.ddl(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )))?;
        let mut applied = Vec::new();
        for m in migrations {
            let done = self.transaction(|db| {
                let done = db
                    .query_opt(
                        &format!("SELECT 1 FROM {table} WHERE version = ?1"),
                        args![m.version],
                    )?
                    .is_some();
                if !done {
                    db.batch(&dialect.ddl(&m.sql))
                        .map_err(|e| StoreError::Migration {
                            version: m.version,
                            name: m.name.to_string(),
                            message: e.to_string(),
                        })?;
                    db.execute(
                        &format!("INSERT INTO {table} (version, name) VALUES (?1, ?2)"),
                        args![m.version, m.name],
                    )?;
                }
                Ok(done)
            })?;
            if !done {
                applied.push(m.version);
            }
        }
        Ok(applied)
    }
}

fn prepare(
    client: &mut postgres::Client,
    prepared: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement, StoreError> {
    if let Some(s) = prepared.get(sql) {
        return Ok(s.clone());
    }
    let stmt = client.prepare(&Dialect::Postgres.sql(sql)).map_err(pg)?;
    prepared.insert(sql.to_string(), stmt.clone());
    Ok(stmt)
}

fn pg_args(args: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    args.iter()
        .map(|a| a as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Float(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Values go to whatever type PostgreSQL infers for the parameter: the schema's `BIGINT`,
/// `DOUBLE PRECISION`, `TEXT` and `BYTEA`, and the narrower kinds where they turn up.
impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, BoxError> {
        use postgres::types::{IsNull, Type};
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::TEXT | &Type::VARCHAR) => i.to_string().to_sql(ty, out),
            (Value::Int(i), _) => i.to_sql(ty, out),
            (Value::Float(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Float(f), _) => f.to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(ty, out),
            (Value::Blob(b), _) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl<'a> postgres::types::FromSql<'a> for Value {
    fn from_sql(ty: &postgres::types::Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        use postgres::types::{FromSql, Type};
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ if <&str as FromSql>::accepts(ty) => Value::Text(String::from_sql(ty, raw)?),
            _ => return Err(format!("column type {ty} is not one Solas stores").into()),
        })
    }

    fn from_sql_null(_: &postgres::types::Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
}

/// Whether a PostgreSQL plan (`EXPLAIN`'s text) finds its rows only through the object key:
/// no scan or hash of a whole table, and every index or recheck condition on `object_id`.
#[cfg(test)]
pub(crate) fn finds_by_object_key(plan: &str) -> bool {
    !plan.contains("Seq Scan")
        && !plan.contains("Hash")
        && plan.contains("Cond:")
        && plan
            .lines()
            .filter(|l| l.contains("Cond:"))
            .all(|l| l.contains("object_id ="))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(db: &mut Db) {
        db.migrate(
            "test_migrations",
            &[Migration {
                version: 1,
                name: "t",
                sql: "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, \"mixedCase\" INTEGER,
                      x REAL, s TEXT, b BLOB, at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);"
                    .into(),
            }],
        )
        .unwrap();
        let big = 1_234_567_890_123_456_789i64;
        let id: i64 = db
            .query_one(
                "INSERT INTO t (\"mixedCase\", x, s, b) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                args![big, 0.5, "it's", vec![0u8, 1, 255]],
            )
            .unwrap()
            .get(0)
            .unwrap();
        let row = db
            .query_one(
                "SELECT \"mixedCase\", x, s, b, at, id FROM t WHERE id = ?1",
                args![id],
            )
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), big);
        assert_eq!(row.get::<f64>(1).unwrap(), 0.5);
        assert_eq!(row.get::<String>(2).unwrap(), "it's");
        assert_eq!(row.get::<Vec<u8>>(3).unwrap(), vec![0u8, 1, 255]);
        // Both write times as SQLite's CURRENT_TIMESTAMP does.
        let at: String = row.get(4).unwrap();
        assert_eq!(at.len(), 19, "{at}");
        assert_eq!(&at[10..11], " ");
        // A failed transaction leaves nothing behind.
        let failed = db.transaction(|db| {
            db.execute("INSERT INTO t (s) VALUES (?1)", args!["lost"])?;
            Err::<(), _>(StoreError::Invalid("stop".into()))
        });
        assert!(failed.is_err());
        let n: i64 = db
            .query_one("SELECT COUNT(*) FROM t", &[])
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 1);
        let none: Option<i64> = db
            .query_one(
                "SELECT \"mixedCase\" FROM t WHERE s IS NULL OR id = ?1",
                args![id],
            )
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(none, Some(big));
        // Migrations run once.
        assert!(db
            .migrate(
                "test_migrations",
                &[Migration {
                    version: 1,
                    name: "t",
                    sql: "CREATE TABLE t (id INTEGER);".into()
                }]
            )
            .unwrap()
            .is_empty());
    }

    #[test]
    fn sqlite_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&Target::Sqlite(dir.path().join("t.db"))).unwrap();
        roundtrip(&mut db);
    }

    #[test]
    fn postgres_roundtrip() {
        let Some(pg) = solas_testdata::servers::TempDb::create("db_roundtrip") else {
            return;
        };
        let mut db = Db::open(&Target::Postgres(pg.url())).unwrap();
        roundtrip(&mut db);
    }

    /// Two writers taking the same rows in opposite orders deadlock; the server fails one,
    /// and its transaction runs again and succeeds.
    #[test]
    fn postgres_deadlocks_are_run_again() {
        let Some(pg) = solas_testdata::servers::TempDb::create("deadlock") else {
            return;
        };
        let url = pg.url();
        let mut setup = Db::open(&Target::Postgres(url.clone())).unwrap();
        setup
            .batch("CREATE TABLE d (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO d VALUES (1, 0), (2, 0);")
            .unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let writers: Vec<_> = [(1i64, 2i64), (2, 1)]
            .into_iter()
            .map(|(first, second)| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut db = Db::open(&Target::Postgres(url)).unwrap();
                    let mut runs = 0;
                    db.transaction(|db| {
                        runs += 1;
                        db.execute("UPDATE d SET n = n + 1 WHERE id = ?1", args![first])?;
                        if runs == 1 {
                            barrier.wait();
                        }
                        db.execute("UPDATE d SET n = n + 1 WHERE id = ?1", args![second])?;
                        Ok(())
                    })
                    .unwrap();
                    runs
                })
            })
            .collect();
        let runs: Vec<u32> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        assert!(runs.iter().any(|r| *r > 1), "{runs:?}");
        let total: i64 = setup
            .query_one("SELECT CAST(SUM(n) AS BIGINT) FROM d", &[])
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(total, 4, "each writer's two updates, once");
    }

    #[test]
    fn targets() {
        assert!(matches!(
            Target::parse("postgres://u@h/db"),
            Target::Postgres(_)
        ));
        assert!(matches!(
            Target::parse("host=127.0.0.1 dbname=x"),
            Target::Postgres(_)
        ));
        assert!(matches!(Target::parse("data/solas.db"), Target::Sqlite(_)));
        assert_eq!(
            Target::parse("postgres://u:secret@h/db").to_string(),
            "postgres://…@h/db"
        );
    }
}
