//! Versioned schema migrations: each database records the versions applied in
//! `schema_migrations`, and opening it applies the missing ones in order, each in its own
//! transaction. A migration, once released, never changes; new columns come as new
//! migrations.

use rusqlite::Connection;

use crate::StoreError;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: String,
}

/// Apply every migration newer than the database's version. Returns the versions applied.
pub fn apply(conn: &mut Connection, migrations: &[Migration]) -> Result<Vec<i64>, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )?;
    let mut applied = Vec::new();
    for m in migrations {
        // IMMEDIATE takes the write lock before reading the version, so processes opening
        // the same file at once apply each migration exactly once.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [m.version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        tx.execute_batch(&m.sql)
            .map_err(|e| StoreError::Migration {
                version: m.version,
                name: m.name.to_string(),
                message: e.to_string(),
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            rusqlite::params![m.version, m.name],
        )?;
        tx.commit()?;
        applied.push(m.version);
    }
    Ok(applied)
}
