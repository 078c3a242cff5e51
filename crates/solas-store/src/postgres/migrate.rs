//! Versioned migrations on PostgreSQL, as on SQLite: each applied once, in order, in its own
//! transaction, under a lock so workers starting together do not race.

use postgres::Client;

use crate::StoreError;

pub(crate) fn pg_error(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("postgresql: {e}"))
}

/// `table` records what was applied (one per store, so the stores can share a database).
/// The whole of it runs under a session advisory lock: workers starting together on a
/// fresh database would otherwise race even on `CREATE TABLE IF NOT EXISTS`.
pub(crate) fn apply(
    client: &mut Client,
    table: &str,
    migrations: &[(i64, &str, String)],
) -> Result<(), StoreError> {
    let key = format!("solas migrations {table}");
    client
        .query_one("SELECT pg_advisory_lock(hashtext($1))::text", &[&key])
        .map_err(pg_error)?;
    let result = apply_locked(client, table, migrations);
    let unlocked = client
        .query_one("SELECT pg_advisory_unlock(hashtext($1))::text", &[&key])
        .map_err(pg_error);
    result.and(unlocked.map(|_| ()))
}

fn apply_locked(
    client: &mut Client,
    table: &str,
    migrations: &[(i64, &str, String)],
) -> Result<(), StoreError> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
               version BIGINT PRIMARY KEY, name TEXT NOT NULL,
               applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        ))
        .map_err(pg_error)?;
    for (version, name, sql) in migrations {
        let mut tx = client.transaction().map_err(pg_error)?;
        let done = tx
            .query_opt(
                &format!("SELECT 1 FROM {table} WHERE version = $1"),
                &[version],
            )
            .map_err(pg_error)?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql).map_err(|e| StoreError::Migration {
            version: *version,
            name: name.to_string(),
            message: e.to_string(),
        })?;
        tx.execute(
            &format!("INSERT INTO {table} (version, name) VALUES ($1, $2)"),
            &[version, name],
        )
        .map_err(pg_error)?;
        tx.commit().map_err(pg_error)?;
    }
    Ok(())
}
