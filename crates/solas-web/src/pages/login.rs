//! Logging in and out of the web pages.
//!
//! `POST /login` takes a username and password (the same ones `/api/auth-token/` takes);
//! `GET /login?token=T&next=/path` takes an API token instead, so a script or a headless
//! browser can open pages as a user with one URL; a browser following such a link from
//! another site is refused (login CSRF). Either starts a session cookie
//! ([`super::session`]) and redirects to `next` (a path on this site only). Wrong
//! passwords and wrong tokens count against the address ([`crate::login_limits`]).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use maud::{html, Markup};

use super::layout::{page, read_form, see_other, PageError, PageResult, SMALL_FORM};
use super::session::{cookie_session, csrf_ok, served_over_https, set_cookie, Viewer};
use crate::throttle::Key;
use crate::users::User;
use crate::AppState;

/// Longest `next` kept.
const MAX_NEXT: usize = 2048;

/// `next` if it is a path on this site, else `/`, so the login page is no open redirect.
///
/// Browsers drop tabs and newlines from a `Location` and read `\` as `/`, so `/\t/host`
/// would become `//host`, another site. Only printable ASCII is kept (which also keeps the
/// header valid: a newline there used to fail the answer after the session had started),
/// with no backslash, and the path must start with exactly one `/` and have no empty or
/// dot segment (`/.//host` is a path to `//host` once a browser removes the dot).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

fn is_local_path(n: &str) -> bool {
    if n.len() > MAX_NEXT || !n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return false;
    }
    let Ok(uri) = n.parse::<axum::http::Uri>() else {
        return false;
    };
    if uri.scheme().is_some() || uri.authority().is_some() {
        return false;
    }
    let Some(rest) = uri.path().strip_prefix('/') else {
        return false;
    };
    // Segments after the leading `/`: none may be empty (`//`) or a dot segment, except
    // that the path may end with `/`.
    let mut segments: Vec<&str> = rest.split('/').collect();
    if segments.last() == Some(&"") {
        segments.pop();
    }
    segments
        .iter()
        .all(|s| !s.is_empty() && *s != "." && *s != ".." && !s.eq_ignore_ascii_case("%2e"))
}

fn form(next: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message { p.error { (m) } }
        form.stack.narrow method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label { "Username " input name="username" autocomplete="username" required; }
            label {
                "Password "
                input name="password" type="password" autocomplete="current-password" required;
            }
            button { "Log in" }
        }
        p.note { "Accounts are made by the operator (" code { "solas user add" } ")." }
    }
}

/// Start a session for `user` and redirect to `next` (already checked by [`safe_next`]).
async fn logged_in(state: &AppState, user: &User, next: &str) -> PageResult {
    // The redirect is built before the session starts, so a failure cannot leave a
    // session behind that nobody received.
    let location = HeaderValue::from_str(next).map_err(PageError::internal)?;
    let (st, user) = (state.clone(), user.clone());
    let id = crate::db::blocking(move || super::session::start(&st, &user))
        .await?
        .map_err(PageError::internal)?;
    let cookie = HeaderValue::from_str(&set_cookie(Some(&id), served_over_https(state)))
        .map_err(PageError::internal)?;
    let mut r = see_other("/");
    r.headers_mut().insert(header::LOCATION, location);
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

fn too_many(refused: crate::login_limits::Refused) -> PageError {
    PageError::new(StatusCode::TOO_MANY_REQUESTS, refused.message())
}

/// `scheme://host[:port]` of a URL, lower-cased, if it has one.
fn origin_of(url: &str) -> Option<String> {
    let uri = url.trim().parse::<axum::http::Uri>().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?).to_ascii_lowercase())
}

/// Login CSRF: a browser posting the login form from another site sends that site's
/// `Origin` (or, failing that, `Referer`); refuse it. Clients that send neither (scripts,
/// `curl`) are not browsers carrying someone else's cookies, so they may log in.
///
/// This site is the public URL, the `Host`, or a proxy's `X-Forwarded-Host`: a
/// cross-site form cannot set the last two (a browser sends the real host, and custom
/// headers are not sent cross-site without this server's consent).
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let from = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let claimed = match (from(header::ORIGIN), from(header::REFERER)) {
        (Some(origin), _) => origin_of(origin),
        (None, Some(referer)) => origin_of(referer),
        (None, None) => return true,
    };
    let Some(claimed) = claimed else {
        // `Origin: null` (sandboxed frames, some redirects) or garbage: not this site.
        return false;
    };
    let public = state
        .shared
        .config
        .public_url
        .as_deref()
        .and_then(origin_of);
    let Some((_, authority)) = claimed.split_once("://") else {
        return false;
    };
    let forwarded =
        from(header::HeaderName::from_static("x-forwarded-host")).and_then(|h| h.split(',').next());
    public.is_some_and(|p| p == claimed)
        || [from(header::HOST), forwarded]
            .into_iter()
            .flatten()
            .any(|h| h.trim().eq_ignore_ascii_case(authority))
}

