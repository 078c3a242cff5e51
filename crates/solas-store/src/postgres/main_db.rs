//! The main database on PostgreSQL: upserts replace every column and stamp `timestamp`,
//! one transaction per batch, as on SQLite.

use postgres::types::ToSql;
use postgres::{Client, NoTls};
use solas_features::{ColumnType, ObjectRow, Value};

use crate::sqlite::OBJECT_TABLES;
use crate::tables::{create_table, upsert_sql, Dialect};
use crate::{MainDb, StoreError};

pub struct PgMainDb {
    client: Client,
    /// Prepared upserts by table: a statement lives as long as the connection.
    upserts: std::collections::HashMap<&'static str, postgres::Statement>,
}

use super::migrate::pg_error;

/// (version, name, SQL), applied in order, each in its own transaction.
fn migrations() -> Vec<(i64, &'static str, String)> {
    vec![(
        1,
        "objects, ztf_objects and context classifications",
        OBJECT_TABLES
            .iter()
            .map(|(t, c)| create_table(Dialect::Postgres, t, c))
            .collect::<String>()
            + "CREATE INDEX objects_last ON objects (\"lastDiaSourceMjdTai\");
               CREATE INDEX ztf_objects_jdmax ON ztf_objects (jdmax);",
    )]
}

/// A value as the column's type wants it; NaN and infinities are NULL, as on SQLite.
fn param(v: &Value, ty: ColumnType) -> Box<dyn ToSql + Sync> {
    match (ty, v) {
        (ColumnType::Int, Value::Int(i)) => Box::new(Some(*i)),
        (ColumnType::Float, Value::Float(f)) if f.is_finite() => Box::new(Some(*f)),
        (ColumnType::Float, Value::Int(i)) => Box::new(Some(*i as f64)),
        (ColumnType::Text, Value::Text(s)) => Box::new(Some(s.clone())),
        (ColumnType::Int, _) => Box::new(None::<i64>),
        (ColumnType::Float, _) => Box::new(None::<f64>),
        (ColumnType::Text, _) => Box::new(None::<String>),
    }
}

impl PgMainDb {
    /// Connect (e.g. `host=127.0.0.1 user=postgres dbname=solas`) and apply migrations.
    pub fn open(url: &str) -> Result<PgMainDb, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(pg_error)?;
        super::migrate::apply(&mut client, "schema_migrations", &migrations())?;
        Ok(PgMainDb {
            client,
            upserts: Default::default(),
        })
    }
}

impl MainDb for PgMainDb {
    fn upsert_objects(&mut self, rows: &[ObjectRow]) -> Result<(), StoreError> {
        let mut tables = Vec::with_capacity(rows.len());
        for row in rows {
            if row.values.len() != row.columns.len() {
                return Err(StoreError::Invalid(format!(
                    "objects row has {} values for {} columns",
                    row.values.len(),
                    row.columns.len()
                )));
            }
            let table = OBJECT_TABLES
                .iter()
                .find(|(_, cols)| *cols == row.columns)
                .map(|(t, _)| *t)
                .ok_or_else(|| StoreError::Invalid("row of an unknown column set".into()))?;
            if !self.upserts.contains_key(table) {
                let stmt = self
                    .client
                    .prepare(&upsert_sql(Dialect::Postgres, table, row.columns))
                    .map_err(pg_error)?;
                self.upserts.insert(table, stmt);
            }
            tables.push(table);
        }
        let mut tx = self.client.transaction().map_err(pg_error)?;
        for (row, table) in rows.iter().zip(tables) {
            let stmt = &self.upserts[table];
            let params: Vec<Box<dyn ToSql + Sync>> = row
                .values
                .iter()
                .zip(row.columns)
                .map(|(v, c)| param(v, c.ty))
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref()).collect();
            tx.execute(stmt, &refs).map_err(pg_error)?;
        }
        tx.commit().map_err(pg_error)?;
        Ok(())
    }

    fn counts(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        OBJECT_TABLES
            .iter()
            .map(|(table, _)| {
                let n: i64 = self
                    .client
                    .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
                    .map_err(pg_error)?
                    .get(0);
                Ok((table.to_string(), n as u64))
            })
            .collect()
    }
}
