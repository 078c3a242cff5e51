//! Storage failures.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cutout is not a FITS file: {0}")]
    NotFits(String),
    #[error("migration {version} ({name}): {message}")]
    Migration {
        version: i64,
        name: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// Concurrent writers got in each other's way (a deadlock the server broke); running
    /// the transaction again succeeds.
    #[error("conflict with a concurrent writer: {0}")]
    Conflict(String),
    /// A row would break a uniqueness rule (a name already taken).
    #[error("already exists: {0}")]
    Unique(String),
    /// A server backend (PostgreSQL, S3) failed.
    #[error("{0}")]
    Backend(String),
}

impl StoreError {
    /// A uniqueness failure told as `what`; other errors unchanged.
    pub fn if_unique(self, what: impl FnOnce() -> String) -> StoreError {
        match self {
            StoreError::Unique(_) => StoreError::Invalid(what()),
            other => other,
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
