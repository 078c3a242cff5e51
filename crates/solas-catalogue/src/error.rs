//! Errors of loading and storing catalogues. Bad *rows* are not errors: they are counted in
//! the [`crate::LoadReport`]; these are failures of a whole file or store operation.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid catalogue description: {source}")]
    Description {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("{path}: column {column:?} named in the description is not in the table (have: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: parquet: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("invalid catalogue name {0:?}: use letters, digits, '-', '_' and '.' only")]
    BadName(String),
    #[error("store {path}: {message}")]
    Store { path: PathBuf, message: String },
}

impl CatalogueError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CatalogueError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        CatalogueError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}