/// Whether a browser says the request comes from another site (`Sec-Fetch-Site`, sent by
/// every current browser; scripts send none and are not browsers to forge for).
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !matches!(v, "same-origin" | "none"))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let next = safe_next(q.get("next").map(String::as_str));
    if let Some(token) = q.get("token") {
        // F9: another site's link or image must not log the visitor in as someone else.
        if cross_site(&headers) {
            return Err(PageError::forbidden());
        }
        let address = crate::auth::client_ip(&extensions).map_or(Key::Unknown, Key::Ip);
        let per_hour = state.shared.config.rates.login;
        let limits = &state.shared.login_limits;
        limits
            .address_allowed(address, per_hour)
            .map_err(too_many)?;
        let token = token.clone();
        let shared = state.shared.clone();
        let user = crate::db::blocking(move || shared.token_user(&token))
            .await?
            .map_err(PageError::from)?;
        return match user {
            Some(user) if user.active => logged_in(&state, &user, &next).await,
            _ => {
                limits.token_failed(address, per_hour);
                Err(PageError::new(StatusCode::UNAUTHORIZED, "Invalid token."))
            }
        };
    }
    Ok(page("Log in", viewer.0.as_ref(), form(&next, None)).into_response())
}

pub(crate) async fn post(State(state): State<AppState>, req: axum::extract::Request) -> PageResult {
    let (parts, body) = req.into_parts();
    if !same_origin(&state, &parts.headers) {
        return Err(PageError::forbidden());
    }
    let address = crate::auth::client_ip(&parts.extensions).map_or(Key::Unknown, Key::Ip);
    let per_hour = state.shared.config.rates.login;
    let limits = &state.shared.login_limits;
    limits
        .address_allowed(address, per_hour)
        .map_err(too_many)?;
    let f = read_form(body, SMALL_FORM).await?;
    let next = safe_next(f.get("next").map(String::as_str));
    let username = f.get("username").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let attempt = limits
        .attempt(&username, address, per_hour)
        .map_err(too_many)?;
    let config = &state.shared.config;
    let target = crate::users::users_target(&config.data_dir, config.main_db.as_ref());
    let _turn = state
        .shared
        .password_checks
        .acquire()
        .await
        .map_err(PageError::internal)?;
    let user = crate::db::blocking(move || {
        // Its own connection, as `/api/auth-token/` does: hashing the password takes a
        // while, and the shared one serves every page's session look-up meanwhile.
        crate::users::UserStore::connect(&target)?.check_password(&username, &password)
    })
    .await?
    .map_err(PageError::internal)?;
    match user {
        Some(user) if user.active => {
            limits.succeeded(attempt);
            logged_in(&state, &user, &next).await
        }
        _ => Ok((
            StatusCode::UNAUTHORIZED,
            page(
                "Log in",
                None,
                form(&next, Some("Unknown username or wrong password.")),
            ),
        )
            .into_response()),
    }
}

/// `POST /logout`. Nobody logged in: nothing to end, and the body is not read at all
/// (anyone may post here). Logged in: a small form with the session's CSRF token.
pub(crate) async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    req: axum::extract::Request<Body>,
) -> PageResult {
    let (parts, body) = req.into_parts();
    if let Some(login) = &viewer.0 {
        let f = read_form(body, SMALL_FORM).await?;
        if !csrf_ok(login, f.get("csrf").map(String::as_str)) {
            return Err(PageError::forbidden());
        }
        if let Some(id) = cookie_session(&parts.headers) {
            let st = state.clone();
            crate::db::blocking(move || super::session::end(&st, &id))
                .await?
                .map_err(PageError::internal)?;
        }
    }
    let mut r = see_other("/");
    let cookie = HeaderValue::from_str(&set_cookie(None, served_over_https(&state)))
        .map_err(PageError::internal)?;
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
    fn f6_open_redirect_with_a_tab_or_other_trick_is_refused() {
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "http:evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "\t/evil.example",
            "/\n/evil.example",
            "/x\ny",
            "/ /evil.example",
            " /evil.example",
            "/.//evil.example",
            "/..//evil.example",
            "/%2e//evil.example",
            "/a//evil.example",
            "evil.example",
            "",
            "/objects/\u{e9}",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        for fine in [
            "/",
            "/objects/1",
            "/filters/",
            "/objects/1?survey=ztf",
            "/x%2Fy",
        ] {
            assert_eq!(safe_next(Some(fine)), fine);
        }
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/objects/1")), "/objects/1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
