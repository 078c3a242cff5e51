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
    /// A server backend (PostgreSQL, S3) failed.
    #[error("{0}")]
    Backend(String),
}

impl StoreError {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
