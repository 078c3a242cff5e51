//! The shell every page shares (header, navigation, who is logged in, footer), the pages'
//! error answer, and reading POSTed forms. Pages are `maud` templates: every value they
//! insert is escaped unless wrapped in `PreEscaped`, which only [`script_json`] does.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub(crate) use super::error::{PageError, PageResult};
pub(crate) use super::form::{read_form, FILTER_FORM, SMALL_FORM, UPLOAD_FORM};
use super::session::Login;

/// A JSON value as table text (strings unquoted, null blank).
pub(crate) fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => format!("{}", (x * 1e6).round() / 1e6),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// JSON to embed in a `<script type="application/json">`: `<` escaped so no value can
/// close the script element (the one place a page inserts text unescaped by the template).
pub(crate) fn script_json(v: &serde_json::Value) -> Markup {
    PreEscaped(v.to_string().replace('<', "\\u003c"))
}

/// The hidden CSRF field for a POST form.
pub(crate) fn csrf_field(login: &Login) -> Markup {
    html! { input type="hidden" name="csrf" value=(login.csrf); }
}

/// A whole page around `body`.
pub(crate) fn page(title: &str, login: Option<&Login>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Solas" }
                    link rel="stylesheet" href="/static/solas.css";
                }
                body {
                    header {
                        a.brand href="/" { "Solas" }
                        nav {
                            a href="/" { "Home" } " "
                            a href="/objects" { "Objects" } " "
                            a href="/filters" { "Filters" } " "
                            a href="/watchlists" { "Watchlists" } " "
                            a href="/watchmaps" { "Watchmaps" } " "
                            a href="/events" { "Events" } " "
                            a href="/status" { "Status" } " "
                            a href="/docs/api" { "API" }
                        }
                        div.login {
                            @if let Some(l) = login {
                                a.who href="/profile" title="Your profile: API tokens, password" { (l.user.username) } " "
                                a href="/tags" { "Tags" } " "
                                form.inline method="post" action="/logout" {
                                    (csrf_field(l)) button { "Log out" }
                                }
                            } @else {
                                a href="/login" { "Log in" }
                            }
                        }
                    }
                    main {
                        h1 { (title) }
                        (body)
                    }
                    footer { "Solas alert broker · Lasair-compatible API at " code { "/api/" } }
                }
            }
        }
        .into_string(),
    )
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        // Drawn without a login here; the `error::styled` layer draws it again for the
        // viewer (their name and "Log out" in the header) from the `ErrorPage` it finds.
        let mut r = (self.status, error_page(self.status, &self.message, None)).into_response();
        r.extensions_mut().insert(ErrorPage(self.message));
        r
    }
}

/// A page's error for the `error::styled` layer to draw again for the viewer.
#[derive(Clone)]
pub(crate) struct ErrorPage(pub String);

/// The site's page for an error: what went wrong, then a way on (search, home).
pub(crate) fn error_page(status: StatusCode, message: &str, login: Option<&Login>) -> Html<String> {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "That request cannot be answered",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Please log in",
        s if s.is_server_error() => "Something went wrong here",
        s => s.canonical_reason().unwrap_or("Error"),
    };
    let body = html! {
        p.error { (message) }
        p { "Look for an object by its id, its TNS name or its position:" }
        (super::search::search_box("", 5.0))
        p.note { "Or go to the " a href="/" { "home page" } ", the " a href="/status" { "status page" } " or the " a href="/api/" { "API" } "." }
    };
    page(title, login, body)
}

/// A 303 redirect (after a POST, so reloading does not post again).
pub(crate) fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A `<table>` from column names and rows of JSON values. `link` turns a column's value
/// into a link to the object page.
pub(crate) fn json_table(
    columns: &[String],
    rows: &[serde_json::Map<String, serde_json::Value>],
    link: Option<(&str, &str)>,
) -> Markup {
    html! {
        table.rows {
            thead { tr { @for c in columns { th { (c) } } } }
            tbody {
                @for row in rows {
                    tr {
                        @for c in columns {
                            @let text = row.get(c).map(value_text).unwrap_or_default();
                            td {
                                @match link {
                                    Some((col, survey)) if col == c && !text.is_empty() => {
                                        a href={ "/objects/" (text) "?survey=" (survey) } { (text) }
                                    }
                                    _ => { (text) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_a_page_are_escaped_and_json_cannot_close_its_script() {
        let rows = vec![serde_json::json!({"name": "<a href=\"x\">'&'</a>"})
            .as_object()
            .cloned()
            .unwrap()];
        let table = json_table(&["name".into()], &rows, None).into_string();
        assert!(
            table.contains("&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;"),
            "{table}"
        );
        assert_eq!(
            script_json(&serde_json::json!({"a": "</script>"})).into_string(),
            "{\"a\":\"\\u003c/script>\"}"
        );
    }
}
