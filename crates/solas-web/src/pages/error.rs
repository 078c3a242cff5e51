//! Why a page cannot be shown: the status and a message for the reader (the page around
//! it is drawn by `layout`), and the [`styled`] layer that makes every error a browser
//! meets the site's own page: a handler's [`PageError`], axum's plain-text answer to an
//! address it cannot parse (`/filters/abc`), and a path no route has. The API's answers
//! stay JSON: its clients read them.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::layout::{error_page, ErrorPage};
use super::session::{cookie_session, Viewer};
use crate::AppState;

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

/// Paths whose answers are for programs (JSON, FITS, metrics), never re-drawn as pages.
fn for_programs(path: &str) -> bool {
    [
        "/api",
        "/ztf/api",
        "/fits/",
        "/metrics",
        "/static/",
        "/cutouts/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// The answer to a path no route has: the API's JSON 404 under its base paths, else a page.
pub(crate) async fn no_route(uri: axum::extract::OriginalUri) -> Response {
    let path = uri.path();
    if for_programs(path) {
        return crate::error::ApiError::NotFound(serde_json::json!({ "detail": "Not found." }))
            .into_response();
    }
    PageError::not_found(format!("There is no page at {path} on this site.")).into_response()
}

/// Draw every error answer to a browser as the site's page, for whoever is logged in.
pub(crate) async fn styled(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let session = cookie_session(req.headers());
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || for_programs(&path) {
        return resp;
    }
    let message = if let Some(ErrorPage(m)) = resp.extensions().get::<ErrorPage>() {
        m.clone()
    } else if wants_html && is_plain_text(&resp) {
        // axum's rejections (a path or query it cannot parse) are short plain text.
        let body = axum::body::to_bytes(resp.into_body(), 4096)
            .await
            .unwrap_or_default();
        format!(
            "The address {path} is not one this site understands: {}.",
            plain_words(&String::from_utf8_lossy(&body))
        )
    } else {
        return resp;
    };
    let viewer = Viewer::of_session(&state, session).await;
    (status, error_page(status, &message, viewer.0.as_ref())).into_response()
}

/// axum's "Invalid URL: Cannot parse `abc` to a `i64`" in a reader's words.
fn plain_words(rejection: &str) -> String {
    let text = rejection.trim().trim_start_matches("Invalid URL: ");
    if let Some(rest) = text.strip_prefix("Cannot parse `") {
        if let Some((value, kind)) = rest.split_once("` to a `") {
            let kind = kind.trim_end_matches('`');
            let what = if kind.starts_with('i') || kind.starts_with('u') {
                "a whole number"
            } else if kind.starts_with('f') {
                "a number"
            } else {
                kind
            };
            return format!("“{value}” should be {what}");
        }
    }
    text.trim_end_matches('.').to_string()
}

fn is_plain_text(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/plain"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn axum_rejections_read_as_plain_words() {
        assert_eq!(
            super::plain_words("Invalid URL: Cannot parse `abc` to a `i64`"),
            "“abc” should be a whole number"
        );
        assert_eq!(
            super::plain_words("Failed to deserialize query string."),
            "Failed to deserialize query string"
        );
    }
}
