//! Browser sessions for the web pages: a random session id in an HttpOnly cookie, kept
//! server-side only as its SHA-256 (like API tokens), with the user it belongs to and a
//! per-session CSRF token that every POST form carries in a hidden field.
//!
//! Sessions live in the `sessions` table beside the users (`users.db` embedded, the main
//! PostgreSQL database scaled out), so a restart keeps people logged in and several
//! `solas serve` processes behind one load balancer share them.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::users::User;
use crate::AppState;

/// The cookie's name.
pub(crate) const COOKIE: &str = "solas_session";

/// How long a session lasts after login.
const LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

/// Sessions beyond this many make the ones nearest their end lapse, so a flood of logins
/// cannot grow the table without bound.
const MAX_SESSIONS: usize = 100_000;

/// A logged-in viewer: who, and the CSRF token their forms must send back.
#[derive(Clone)]
pub(crate) struct Login {
    pub user: User,
    pub csrf: String,
}

/// Start a session for `user`; returns the id to put in the cookie. Blocks on the users'
/// database: call it off the async runtime.
pub(crate) fn start(state: &AppState, user: &User) -> Result<String, crate::users::UserError> {
    let mut users = state.shared.users.lock().unwrap_or_else(|p| p.into_inner());
    Ok(users.start_session(user.id, LIFETIME, MAX_SESSIONS)?.0)
}

/// End the session `id` (logging out). Blocks, as [`start`].
pub(crate) fn end(state: &AppState, id: &str) -> Result<(), crate::users::UserError> {
    let mut users = state.shared.users.lock().unwrap_or_else(|p| p.into_inner());
    users.end_session(id)
}

/// The session id a request's cookies carry.
pub(crate) fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The `Set-Cookie` value for a new session (or, with `None`, one that clears it).
/// `secure` (the site is served over HTTPS) keeps browsers from ever sending it in clear.
pub(crate) fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            LIFETIME.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// Whether the site's configured public URL is HTTPS (there is no trusted-proxy setting,
/// so a request's `X-Forwarded-Proto` is not believed).
pub(crate) fn served_over_https(state: &AppState) -> bool {
    state
        .shared
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
}

/// Who is looking at a page: a logged-in user, or nobody (public pages still render).
pub(crate) struct Viewer(pub Option<Login>);

impl Viewer {
    pub(crate) fn user_id(&self) -> Option<i64> {
        self.0.as_ref().map(|l| l.user.id)
    }
}

impl Viewer {
    /// Who holds the session `id` (a cookie's value), if it is live and its user active
    /// (looked up on every page, so a user made inactive is logged out at once).
    pub(crate) async fn of_session(state: &AppState, id: Option<String>) -> Viewer {
        let Some(id) = id else {
            return Viewer(None);
        };
        let shared = state.shared.clone();
        let found = crate::db::blocking(move || {
            let mut users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
            users.session(&id)
        })
        .await;
        match found {
            Ok(Ok(Some((user, csrf)))) => Viewer(Some(Login { user, csrf })),
            Ok(Ok(None)) => Viewer(None),
            Ok(Err(e)) => {
                log::warn!("looking up a session: {e}");
                Viewer(None)
            }
            Err(_) => Viewer(None),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Viewer, Self::Rejection> {
        Ok(Viewer::of_session(state, cookie_session(&parts.headers)).await)
    }
}

/// Constant-time comparison of a submitted CSRF token with the session's.
pub(crate) fn csrf_ok(login: &Login, submitted: Option<&str>) -> bool {
    let Some(s) = submitted else { return false };
    let (a, b) = (s.as_bytes(), login.csrf.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Read a POSTed form of at most `limit` bytes and check its CSRF token; `None` (and
/// nothing read) if nobody is logged in.
pub(crate) async fn posted(
    viewer: &Viewer,
    req: axum::extract::Request,
    limit: usize,
) -> Result<Option<(Login, HashMap<String, String>)>, super::error::PageError> {
    let Some(login) = viewer.0.clone() else {
        return Ok(None);
    };
    let f = super::form::read_form(req.into_body(), limit).await?;
    if !csrf_ok(&login, f.get("csrf").map(String::as_str)) {
        return Err(super::error::PageError::forbidden());
    }
    Ok(Some((login, f)))
}
