//! Logging in and out of the web pages.
//!
//! `POST /login` takes a username and password (the same ones `/api/auth-token/` takes);
//! `GET /login?token=T&next=/path` takes an API token instead, so a script or a headless
//! browser can open pages as a user with one URL. Either starts a session cookie
//! ([`super::session`]) and redirects to `next` (a path on this site only).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::layout::{esc, page, read_form, see_other, PageError, PageResult};
use super::session::{cookie_session, csrf_ok, set_cookie, Viewer};
use crate::throttle::Key;
use crate::users::User;
use crate::AppState;

/// Only local paths: an absolute URL or `//host` in `next` would make the login page an
/// open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn form(next: &str, message: Option<&str>) -> String {
    let message = message
        .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    format!(
        "{message}<form class=\"stack narrow\" method=\"post\" action=\"/login\">
<input type=\"hidden\" name=\"next\" value=\"{next}\">
<label>Username <input name=\"username\" autocomplete=\"username\" required></label>
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>
<button>Log in</button></form>
<p class=\"note\">Accounts are made by the operator (<code>solas user add</code>).</p>",
        next = esc(next)
    )
}

/// Start a session for `user` and redirect.
fn logged_in(state: &AppState, user: &User, next: &str) -> PageResult {
    let id = state
        .shared
        .sessions
        .start(user)
        .map_err(PageError::internal)?;
    let mut r = see_other(next);
    let cookie = HeaderValue::from_str(&set_cookie(Some(&id))).map_err(PageError::internal)?;
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// Charge one login attempt to the client's address, so passwords cannot be guessed at
/// speed.
fn throttle(state: &AppState, parts: &axum::http::Extensions) -> Result<(), PageError> {
    let key = crate::auth::client_ip(parts).map_or(Key::Unknown, Key::Ip);
    state
        .shared
        .throttle
        .check(key, state.shared.config.rates.login.max(10))
        .map_err(|_| {
            PageError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many login attempts from your address; wait an hour.",
            )
        })
}

pub(crate) async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let next = safe_next(q.get("next").map(String::as_str));
    if let Some(token) = q.get("token") {
        let token = token.clone();
        let shared = state.shared.clone();
        let user = crate::db::blocking(move || shared.token_user(&token))
            .await?
            .map_err(PageError::from)?;
        return match user {
            Some(user) if user.active => logged_in(&state, &user, &next),
            _ => Err(PageError::new(StatusCode::UNAUTHORIZED, "Invalid token.")),
        };
    }
    Ok(page("Log in", viewer.0.as_ref(), &form(&next, None)).into_response())
}

pub(crate) async fn post(State(state): State<AppState>, req: axum::extract::Request) -> PageResult {
    let (parts, body) = req.into_parts();
    throttle(&state, &parts.extensions)?;
    let f = read_form(body).await?;
    let next = safe_next(f.get("next").map(String::as_str));
    let username = f.get("username").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let shared = state.shared.clone();
    let user = crate::db::blocking(move || {
        let mut users = shared.users.lock().unwrap_or_else(|p| p.into_inner());
        users.check_password(&username, &password)
    })
    .await?
    .map_err(PageError::internal)?;
    match user {
        Some(user) if user.active => logged_in(&state, &user, &next),
        _ => Ok((
            StatusCode::UNAUTHORIZED,
            page(
                "Log in",
                None,
                &form(&next, Some("Unknown username or wrong password.")),
            ),
        )
            .into_response()),
    }
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    req: axum::extract::Request<Body>,
) -> PageResult {
    let (parts, body) = req.into_parts();
    let f = read_form(body).await?;
    if let Some(login) = &viewer.0 {
        if !csrf_ok(login, f.get("csrf").map(String::as_str)) {
            return Err(PageError::forbidden());
        }
    }
    if let Some(id) = cookie_session(&parts.headers) {
        state.shared.sessions.end(&id);
    }
    let mut r = see_other("/");
    let cookie = HeaderValue::from_str(&set_cookie(None)).map_err(PageError::internal)?;
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// The page to send someone who must log in first.
pub(crate) fn login_required(next: &str) -> Response {
    see_other(&format!(
        "/login?next={}",
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/objects/1")), "/objects/1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
