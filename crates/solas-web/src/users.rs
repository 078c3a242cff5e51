//! Users and their API tokens, in their own SQLite file (`<data>/users.db`), apart from the
//! main database: the connection that runs users' filters opens `solas.db` and nothing
//! else, so no filter can ever read a user, a password hash or a token hash. The tables
//! and their SQL are the store's (`solas_store::users`); the rules are kept here.
//!
//! A token is 20 random bytes written as 40 hex digits (the shape of Lasair's DRF tokens);
//! only its SHA-256 is stored, so a copy of `users.db` gives nobody a working token. A
//! password is stored as an Argon2id hash ([`crate::password`]; older PBKDF2 hashes are
//! replaced at their user's next login). Each user has
//! a class that sets their request rate and query row cap, as Lasair's `dummy` user, normal
//! users and the `powerapi` group do.

use std::path::{Path, PathBuf};

use solas_store::db::Target;
use solas_store::users::{UserChange, UserRow, UserTables};

use crate::tokens;

/// Lasair's three kinds of API user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserClass {
    /// The shared public token (Lasair's user named `dummy`): 10 requests an hour, 1,000 rows.
    Dummy,
    /// A registered user: 100 requests an hour, 10,000 rows.
    User,
    /// Lasair's `powerapi` group: 10,000 requests an hour, 1,000,000 rows.
    Power,
}

impl UserClass {
    pub const ALL: [UserClass; 3] = [UserClass::Dummy, UserClass::User, UserClass::Power];

    pub fn as_str(self) -> &'static str {
        match self {
            UserClass::Dummy => "dummy",
            UserClass::User => "user",
            UserClass::Power => "power",
        }
    }

    /// `dummy`, `user` or `power` (Lasair's group name `powerapi` is accepted too).
    pub fn parse(s: &str) -> Option<UserClass> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dummy" | "public" => Some(UserClass::Dummy),
            "user" | "normal" => Some(UserClass::User),
            "power" | "powerapi" => Some(UserClass::Power),
            _ => None,
        }
    }

    /// Lasair's throttle rate for the class, requests per hour.
    pub fn default_requests_per_hour(self) -> u32 {
        match self {
            UserClass::Dummy => 10,
            UserClass::User => 100,
            UserClass::Power => 10_000,
        }
    }

    /// The most rows `/api/query/` returns to the class, whatever `limit` asks for (an
    /// i64, as SQL's `LIMIT` takes it).
    pub fn query_max_rows(self) -> i64 {
        match self {
            UserClass::Dummy => 1_000,
            UserClass::User => 10_000,
            UserClass::Power => 1_000_000,
        }
    }
}

/// A user class name that is none of Lasair's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown user class {0:?} (dummy, user or power)")]
pub struct UnknownClass(pub String);

impl std::str::FromStr for UserClass {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<UserClass, UnknownClass> {
        UserClass::parse(s).ok_or_else(|| UnknownClass(s.to_string()))
    }
}

