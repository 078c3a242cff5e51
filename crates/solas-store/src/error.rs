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

/// What a failure means for the alert being written, which decides what the pipeline does
/// with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service or disk is unavailable for now (unreachable, full, locked, restarting):
    /// wait and write again; never reject the alert nor commit its offset.
    Transient,
    /// The store refuses for good (a broken schema, a migration failure): stop and tell
    /// the operator.
    Permanent,
    /// The data itself is bad (a cutout that is not FITS): set the alert aside.
    BadInput,
}

impl StoreError {
    /// Transient, permanent or bad input. Infrastructure failures are transient by default:
    /// waiting on a misconfigured store loses nothing, rejecting data because of it does.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFits(_) | StoreError::Invalid(_) => ErrorKind::BadInput,
            StoreError::Migration { .. } | StoreError::Unique(_) => ErrorKind::Permanent,
            StoreError::Sql(e) => sqlite_kind(e),
            StoreError::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::InvalidData => ErrorKind::BadInput,
                _ => ErrorKind::Transient,
            },
            StoreError::Conflict(_) | StoreError::Backend(_) => ErrorKind::Transient,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

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

pub(crate) fn sqlite_kind(e: &rusqlite::Error) -> ErrorKind {
    use rusqlite::ffi::ErrorCode;
    match e {
        rusqlite::Error::SqliteFailure(err, _) => match err.code {
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        },
        _ => ErrorKind::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_transient_and_a_bad_cutout_is_bad_input() {
        let full = StoreError::io(
            "cutouts/00000001.pack",
            std::io::Error::from_raw_os_error(28), // ENOSPC
        );
        assert_eq!(full.kind(), ErrorKind::Transient);
        let sqlite_full = StoreError::Sql(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ));
        assert_eq!(sqlite_full.kind(), ErrorKind::Transient);
        assert_eq!(
            StoreError::Backend("object store: connection refused".into()).kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            StoreError::NotFits("no SIMPLE card".into()).kind(),
            ErrorKind::BadInput
        );
    }
}
