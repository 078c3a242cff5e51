//! [`Resources`] answered from the embedded main database: which watchlists and watchmaps
//! a user may name (their own and public ones), which annotators exist, and which
//! watchlist holds the TNS objects (the operator's list `TNS` of user 0, if loaded).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{Part, QueryError, Resources};

pub struct SqliteResources {
    conn: Connection,
}

/// The owner and name of the watchlist that TNS imports fill.
pub const TNS_WATCHLIST: (i64, &str) = (0, "TNS");

fn db_error(e: rusqlite::Error) -> QueryError {
    QueryError::new(
        Part::Tables,
        format!("reading watchlists, watchmaps or annotators: {e}"),
    )
}

impl SqliteResources {
    /// Open the main database read-only.
    pub fn open(main_db: &Path) -> Result<SqliteResources, rusqlite::Error> {
        let conn = Connection::open_with_flags(
            main_db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteResources { conn })
    }

    fn allowed(
        &self,
        table: &str,
        key: &str,
        id: i64,
        user: Option<i64>,
    ) -> Result<bool, QueryError> {
        let row: Option<(i64, bool)> = self
            .conn
            .query_row(
                &format!("SELECT owner, public FROM {table} WHERE {key} = ?1"),
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_error)?;
        Ok(row.is_some_and(|(owner, public)| public || Some(owner) == user))
    }
}

impl Resources for SqliteResources {
    fn watchlist_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        self.allowed("watchlists", "wl_id", id, user)
    }

    fn watchmap_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        self.allowed("watchmaps", "ar_id", id, user)
    }

    fn annotator_exists(&self, topic: &str) -> Result<bool, QueryError> {
        self.conn
            .query_row(
                "SELECT 1 FROM annotators WHERE topic = lower(?1)",
                [topic],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(db_error)
    }

    fn tns_watchlist_id(&self) -> Result<Option<i64>, QueryError> {
        self.conn
            .query_row(
                "SELECT wl_id FROM watchlists WHERE owner = ?1 AND name = ?2",
                rusqlite::params![TNS_WATCHLIST.0, TNS_WATCHLIST.1],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)
    }
}
