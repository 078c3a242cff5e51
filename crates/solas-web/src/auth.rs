//! Who is calling: tokens, passwords and the extractor every API handler takes.
//!
//! A request authenticates as Lasair's do: `Authorization: Token <key>` (DRF's
//! `TokenAuthentication`) or `?token=<key>` (Lasair's `QueryAuthentication`). The key is
//! hashed with SHA-256 and looked up in `users.db`; then the user's rate limit is charged.
//! Failures answer as DRF does: 401 with `{"detail": ...}` and `WWW-Authenticate: Token`,
//! 429 with Lasair's `{"message": ...}`.
//!
//! Without a token, a GET from a browser logged in to the site is taken on its session
//! (the pages' data links); a POST never is.
//!
//! Passwords (for `/api/auth-token/` and the login page) are checked by [`crate::password`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::Method;

use crate::error::ApiError;
use crate::throttle::Key;
use crate::users::User;
use crate::AppState;

/// The token a request carries, from the header or the query string.
fn request_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, key) = value.split_once(' ')?;
        // DRF's keyword is `Token`; `Bearer` is what many HTTP tools send.
        if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
            return Some(key.trim().to_string());
        }
        return None;
    }
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .last()
}

/// Lasair's `QueryAuthentication` accepts keys matching `^\w+$`; anything else (or a key
/// longer than any Solas issues) is refused before touching the database.
fn plausible_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 128
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The client's address, when the server was started with connection info (tests that
/// call the router directly have none).
pub(crate) fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// An authenticated, active, not-throttled user. Taking it as a handler argument makes the
/// endpoint require a token and count against the user's rate.
pub(crate) struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<AuthUser, ApiError> {
        let Some(token) = request_token(parts) else {
            // The site's own data links (the object page's JSON, exports) work for a
            // logged-in browser: its session counts as its token, for reading only. A
            // POST is never taken on a cookie, which another site could make a browser send.
            if matches!(parts.method, Method::GET | Method::HEAD) {
                let session = crate::pages::session::cookie_session(&parts.headers);
                if let Some(login) = crate::pages::session::Viewer::of_session(state, session)
                    .await
                    .0
                {
                    return charged(state, login.user);
                }
            }
            return Err(ApiError::Unauthenticated(
                "Authentication credentials were not provided.",
            ));
        };
        // F14: an address that has sent too many wrong tokens (or passwords) waits.
        let address = client_ip(&parts.extensions).map_or(Key::Unknown, Key::Ip);
        let per_hour = state.shared.config.rates.login;
        let limits = &state.shared.login_limits;
        limits
            .address_allowed(address, per_hour)
            .map_err(|r| ApiError::Throttled(r.wait()))?;
        let user = if plausible_token(&token) {
            let users = state.shared.clone();
            crate::db::blocking(move || users.token_user(&token)).await??
        } else {
            None
        };
        let Some(user) = user else {
            limits.token_failed(address, per_hour);
            return Err(ApiError::Unauthenticated("Invalid token."));
        };
        if !user.active {
            return Err(ApiError::Unauthenticated("User inactive or deleted."));
        }
        charged(state, user)
    }
}

/// `user`, once a request is charged to their hourly rate.
fn charged(state: &AppState, user: User) -> Result<AuthUser, ApiError> {
    let limit = state.shared.config.rates.per_hour(user.class);
    state
        .shared
        .throttle
        .check(Key::User(user.id), limit)
        .map_err(ApiError::Throttled)?;
    Ok(AuthUser(user))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{new_token, token_digest};

    #[test]
    fn tokens_look_like_lasair_tokens() {
        let t = new_token().unwrap();
        assert_eq!(t.len(), 40);
        assert!(plausible_token(&t));
        assert!(!plausible_token("abc def"));
        assert!(!plausible_token("abc' OR 1=1"));
        assert_eq!(token_digest("abc").len(), 64);
    }
}
