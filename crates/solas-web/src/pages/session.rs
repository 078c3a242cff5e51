//! Browser sessions for the web pages: a random session id in an HttpOnly cookie, kept
//! server-side only as its SHA-256 (like API tokens), with the user it belongs to and a
//! per-session CSRF token that every POST form carries in a hidden field.
//!
//! Sessions live in memory: a restart logs everyone out, which costs a login and keeps
//! the users file free of short-lived rows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::tokens::{new_token, token_digest};
use crate::users::User;
use crate::AppState;

/// The cookie's name.
pub(crate) const COOKIE: &str = "solas_session";

/// How long a session lasts after login.
const LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

/// Sessions beyond this many make the oldest lapse, so a flood of logins cannot grow
/// memory without bound.
const MAX_SESSIONS: usize = 100_000;

struct Entry {
    user_id: i64,
    username: String,
    csrf: String,
    expires: Instant,
}

#[derive(Default)]
pub(crate) struct Sessions {
    by_digest: Mutex<HashMap<String, Entry>>,
}

/// A logged-in viewer: who, and the CSRF token their forms must send back.
#[derive(Clone)]
pub(crate) struct Login {
    pub user: User,
    pub csrf: String,
}

impl Sessions {
    /// Start a session for `user`; returns the id to put in the cookie.
    pub(crate) fn start(&self, user: &User) -> Result<String, crate::tokens::NoRandom> {
        let id = new_token()?;
        let csrf = new_token()?;
        let now = Instant::now();
        let mut map = self.by_digest.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| e.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            token_digest(&id),
            Entry {
                user_id: user.id,
                username: user.username.clone(),
                csrf,
                expires: now + LIFETIME,
            },
        );
        Ok(id)
    }

    pub(crate) fn end(&self, id: &str) {
        self.by_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token_digest(id));
    }

    /// (user id, username, csrf) of a live session.
    fn find(&self, id: &str) -> Option<(i64, String, String)> {
        let map = self.by_digest.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(&token_digest(id))?;
        (e.expires > Instant::now()).then(|| (e.user_id, e.username.clone(), e.csrf.clone()))
    }
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
    /// Who holds the session `id` (a cookie's value), if it is live and its user active.
    pub(crate) async fn of_session(state: &AppState, id: Option<String>) -> Viewer {
        let Some(id) = id else {
            return Viewer(None);
        };
        let Some((user_id, username, csrf)) = state.shared.sessions.find(&id) else {
            return Viewer(None);
        };
        // Looked up again on every page so a user made inactive is logged out at once.
        let shared = state.shared.clone();
        let user = crate::db::blocking(move || {
            let mut users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
            users.user(&username).ok().flatten()
        })
        .await
        .ok()
        .flatten()
        .filter(|u| u.active && u.id == user_id);
        Viewer(user.map(|user| Login { user, csrf }))
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
