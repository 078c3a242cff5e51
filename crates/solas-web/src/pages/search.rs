//! `/search?q=…&radius=…`: one box for everything an observer types. A Rubin diaObjectId
//! or a ZTF name (any case) opens the object; a TNS name (`2021abc`, `SN 2021abc`) or a
//! position (decimal degrees, or sexagesimal `hh:mm:ss ±dd:mm:ss`) lists the objects of
//! both surveys within the radius (arcseconds, default 5), nearest first.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use solas_core::Survey;
use solas_store::db::Value as DbValue;
use solas_store::main_db::object_view;

use super::layout::{page, see_other, PageError, PageResult};
use super::session::Viewer;
use crate::db::blocking;
use crate::AppState;

/// What a query asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Wanted {
    Object(String),
    Tns(String),
    Position { ra: f64, dec: f64 },
}

/// A ZTF name in its canonical case (`ZTF` + two digits + seven lower-case letters).
fn ztf_name(q: &str) -> Option<String> {
    let b = q.as_bytes();
    let ok = b.len() == 12
        && q[..3].eq_ignore_ascii_case("ztf")
        && b[3..5].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_alphabetic);
    ok.then(|| format!("ZTF{}{}", &q[3..5], q[5..].to_ascii_lowercase()))
}

/// A TNS name without its prefix: four digits of year and 2–4 letters.
fn tns_name(q: &str) -> Option<String> {
    let q = q.trim();
    let start = q.find(|c: char| c.is_ascii_digit())?;
    let (prefix, rest) = q.split_at(start);
    let prefix_ok =
        prefix.trim().chars().all(|c| c.is_ascii_alphabetic()) && prefix.trim().len() <= 4;
    let b = rest.as_bytes();
    let ok = prefix_ok
        && (6..=8).contains(&b.len())
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphabetic);
    ok.then(|| format!("{}{}", &rest[..4], rest[4..].to_ascii_lowercase()))
}

/// A position: two decimal numbers in degrees, or sexagesimal right ascension (hours) and
/// declination (degrees), with colons or spaces.
fn position(q: &str) -> Option<(f64, f64)> {
    let parts: Vec<&str> = q
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .filter(|s| !s.is_empty())
        .collect();
    let num = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    let (ra, dec) = match parts.len() {
        2 if !q.contains(':') => (num(parts[0])?, num(parts[1])?),
        6 => {
            let ra = num(parts[0])? + num(parts[1])? / 60.0 + num(parts[2])? / 3600.0;
            let sign = if parts[3].starts_with('-') { -1.0 } else { 1.0 };
            let d = num(parts[3])?.abs() + num(parts[4])? / 60.0 + num(parts[5])? / 3600.0;
            (ra * 15.0, sign * d)
        }
        _ => return None,
    };
    ((0.0..360.0).contains(&ra) && (-90.0..=90.0).contains(&dec)).then_some((ra, dec))
}

/// What `q` asks for, or why it cannot be read.
pub(crate) fn parse(q: &str) -> Result<Wanted, String> {
    let q = q.trim();
    if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Wanted::Object(q.to_string()));
    }
    if let Some(name) = ztf_name(q) {
        return Ok(Wanted::Object(name));
    }
    if let Some((ra, dec)) = position(q) {
        return Ok(Wanted::Position { ra, dec });
    }
    if let Some(name) = tns_name(q) {
        return Ok(Wanted::Tns(name));
    }
    Err(format!(
        "{q:?} is not a diaObjectId, a ZTF name, a TNS name or a position \
         (e.g. 0.8143 16.1457, or 00:03:15.4 +16:08:44)"
    ))
}

