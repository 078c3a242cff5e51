//! Forms POSTed to the pages, read with a size limit per kind of page.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::StatusCode;

use super::error::PageError;

/// Largest POSTed form of the pages that only send a few fields (login, logout, delete,
/// activate): enough for them, and little for anyone to make the server buffer.
pub(crate) const SMALL_FORM: usize = 8 * 1024;

/// Largest filter builder form (a query's text).
pub(crate) const FILTER_FORM: usize = 256 * 1024;

/// Largest upload form (a watchlist's CSV, a watchmap's MOC as base64).
pub(crate) const UPLOAD_FORM: usize = 100 * 1024 * 1024;

/// A POSTed `application/x-www-form-urlencoded` body as a map (last value wins), read up
/// to `limit` bytes with a clear error beyond.
pub(crate) async fn read_form(
    body: Body,
    limit: usize,
) -> Result<HashMap<String, String>, PageError> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if crate::server::body_timed_out(&e) {
            return PageError::new(
                StatusCode::REQUEST_TIMEOUT,
                "The form did not arrive in time; try again.",
            );
        }
        let size = if limit >= 1024 * 1024 {
            format!(
                "{} MB; split the upload into smaller files",
                limit / (1024 * 1024)
            )
        } else {
            format!("{} KB", limit / 1024)
        };
        PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The form is larger than {size}."),
        )
    })?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}
