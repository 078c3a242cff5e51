//! The shell every page shares (header, navigation, who is logged in, footer), HTML
//! escaping, the pages' error answer, and reading POSTed forms.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub(crate) use super::error::{PageError, PageResult};
pub(crate) use super::form::{read_form, FILTER_FORM, SMALL_FORM, UPLOAD_FORM};
use super::session::Login;

/// Escape text for HTML element content and double-quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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
/// close the script element.
pub(crate) fn script_json(v: &serde_json::Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// The hidden CSRF field for a POST form.
pub(crate) fn csrf_field(login: &Login) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&login.csrf)
    )
}

/// A whole page: `body` is already-escaped HTML.
pub(crate) fn page(title: &str, login: Option<&Login>, body: &str) -> Html<String> {
    let who = match login {
        Some(l) => format!(
            "<span class=\"who\">{}</span> <form class=\"inline\" method=\"post\" action=\"/logout\">{}<button>Log out</button></form>",
            esc(&l.user.username),
            csrf_field(l)
        ),
        None => "<a href=\"/login\">Log in</a>".to_string(),
    };
    Html(format!(
        "<!DOCTYPE html>
<html lang=\"en\"><head><meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>{title} · Solas</title>
<link rel=\"stylesheet\" href=\"/static/solas.css\">
</head><body>
<header><a class=\"brand\" href=\"/\">Solas</a>
<nav><a href=\"/\">Home</a> <a href=\"/filters\">Filters</a> <a href=\"/watchlists\">Watchlists</a> <a href=\"/watchmaps\">Watchmaps</a> <a href=\"/status\">Status</a> <a href=\"/api/openapi.json\">API</a></nav>
<div class=\"login\">{who}</div></header>
<main>
<h1>{title}</h1>
{body}
</main>
<footer>Solas alert broker · Lasair-compatible API at <code>/api/</code></footer>
</body></html>",
        title = esc(title),
    ))
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!("<p class=\"error\">{}</p>", esc(&self.message));
        let title = self.status.canonical_reason().unwrap_or("Error");
        (self.status, page(title, None, &body)).into_response()
    }
}

/// A 303 redirect (after a POST, so reloading does not post again).
pub(crate) fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A `<table>` from column names and rows of JSON values, all escaped. `link` turns a
/// column's value into a link to the object page.
pub(crate) fn json_table(
    columns: &[String],
    rows: &[serde_json::Map<String, serde_json::Value>],
    link: Option<(&str, &str)>,
) -> String {
    let mut out = String::from("<table class=\"rows\"><thead><tr>");
    for c in columns {
        out.push_str(&format!("<th>{}</th>", esc(c)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in columns {
            let text = row.get(c).map(value_text).unwrap_or_default();
            match link {
                Some((col, survey)) if col == c && !text.is_empty() => out.push_str(&format!(
                    "<td><a href=\"/objects/{}?survey={}\">{}</a></td>",
                    esc(&text),
                    esc(survey),
                    esc(&text)
                )),
                _ => out.push_str(&format!("<td>{}</td>", esc(&text))),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_matters() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            script_json(&serde_json::json!({"a": "</script>"})),
            "{\"a\":\"\\u003c/script>\"}"
        );
    }
}
