//! Why a page cannot be shown: the status and a message for the reader (the page around
//! it is drawn by `layout`).

use axum::http::StatusCode;
use axum::response::Response;

use crate::error::ApiError;

/// Why a page cannot be shown: an HTML page with the message and status.
#[derive(Debug)]
pub(crate) struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn forbidden() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            "The form has expired or did not come from this site; reload the page and try again.",
        )
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> PageError {
        log::error!("page failed: {e}");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error; the server's log has the details.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        match e {
            ApiError::Bad(m) | ApiError::Parse(m) => PageError::bad(m),
            ApiError::NotFound(_) => PageError::not_found("Not found."),
            ApiError::Busy => PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many queries are running; try again in a moment.",
            ),
            other => PageError::internal(format!("{other:?}")),
        }
    }
}

impl From<rusqlite::Error> for PageError {
    fn from(e: rusqlite::Error) -> PageError {
        PageError::internal(e)
    }
}

impl From<solas_store::StoreError> for PageError {
    fn from(e: solas_store::StoreError) -> PageError {
        match e {
            solas_store::StoreError::Invalid(m) => PageError::bad(m),
            other => PageError::internal(other),
        }
    }
}

pub(crate) type PageResult = Result<Response, PageError>;
