//! The `users` and `tokens` tables: who may use the web site and API, with their password
//! hashes and the SHA-256 digests of their tokens. They live apart from the main database
//! in embedded mode (`<data>/users.db`, readable by its owner only), so the connection that
//! runs users' filters can never read them; beside the main database when that is
//! PostgreSQL, so every API process knows the same users.
//!
//! Only rows move through here: hashing, token making and the rules for names and
//! passwords belong to the web crate.

use std::path::Path;

use crate::args;
use crate::db::{Db, Migration, Row, Target, Value};
use crate::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    password TEXT,
    class TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user_id, seq);
";

/// Migration 2: browser sessions, kept with the users so a restart keeps people logged in
/// and several `solas serve` processes behind one load balancer share them. The session
/// id itself is never stored, only its SHA-256 (as for tokens).
const SESSIONS: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    expires BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
";

/// A `users` row, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    /// The class as stored (the web crate reads it).
    pub class: String,
    pub active: bool,
}

/// A column of `users` that can be changed by name of its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// A new password hash.
    Password(String),
    Class(String),
    Active(bool),
}

const COLUMNS: &str = "id, username, email, class, active";

fn user_row(r: &Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        class: r.get(3)?,
        active: r.get(4)?,
    })
}

pub struct UserTables {
    db: Db,
}

