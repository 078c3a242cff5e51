//! `/docs/api`: the REST API for people, drawn from the same endpoint table
//! (`openapi::ENDPOINTS`) as the OpenAPI document, so the two cannot disagree: how to get
//! and send a token, then per endpoint its parameters, a `curl` line, the `lasair` client
//! call where the client has one, and an example answer.

use axum::extract::State;
use axum::response::IntoResponse;
use maud::{html, Markup};

use super::layout::{page, PageResult};
use super::session::Viewer;
use crate::openapi::{Endpoint, Param, Type, ENDPOINTS};
use crate::AppState;

/// Text with `code` spans in backticks, as the endpoint table writes it.
fn prose(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::Number => "number",
        Type::Integer => "integer",
        Type::Boolean => "boolean",
        Type::String => "string",
        Type::List => "list",
    }
}

/// What values a parameter takes, in words.
fn limits(p: &Param) -> String {
    let mut out = Vec::new();
    if !p.choices.is_empty() {
        out.push(format!("one of {}", p.choices.join(", ")));
    }
    match (p.minimum, p.maximum) {
        (Some(a), Some(b)) => out.push(format!("{a} to {b}")),
        (Some(a), None) => out.push(format!("at least {a}")),
        (None, Some(b)) => out.push(format!("at most {b}")),
        (None, None) => {}
    }
    if let Some(n) = p.max_length {
        out.push(format!("at most {n} characters"));
    }
    if let Some(d) = p.default {
        out.push(format!("default {d}"));
    }
    out.join("; ")
}

/// The `lasair` client's call for an endpoint, where it has one.
fn client_call(path: &str) -> Option<&'static str> {
    Some(match path {
        "/api/cone/" => "L.cone(0.8143, 16.1457, radius=5, requestType='all')",
        "/api/query/" => {
            "L.query('objects.diaObjectId, objects.nDiaSources', 'objects',\n        'objects.nDiaSources >= 3', limit=10)"
        }
        "/api/object/" => "L.object(169298432598474793, lasair_added=True)",
        "/api/sherlock/object/" => "L.sherlock_object(169298432598474793, lite=True)",
        "/api/sherlock/position/" => "L.sherlock_position(0.8143, 16.1457, lite=True)",
        "/api/annotate/" => {
            "L.annotate('my_topic', 169298432598474793, 'SN Ia', version='1.0',\n           explanation='fits a template', classdict={'p': 0.9}, url='')"
        }
        "/api/annotatelist/" => "L.annotate_list([{'topic': 'my_topic', 'objectId': 169298432598474793, 'classification': 'SN Ia'}])",
        _ => return None,
    })
}

/// A `curl` line with the required parameters (example values from their limits).
fn curl(base: &str, e: &Endpoint) -> String {
    let example = |p: &Param| -> String {
        if let Some(c) = p.choices.first() {
            return (*c).to_string();
        }
        match p.name {
            "ra" => "0.8143".into(),
            "dec" => "16.1457".into(),
            "radius" => "5".into(),
            "objectId" | "objectIds" => "169298432598474793".into(),
            "selected" => "objects.diaObjectId".into(),
            "tables" => "objects".into(),
            "conditions" => "objects.nDiaSources>=3".into(),
            _ => format!("<{}>", p.name),
        }
    };
    let query: Vec<String> = e
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| format!("{}={}", p.name, example(p)))
        .collect();
    let auth = if e.authenticated {
        " -H 'Authorization: Token YOUR_TOKEN'"
    } else {
        ""
    };
    if e.methods.contains(&"get") {
        format!(
            "curl{auth} '{base}{}{}{}'",
            e.path.trim_start_matches('/'),
            if query.is_empty() { "" } else { "?" },
            query.join("&")
        )
    } else {
        let data: String = query.iter().map(|q| format!(" -d '{q}'")).collect();
        format!(
            "curl{auth}{data} '{base}{}'",
            e.path.trim_start_matches('/')
        )
    }
}

fn anchor(path: &str) -> String {
    path.trim_matches('/').replace('/', "-")
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let base = state
        .shared
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.shared.config.bind));
    let base = format!("{}/", base.trim_end_matches('/'));
    let body = html! {
        p {
            "Solas answers Lasair's REST API, so the " code { "lasair" } " Python client works unchanged. "
            "Rubin answers are under " code { "/api/" } "; ZTF's under " code { "/ztf/api/" } " (or add "
            code { "survey=ztf" } "). The machine-readable description is "
            a href="/api/openapi.json" { "/api/openapi.json" } " (OpenAPI 3)."
        }
        h2 { "Your token" }
        p {
            "Every call but " code { "auth-token/" } " needs a token: "
            @if viewer.0.is_some() {
                "make one on " a href="/profile" { "your profile" } ". "
            } @else {
                a href="/login?next=/profile" { "log in" } " and make one on your profile. "
            }
            "Send it as the header " code { "Authorization: Token YOUR_TOKEN" } " or as " code { "?token=YOUR_TOKEN" } ". "
            "Each class of user has a number of requests per hour; beyond it the answer is 429 with the time to wait."
        }
        pre { code { "pip install lasair\n\nfrom lasair import lasair_client\nL = lasair_client('YOUR_TOKEN', endpoint='" (base) "api')" } }
        nav.toc {
            ul {
                @for e in ENDPOINTS {
                    li { a href={ "#" (anchor(e.path)) } { code { (e.path) } } " " (e.summary) }
                }
            }
        }
        @for e in ENDPOINTS {
            section.endpoint id=(anchor(e.path)) {
                h2 { code { (e.methods.iter().map(|m| m.to_uppercase()).collect::<Vec<_>>().join(" ")) " " (e.path) } }
                p { strong { (e.summary) } ". " (prose(e.description)) }
                @if !e.authenticated { p.note { "No token needed." } }
                @if !e.params.is_empty() {
                    table.rows {
                        thead { tr { th { "parameter" } th { "type" } th { "required" } th { "values" } th { "meaning" } } }
                        tbody {
                            @for p in e.params {
                                tr {
                                    td { code { (p.name) } }
                                    td { (type_name(p.ty)) }
                                    td { (if p.required { "yes" } else { "no" }) }
                                    td { (limits(p)) }
                                    td { (prose(p.description)) }
                                }
                            }
                        }
                    }
                }
                p { "With " code { "curl" } ":" }
                pre { code { (curl(&base, e)) } }
                @if let Some(call) = client_call(e.path) {
                    p { "With the " code { "lasair" } " client:" }
                    pre { code { (call) } }
                }
                details {
                    summary { "Example answer" }
                    pre { code {
                        (serde_json::from_str::<serde_json::Value>(e.example)
                            .ok()
                            .and_then(|v| serde_json::to_string_pretty(&v).ok())
                            .unwrap_or_else(|| e.example.to_string()))
                    } }
                }
            }
        }
        section.endpoint #fits {
            h2 { code { "GET /fits/{mjd}/{name}" } }
            p {
                strong { "A cutout as FITS" } ", as the " code { "/api/object/" } " answers link them: "
                code { "name" } " is " code { "<sourceId>_cutout<Science|Template|Difference>" } ", "
                code { "mjd" } " is ignored, and " code { "survey=ztf" } " asks for ZTF's. No token needed."
            }
            pre { code { "curl -o stamp.fits '" (base) "fits/0/169298432598474793_cutoutScience'" } }
        }
    };
    Ok(page("The Solas API", viewer.0.as_ref(), body).into_response())
}