impl std::fmt::Display for UserClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as the API sees them. The id is the one resources (filters, watchlists,
/// watchmaps, annotators) name as their owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub class: UserClass,
    pub active: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user named {0:?} already exists")]
    Exists(String),
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("users database: {0}")]
    Db(#[from] solas_store::StoreError),
    #[error(transparent)]
    Random(#[from] tokens::NoRandom),
    #[error(transparent)]
    Password(#[from] crate::password::HashError),
}

/// Tokens kept per user: every `/api/auth-token/` call issues a new one (only hashes are
/// stored, so an old one cannot be handed out again); beyond this many the oldest lapse.
pub const MAX_TOKENS_PER_USER: i64 = 10;

/// The users file of a data directory.
pub fn users_db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("users.db")
}

/// Where a server's users are: beside the main database when that is PostgreSQL (so every
/// API process behind a load balancer knows the same users and tokens), else
/// `<data>/users.db`.
pub fn users_target(data_dir: &Path, main_db: Option<&Target>) -> Target {
    match main_db {
        Some(t @ Target::Postgres(_)) => t.clone(),
        _ => Target::Sqlite(users_db_path(data_dir)),
    }
}

/// Create a user in `<data_dir>/users.db` (made if missing) and issue their first token.
/// Returns the user id and the token, which is shown once and never stored in clear.
pub fn add_user(
    data_dir: &Path,
    username: &str,
    email: &str,
    password: Option<&str>,
    class: UserClass,
) -> Result<(i64, String), UserError> {
    UserStore::open(&users_db_path(data_dir))?.add_user(username, email, password, class)
}

/// Issue a further token for an existing user of `<data_dir>/users.db`.
pub fn new_token(data_dir: &Path, username: &str) -> Result<String, UserError> {
    let mut store = UserStore::open(&users_db_path(data_dir))?;
    let user = store
        .user(username)?
        .ok_or_else(|| UserError::NoSuchUser(username.to_string()))?;
    store.issue_token(user.id)
}

/// Every user of `<data_dir>/users.db`, by id.
pub fn list_users(data_dir: &Path) -> Result<Vec<User>, UserError> {
    UserStore::open(&users_db_path(data_dir))?.users()
}

/// Users as the web site and API see them, over the store's users tables.
pub struct UserStore {
    tables: UserTables,
}

fn valid_username(name: &str) -> bool {
    // Django's rule for usernames: letters, digits and @ . + - _, at most 150.
    !name.is_empty()
        && name.chars().count() <= 150
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn user(row: UserRow) -> User {
    User {
        id: row.id,
        username: row.username,
        email: row.email,
        // A class edited by hand into something unknown gets the lowest rate, not an error
        // that would lock the user out of every endpoint.
        class: UserClass::parse(&row.class).unwrap_or(UserClass::Dummy),
        active: row.active,
    }
}

impl UserStore {
    /// Open (creating if needed) a users file, private to its owner.
    pub fn open(path: &Path) -> Result<UserStore, UserError> {
        Ok(UserStore {
            tables: UserTables::open(path)?,
        })
    }

    /// Open the users of `target`: a SQLite file ([`UserStore::open`]) or a PostgreSQL
    /// database (tables made if missing).
    pub fn connect(target: &Target) -> Result<UserStore, UserError> {
        Ok(UserStore {
            tables: UserTables::connect(target)?,
        })
    }

    /// Create a user and their first token: (user id, token).
    pub fn add_user(
        &mut self,
        username: &str,
        email: &str,
        password: Option<&str>,
        class: UserClass,
    ) -> Result<(i64, String), UserError> {
        let username = username.trim();
        if !valid_username(username) {
            return Err(UserError::Invalid(format!(
                "username {username:?} must be 1–150 letters, digits or @ . + - _"
            )));
        }
        let email = email.trim();
        if !email.is_empty() && !email.contains('@') {
            return Err(UserError::Invalid(format!(
                "{email:?} is not an email address"
            )));
        }
        let hash = match password {
            Some(p) => Some(crate::password::hash(check_password_text(p)?)?),
            None => None,
        };
        let token = tokens::new_token()?;
        let inserted = self.tables.insert(
            username,
            email,
            hash.as_deref(),
            class.as_str(),
            &tokens::token_digest(&token),
            MAX_TOKENS_PER_USER,
        );
        match inserted {
            Err(solas_store::StoreError::Unique(_)) => Err(UserError::Exists(username.to_string())),
            Err(e) => Err(e.into()),
            Ok(id) => Ok((id, token)),
        }
    }

    /// A new token for `user_id`; the oldest tokens beyond [`MAX_TOKENS_PER_USER`] lapse.
    pub fn issue_token(&mut self, user_id: i64) -> Result<String, UserError> {
        let token = tokens::new_token()?;
        self.tables
            .add_token(user_id, &tokens::token_digest(&token), MAX_TOKENS_PER_USER)?;
        Ok(token)
    }

    /// The active or inactive user a token belongs to, if it is a current token.
    pub fn token_user(&mut self, token: &str) -> Result<Option<User>, UserError> {
        Ok(self
            .tables
            .by_token(&tokens::token_digest(token))?
            .map(user))
    }

    /// The user when `password` is theirs; None for an unknown user, a user without a
    /// password, or a wrong password (the caller cannot tell which).
    pub fn check_password(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, UserError> {
        Ok(match self.tables.with_password(username.trim())? {
            Some((row, Some(hash))) => match crate::password::check(&hash, password) {
                crate::password::Checked::Right { rehash } => {
                    if rehash {
                        // An older kind of hash: replace it now that the password is known.
                        let new = crate::password::hash(password)?;
                        self.tables.set_password_hash(row.id, &new)?;
                    }
                    Some(user(row))
                }
                crate::password::Checked::Wrong => None,
            },
            Some(_) => None,
            None => {
                crate::password::check_nobody(password);
                None
            }
        })
    }

    /// Start a browser session for `user_id` lasting `lifetime`, keeping at most `max`:
    /// (session id for the cookie, its CSRF token).
    pub(crate) fn start_session(
        &mut self,
        user_id: i64,
        lifetime: std::time::Duration,
        max: usize,
    ) -> Result<(String, String), UserError> {
        let id = tokens::new_token()?;
        let csrf = tokens::new_token()?;
        let now = unix_now();
        self.tables.insert_session(
            &tokens::token_digest(&id),
            user_id,
            &csrf,
            now + lifetime.as_secs() as i64,
            now,
            max,
        )?;
        Ok((id, csrf))
    }

    /// The active user of a live session, with its CSRF token.
    pub(crate) fn session(&mut self, id: &str) -> Result<Option<(User, String)>, UserError> {
        Ok(self
            .tables
            .session(&tokens::token_digest(id), unix_now())?
            .map(|(row, csrf)| (user(row), csrf))
            .filter(|(u, _)| u.active))
    }

    /// A user's tokens, newest first: (number, created UTC).
    pub(crate) fn tokens_of(&mut self, user_id: i64) -> Result<Vec<(i64, String)>, UserError> {
        Ok(self.tables.tokens_of(user_id)?)
    }

    /// Revoke a user's token by its number; whether it existed.
    pub(crate) fn revoke_token(&mut self, user_id: i64, seq: i64) -> Result<bool, UserError> {
        Ok(self.tables.delete_token(user_id, seq)?)
    }

    /// Change a user's password after checking the current one, ending their other
    /// sessions; `Ok(false)` if the current password is wrong.
    pub(crate) fn change_password(
        &mut self,
        user: &User,
        current: &str,
        new: &str,
        session: &str,
    ) -> Result<bool, UserError> {
        if self.check_password(&user.username, current)?.is_none() {
            return Ok(false);
        }
        self.set_password(&user.username, new)?;
        self.tables
            .delete_other_sessions(user.id, &tokens::token_digest(session))?;
        Ok(true)
    }

    pub(crate) fn end_session(&mut self, id: &str) -> Result<(), UserError> {
        Ok(self.tables.delete_session(&tokens::token_digest(id))?)
    }

    pub fn user(&mut self, username: &str) -> Result<Option<User>, UserError> {
        Ok(self.tables.by_name(username.trim())?.map(user))
    }

    pub fn users(&mut self) -> Result<Vec<User>, UserError> {
        Ok(self.tables.all()?.into_iter().map(user).collect())
    }

    pub fn set_password(&mut self, username: &str, password: &str) -> Result<(), UserError> {
        let hash = crate::password::hash(check_password_text(password)?)?;
        self.change(username, UserChange::Password(hash))
    }

    pub fn set_class(&mut self, username: &str, class: UserClass) -> Result<(), UserError> {
        self.change(username, UserChange::Class(class.as_str().into()))
    }

    /// An inactive user's tokens are refused (and kept, for when they are reactivated).
    pub fn set_active(&mut self, username: &str, active: bool) -> Result<(), UserError> {
        self.change(username, UserChange::Active(active))
    }

    fn change(&mut self, username: &str, change: UserChange) -> Result<(), UserError> {
        if !self.tables.change(username.trim(), change)? {
            return Err(UserError::NoSuchUser(username.to_string()));
        }
        Ok(())
    }
}

fn check_password_text(p: &str) -> Result<&str, UserError> {
    if p.chars().count() < 8 {
        return Err(UserError::Invalid(
            "a password needs at least 8 characters".into(),
        ));
    }
    if p.len() > 1024 {
        return Err(UserError::Invalid(
            "a password may have at most 1024 bytes".into(),
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_map_back_to_their_user() {
        let dir = tempfile::tempdir().unwrap();
        let (id, token) = add_user(
            dir.path(),
            "alice",
            "alice@example.org",
            Some("correct horse"),
            UserClass::User,
        )
        .unwrap();
        assert_eq!(token.len(), 40);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        let mut store = UserStore::open(&users_db_path(dir.path())).unwrap();
        let user = store.token_user(&token).unwrap().unwrap();
        assert_eq!((user.id, user.username.as_str()), (id, "alice"));
        assert_eq!(user.class, UserClass::User);
        assert!(store.token_user(&"0".repeat(40)).unwrap().is_none());
        // Neither the token nor the password is anywhere in the file in clear.
        drop(store);
        let mut bytes = std::fs::read(users_db_path(dir.path())).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("users.db-wal")) {
            bytes.extend(wal);
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&token));
        assert!(!text.contains("correct horse"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(users_db_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "users.db is private to its owner");
        }
    }

    /// A password hashed before Solas used Argon2id (PBKDF2-SHA256, 60,000 rounds) still
    /// logs its user in, and that login replaces the stored hash with an Argon2id one.
    #[test]
    fn an_old_pbkdf2_hash_logs_in_and_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = UserStore::open(&dir.path().join("users.db")).unwrap();
        store
            .add_user("dora", "", Some("s3cret-pass"), UserClass::User)
            .unwrap();
        // "s3cret-pass", salt 000102…0f, from Python's hashlib.pbkdf2_hmac.
        let legacy = "pbkdf2_sha256$60000$000102030405060708090a0b0c0d0e0f$\
                      e23d96151a43eec2f327a30710c828d65beac22ae2cf24aae8946c873d78ed86";
        store
            .change("dora", UserChange::Password(legacy.into()))
            .unwrap();
        let stored = |store: &mut UserStore| -> String {
            let (_, hash) = store.tables.with_password("dora").unwrap().unwrap();
            hash.unwrap()
        };
        assert!(store
            .check_password("dora", "wrong-pass")
            .unwrap()
            .is_none());
        assert_eq!(
            stored(&mut store),
            legacy,
            "a wrong password changes nothing"
        );
        assert!(store
            .check_password("dora", "s3cret-pass")
            .unwrap()
            .is_some());
        let upgraded = stored(&mut store);
        assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
        assert!(store
            .check_password("dora", "s3cret-pass")
            .unwrap()
            .is_some());
        assert_eq!(stored(&mut store), upgraded, "upgraded once");
    }

    #[test]
    fn passwords_names_and_token_rotation() {
        let dir = tempfile::tempdir().unwrap();
        check_users(UserStore::open(&dir.path().join("users.db")).unwrap());
        if let Some(pg) = solas_testdata::servers::TempDb::create("users") {
            check_users(UserStore::connect(&Target::Postgres(pg.url())).unwrap());
        }
    }

    fn check_users(mut store: UserStore) {
        let (id, first) = store
            .add_user("bob", "", Some("hunter22!"), UserClass::Power)
            .unwrap();
        assert!(matches!(
            store.add_user("bob", "", None, UserClass::User),
            Err(UserError::Exists(_))
        ));
        assert!(store
            .add_user("bad name;", "", None, UserClass::User)
            .is_err());
        assert!(store
            .add_user("carol", "no-at-sign", None, UserClass::User)
            .is_err());
        assert!(store
            .add_user("dave", "", Some("short"), UserClass::User)
            .is_err());
        assert_eq!(
            store
                .check_password("bob", "hunter22!")
                .unwrap()
                .unwrap()
                .id,
            id
        );
        assert!(store.check_password("bob", "hunter23!").unwrap().is_none());
        assert!(store
            .check_password("nobody", "hunter22!")
            .unwrap()
            .is_none());
        // Many new tokens: the newest work, the first has lapsed.
        let mut last = String::new();
        for _ in 0..MAX_TOKENS_PER_USER {
            last = store.issue_token(id).unwrap();
        }
        assert!(store.token_user(&first).unwrap().is_none());
        assert_eq!(store.token_user(&last).unwrap().unwrap().id, id);
        store.set_active("bob", false).unwrap();
        assert!(!store.token_user(&last).unwrap().unwrap().active);
        store.set_class("bob", UserClass::Dummy).unwrap();
        assert_eq!(store.user("bob").unwrap().unwrap().class, UserClass::Dummy);
        assert!(matches!(
            store.set_class("nobody", UserClass::User),
            Err(UserError::NoSuchUser(_))
        ));
    }
}