/// The search form (home page, search results, error pages), holding `q` and `radius`.
pub(crate) fn search_box(q: &str, radius: f64) -> Markup {
    html! {
        form.inline.search method="get" action="/search" {
            input.search name="q" required value=(q)
                placeholder="object id, ZTF or TNS name, or RA Dec"
                aria-label="object id, ZTF or TNS name, or RA Dec"
                title="diaObjectId, ZTF name, TNS name (2021abc), or a position: RA Dec in degrees or hh:mm:ss ±dd:mm:ss";
            span.within {
                " within "
                input.radius name="radius" value=(radius) aria-label="radius in arcseconds"; "″ "
                button { "Search" }
            }
        }
    }
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let text = q.get("q").map(String::as_str).unwrap_or("").to_string();
    let radius: f64 = match q.get("radius").filter(|r| !r.is_empty()) {
        None => 5.0,
        Some(r) => r
            .parse()
            .ok()
            .filter(|r: &f64| *r > 0.0 && *r <= 3600.0)
            .ok_or_else(|| PageError::bad("radius is in arcseconds, above 0 and at most 3600"))?,
    };
    let wanted = parse(&text).map_err(PageError::bad)?;
    if let Wanted::Object(id) = &wanted {
        let enc: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        return Ok(see_other(&format!("/objects/{enc}")));
    }
    let shared = state.shared.clone();
    let (title, found) = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        let (title, ra, dec) = match wanted {
            Wanted::Tns(name) => match object_view::tns_by_name(&mut db, &name)? {
                Some((name, prefix, ra, dec)) => (
                    format!("{} {name}", prefix.unwrap_or_default())
                        .trim()
                        .to_string(),
                    ra,
                    dec,
                ),
                None => {
                    return Err(PageError::not_found(format!(
                        "No TNS object {name} is known here (see `solas tns import`)."
                    )))
                }
            },
            Wanted::Position { ra, dec } => (format!("{ra:.6}, {dec:+.6}"), ra, dec),
            Wanted::Object(id) => return Err(PageError::bad(format!("{id} is an object id"))),
        };
        let mut found = Vec::new();
        for survey in [Survey::Lsst, Survey::Ztf] {
            for (key, sep) in solas_export::select::cone(&mut db, survey, ra, dec, radius)? {
                let id = match key {
                    DbValue::Int(i) => i.to_string(),
                    DbValue::Text(t) => t,
                    _ => continue,
                };
                found.push((survey, id, sep));
            }
        }
        found.sort_by(|a, b| a.2.total_cmp(&b.2));
        Ok((title, found))
    })
    .await??;
    let body = html! {
        (search_box(&text, radius))
        p { "Objects within " (radius) "″ of " strong { (title) } ", nearest first." }
        @if found.is_empty() {
            p.note { "None." }
        } @else {
            table.rows {
                thead { tr { th { "survey" } th { "object" } th { "separation" } } }
                @for (survey, id, sep) in &found {
                    tr {
                        td { (if *survey == Survey::Lsst { "Rubin" } else { "ZTF" }) }
                        td { a href={ "/objects/" (id) } { (id) } }
                        td { (format!("{sep:.2}″")) }
                    }
                }
            }
        }
    };
    Ok(page("Search", viewer.0.as_ref(), body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_names_and_positions() {
        assert_eq!(
            parse("169298432598474793"),
            Ok(Wanted::Object("169298432598474793".into()))
        );
        assert_eq!(
            parse(" ztf21ABIUVDK "),
            Ok(Wanted::Object("ZTF21abiuvdk".into()))
        );
        assert_eq!(parse("SN 2021ABC"), Ok(Wanted::Tns("2021abc".into())));
        assert_eq!(parse("2021xyz"), Ok(Wanted::Tns("2021xyz".into())));
        assert_eq!(
            parse("0.814285 16.145687"),
            Ok(Wanted::Position {
                ra: 0.814285,
                dec: 16.145687
            })
        );
        let Ok(Wanted::Position { ra, dec }) = parse("00:03:15.428 +16:08:44.472") else {
            panic!("sexagesimal");
        };
        assert!(
            (ra - 0.814283).abs() < 1e-5 && (dec - 16.145687).abs() < 1e-5,
            "{ra} {dec}"
        );
        let Ok(Wanted::Position { dec, .. }) = parse("12 30 00 -00 30 00") else {
            panic!("spaces");
        };
        assert!(
            (dec + 0.5).abs() < 1e-9,
            "a negative zero degrees keeps its sign: {dec}"
        );
        assert!(parse("400 10").is_err());
        assert!(parse("hello").is_err());
    }
}
