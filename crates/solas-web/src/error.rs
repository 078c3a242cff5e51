//! Errors: [`WebError`] for starting the server, [`ApiError`] for answering a request.
//!
//! `ApiError` renders the bodies Lasair's clients see: DRF serializer errors
//! (`{"field": ["message"]}`) and Lasair's `{"error": "..."}` as 400, DRF's
//! `{"detail": "..."}` for 401/404/405, Lasair's throttle message as 429. The `lasair`
//! Python client turns a 400 into `LasairError('Bad Request:' + body)`, so the body is
//! what the user reads.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Starting or running the server failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("binding {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error("storage: {0}")]
    Store(#[from] solas_store::StoreError),
    #[error("catalogues: {0}")]
    Catalogue(#[from] solas_catalogue::CatalogueError),
    #[error("{0}")]
    Users(#[from] crate::users::UserError),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the server thread panicked")]
    Panicked,
    #[error("dust maps: {0}")]
    Dust(String),
}

/// Lasair's words for a throttled request (the `lasair` client prints the same).
pub(crate) const THROTTLED: &str =
    "Request limit exceeded. Either wait an hour, or see API documentation to increase your limits.";

/// Why a request is answered with something other than 200.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Parameter validation, DRF style: field name → messages (400).
    Fields(BTreeMap<String, Vec<String>>),
    /// A request that validated but cannot be answered: Lasair's `{"error": ...}` (400).
    Bad(String),
    /// No or a bad token (401).
    Unauthenticated(&'static str),
    /// Over the user's rate (429), with how long until a request fits.
    Throttled(Duration),
    /// DRF's `NotFound` (404), with its detail.
    NotFound(serde_json::Value),
    /// A body that is not what its content type says (400, DRF's `detail`).
    Parse(String),
    MethodNotAllowed(String),
    UnsupportedMediaType(String),
    /// A body beyond this many bytes (413).
    PayloadTooLarge(usize),
    /// A body the client did not finish sending in time (408).
    BodyTimeout,
    /// Too many expensive requests already running (503).
    Busy,
    /// A fault of the server, logged; the client gets a short message (500).
    Internal(String),
}

impl ApiError {
    pub(crate) fn field(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::Fields(BTreeMap::from([(name.to_string(), vec![message.into()])]))
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::users::UserError> for ApiError {
    fn from(e: crate::users::UserError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<solas_store::StoreError> for ApiError {
    fn from(e: solas_store::StoreError) -> ApiError {
        match e {
            solas_store::StoreError::Invalid(m) => ApiError::Bad(m),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Fields(fields) => (StatusCode::BAD_REQUEST, json!(fields)),
            ApiError::Bad(message) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            ApiError::Unauthenticated(detail) => {
                let mut r =
                    (StatusCode::UNAUTHORIZED, Json(json!({ "detail": detail }))).into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
                return r;
            }
            ApiError::Throttled(wait) => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "message": THROTTLED })),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(wait.as_secs().max(1)),
                );
                return r;
            }
            ApiError::NotFound(detail) => (StatusCode::NOT_FOUND, detail),
            ApiError::Parse(detail) => (StatusCode::BAD_REQUEST, json!({ "detail": detail })),
            ApiError::MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "detail": format!("Method \"{method}\" not allowed.") }),
            ),
            ApiError::UnsupportedMediaType(kind) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "detail": format!("Unsupported media type \"{kind}\" in request.") }),
            ),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "detail": format!("Request body larger than {limit} bytes.") }),
            ),
            ApiError::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                json!({ "detail": "The request body was not sent in time." }),
            ),
            ApiError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "Too many queries are running; try again in a moment." }),
            ),
            ApiError::Internal(message) => {
                log::error!("API request failed: {message}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "error": "Internal server error; the server's log has the details." }),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