impl UserTables {
    /// Open (creating if needed) a users file. A new file is made readable by its owner
    /// only: it holds password hashes.
    pub fn open(path: &Path) -> Result<UserTables, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let fresh = !path.exists();
        let db = Db::open(&Target::Sqlite(path.to_path_buf()))?;
        if fresh {
            restrict_permissions(path)?;
        }
        Self::with_schema(db)
    }

    /// The users of `target`: a SQLite file ([`UserTables::open`]) or a PostgreSQL database.
    pub fn connect(target: &Target) -> Result<UserTables, StoreError> {
        match target {
            Target::Sqlite(path) => Self::open(path),
            Target::Postgres(_) => Self::with_schema(Db::open(target)?),
        }
    }

    fn with_schema(mut db: Db) -> Result<UserTables, StoreError> {
        // A migration (under the database's lock), not a bare CREATE IF NOT EXISTS, which
        // PostgreSQL lets servers starting together race on.
        db.migrate(
            "users_migrations",
            &[
                Migration {
                    version: 1,
                    name: "users and tokens",
                    sql: SCHEMA.into(),
                },
                Migration {
                    version: 2,
                    name: "browser sessions",
                    sql: SESSIONS.into(),
                },
            ],
        )?;
        Ok(UserTables { db })
    }

    /// A new user with their first token (by digest), in one transaction; returns the
    /// user's id. A name already taken is [`StoreError::Unique`].
    pub fn insert(
        &mut self,
        username: &str,
        email: &str,
        password_hash: Option<&str>,
        class: &str,
        token_digest: &str,
        keep_tokens: i64,
    ) -> Result<i64, StoreError> {
        self.db.transaction(|tx| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO users (username, email, password, class) VALUES (?1, ?2, ?3, ?4)
                     RETURNING id",
                    args![username, email, password_hash, class],
                )?
                .get(0)?;
            insert_token(tx, id, token_digest, keep_tokens)?;
            Ok(id)
        })
    }

    /// Store a token (by digest) for a user; the oldest beyond `keep` lapse.
    pub fn add_token(
        &mut self,
        user_id: i64,
        token_digest: &str,
        keep: i64,
    ) -> Result<(), StoreError> {
        self.db
            .transaction(|tx| insert_token(tx, user_id, token_digest, keep))
    }

    /// The user a token (by digest) belongs to, if it is a current token.
    pub fn by_token(&mut self, token_digest: &str) -> Result<Option<UserRow>, StoreError> {
        self.db
            .query_opt(
                "SELECT u.id, u.username, u.email, u.class, u.active
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?1",
                args![token_digest],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    /// Start a session (by the digest of its id) for `user_id`, lasting until `expires`
    /// (Unix seconds). Expired sessions are dropped first, and beyond `max` sessions the
    /// ones nearest their end lapse, so a flood of logins cannot grow the table without
    /// bound.
    pub fn insert_session(
        &mut self,
        digest: &str,
        user_id: i64,
        csrf: &str,
        expires: i64,
        now: i64,
        max: usize,
    ) -> Result<(), StoreError> {
        self.db.transaction(|tx| {
            tx.execute("DELETE FROM sessions WHERE expires <= ?1", args![now])?;
            let n: i64 = tx
                .query_one("SELECT CAST(COUNT(*) AS BIGINT) FROM sessions", &[])?
                .get(0)?;
            let over = n + 1 - max as i64;
            if over > 0 {
                tx.execute(
                    "DELETE FROM sessions WHERE digest IN
                       (SELECT digest FROM sessions ORDER BY expires LIMIT ?1)",
                    args![over],
                )?;
            }
            tx.execute(
                "INSERT INTO sessions (digest, user_id, csrf, expires) VALUES (?1, ?2, ?3, ?4)",
                args![digest, user_id, csrf, expires],
            )?;
            Ok(())
        })
    }

    /// The user and CSRF token of a live session (by the digest of its id).
    pub fn session(
        &mut self,
        digest: &str,
        now: i64,
    ) -> Result<Option<(UserRow, String)>, StoreError> {
        let Some(r) = self.db.query_opt(
            "SELECT u.id, u.username, u.email, u.class, u.active, s.csrf
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.digest = ?1 AND s.expires > ?2",
            args![digest, now],
        )?
        else {
            return Ok(None);
        };
        Ok(Some((user_row(&r)?, r.get(5)?)))
    }

    /// A user's tokens, newest first: (seq, created UTC). Only digests are kept, so the
    /// tokens themselves cannot be shown again.
    pub fn tokens_of(&mut self, user_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        self.db
            .query(
                "SELECT seq, created FROM tokens WHERE user_id = ?1 ORDER BY seq DESC",
                args![user_id],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    /// Revoke a user's token `seq`; whether there was one.
    pub fn delete_token(&mut self, user_id: i64, seq: i64) -> Result<bool, StoreError> {
        Ok(self.db.execute(
            "DELETE FROM tokens WHERE user_id = ?1 AND seq = ?2",
            args![user_id, seq],
        )? > 0)
    }

    /// End every session of a user but `keep` (by digest): after a password change, a
    /// session someone else opened with the old password ends.
    pub fn delete_other_sessions(&mut self, user_id: i64, keep: &str) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND digest <> ?2",
            args![user_id, keep],
        )?;
        Ok(())
    }

    /// End a session (logging out).
    pub fn delete_session(&mut self, digest: &str) -> Result<(), StoreError> {
        self.db
            .execute("DELETE FROM sessions WHERE digest = ?1", args![digest])?;
        Ok(())
    }

    /// A user and their password hash (None: no password set).
    pub fn with_password(
        &mut self,
        username: &str,
    ) -> Result<Option<(UserRow, Option<String>)>, StoreError> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS}, password FROM users WHERE username = ?1"),
                args![username],
            )?
            .map(|r| Ok((user_row(&r)?, r.get(5)?)))
            .transpose()
    }

    /// Replace a user's password hash (an older kind upgraded at login).
    pub fn set_password_hash(&mut self, user_id: i64, hash: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE users SET password = ?1 WHERE id = ?2",
            args![hash, user_id],
        )?;
        Ok(())
    }

    pub fn by_name(&mut self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
                args![username],
            )?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    /// Every user, by id.
    pub fn all(&mut self) -> Result<Vec<UserRow>, StoreError> {
        self.db
            .query(&format!("SELECT {COLUMNS} FROM users ORDER BY id"), &[])?
            .iter()
            .map(user_row)
            .collect()
    }

    /// Change one column of a user; false when there is no such user.
    pub fn change(&mut self, username: &str, change: UserChange) -> Result<bool, StoreError> {
        let (column, value) = match change {
            UserChange::Password(hash) => ("password", Value::Text(hash)),
            UserChange::Class(class) => ("class", Value::Text(class)),
            UserChange::Active(active) => ("active", Value::Int(i64::from(active))),
        };
        let n = self.db.execute(
            &format!("UPDATE users SET {column} = ?1 WHERE username = ?2"),
            &[value, username.into()],
        )?;
        Ok(n > 0)
    }
}

/// Store a token inside a transaction; the oldest beyond `keep` lapse.
fn insert_token(tx: &mut Db, user_id: i64, digest: &str, keep: i64) -> Result<(), StoreError> {
    let seq: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM tokens WHERE user_id = ?1",
            args![user_id],
        )?
        .get(0)?;
    tx.execute(
        "INSERT INTO tokens (token_sha256, user_id, seq) VALUES (?1, ?2, ?3)",
        args![digest, user_id, seq],
    )?;
    tx.execute(
        "DELETE FROM tokens WHERE user_id = ?1 AND seq <= ?2",
        args![user_id, seq - keep],
    )?;
    Ok(())
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| StoreError::io(path, e))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> Result<(), StoreError> {
    Ok(())
}
