//! Headers every answer carries, so no page can be framed by another site (clickjacking
//! the delete and activate forms), content types are not sniffed, and URLs (which may hold
//! a `?token=`) are not sent to other sites as the referrer.
//!
//! The CSP names only what the pages allow without breaking them: they use inline event
//! handlers (the delete confirmations), so no `script-src`/`default-src` restriction.

use axum::http::{header, HeaderValue};
use axum::response::Response;

const CSP: &str = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Add the headers to `resp` (those a handler set itself are kept).
pub(crate) async fn add(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    resp
}
