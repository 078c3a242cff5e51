//! Watchlists and watchmaps: the viewer's own and the public ones, uploading new ones and
//! deleting one's own (with its cones and hits).
//!
//! A watchlist is a CSV of cones (`ra, dec, name[, radius]`, Lasair's layout), checked by
//! `solas_watch::parse_csv`: any bad line and nothing is stored, and every bad line is
//! listed with its number. A watchmap is a MOC (FITS, JSON or ASCII), checked by
//! `solas_watch::parse_moc` and stored as MOC FITS. Forms are URL-encoded (no multipart
//! parser needed): `upload.js` reads a chosen file into the form, a CSV as text and a
//! binary MOC as base64. The running pipeline notices a new watchlist or watchmap (the
//! watch version number changes) and matches new alerts against it; objects already
//! stored are matched when the pipeline next re-reads the watch tables.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use solas_store::main_db::watch::WatchStore;

use super::home::thousands;
use super::layout::{csrf_field, esc, page, PageError, PageResult, SMALL_FORM, UPLOAD_FORM};
use super::login::login_required;
use super::session::{posted, Login, Viewer};
use crate::db::blocking;
use crate::AppState;

/// Bad lines listed on the page at most (the count says how many there were).
const SHOWN_ERRORS: usize = 200;

/// A stored watchlist: its id, cones, and the cone hits among stored objects.
type Stored = (i64, usize, usize);

fn owner_text(owner: i64, me: Option<i64>) -> String {
    if Some(owner) == me {
        "you".into()
    } else {
        format!("user {owner}")
    }
}

fn watchlist_form(login: &Login) -> String {
    format!(
        "<form class=\"stack\" id=\"watchlist-form\" method=\"post\" action=\"/watchlists\">{}
<label>Name <input name=\"name\" required maxlength=\"128\"></label>
<label>Description <input name=\"description\" maxlength=\"4000\"></label>
<label>Default radius (arcsec) <input name=\"radius\" value=\"3\" inputmode=\"decimal\"></label>
<label>CSV file <input type=\"file\" accept=\".csv,.txt,text/csv\" data-into=\"csv\"></label>
<label>or paste the cones (<code>ra, dec, name[, radius]</code>, one per line) <textarea name=\"csv\" id=\"csv\" rows=\"6\"></textarea></label>
<label class=\"check\"><input type=\"checkbox\" name=\"public\"> public</label>
<button>Upload watchlist</button></form><script src=\"/static/upload.js\"></script>",
        csrf_field(login)
    )
}

fn watchmap_form(login: &Login) -> String {
    format!(
        "<form class=\"stack\" id=\"watchmap-form\" method=\"post\" action=\"/watchmaps\">{}
<label>Name <input name=\"name\" required maxlength=\"128\"></label>
<label>Description <input name=\"description\" maxlength=\"4000\"></label>
<label>MOC file (FITS, JSON or ASCII) <input type=\"file\" data-into-base64=\"moc_b64\"></label>
<input type=\"hidden\" name=\"moc_b64\" id=\"moc_b64\">
<label>or paste an ASCII or JSON MOC <textarea name=\"moc\" rows=\"4\" placeholder=\"5/1-10 6/100\"></textarea></label>
<label class=\"check\"><input type=\"checkbox\" name=\"public\"> public</label>
<button>Upload watchmap</button></form><script src=\"/static/upload.js\"></script>",
        csrf_field(login)
    )
}

/// A delete form for the viewer's own rows (nothing for others' or when logged out).
fn delete_button(
    csrf: Option<&str>,
    me: Option<i64>,
    owner: i64,
    what: &str,
    id: i64,
    name: &str,
) -> String {
    match csrf {
        Some(token) if me == Some(owner) => format!(
            "<form method=\"post\" action=\"/{what}s/{id}/delete\" onsubmit=\"return confirm('Delete {what} {} with its hits?')\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button class=\"small\">delete</button></form>",
            esc(&name.replace(['\'', '\\'], "")),
            esc(token)
        ),
        _ => String::new(),
    }
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    maps: bool,
    message: &str,
    status: StatusCode,
) -> PageResult {
    let st = state.clone();
    let me = viewer.user_id();
    let csrf = viewer.0.as_ref().map(|l| l.csrf.clone());
    let table = blocking(move || -> Result<String, PageError> {
        let mut store = WatchStore::connect(&st.shared.config.main_target())?;
        let mut out = String::new();
        if maps {
            out.push_str("<table class=\"rows\" id=\"watchmap-list\"><tr><th>id</th><th>name</th><th>owner</th><th>area (deg²)</th><th>hits</th><th>public</th><th></th></tr>");
            for m in store.watchmaps()?.into_iter().filter(|m| m.public || Some(m.owner) == me) {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    m.ar_id,
                    esc(&m.name),
                    owner_text(m.owner, me),
                    m.area_deg2.map_or(String::new(), |a| format!("{a:.3}")),
                    thousands(m.hits),
                    if m.public { "yes" } else { "no" },
                    delete_button(csrf.as_deref(), me, m.owner, "watchmap", m.ar_id, &m.name)
                ));
            }
        } else {
            out.push_str("<table class=\"rows\" id=\"watchlist-list\"><tr><th>id</th><th>name</th><th>owner</th><th>cones</th><th>radius (\")</th><th>hits</th><th>public</th><th></th></tr>");
            for w in store.watchlists()?.into_iter().filter(|w| w.public || Some(w.owner) == me) {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    w.wl_id,
                    esc(&w.name),
                    owner_text(w.owner, me),
                    thousands(w.cones),
                    w.radius,
                    thousands(w.hits),
                    if w.public { "yes" } else { "no" },
                    delete_button(csrf.as_deref(), me, w.owner, "watchlist", w.wl_id, &w.name)
                ));
            }
        }
        out.push_str("</table>");
        Ok(out)
    })
    .await??;
    let what = if maps { "watchmap" } else { "watchlist" };
    let mut body = message.to_string();
    body.push_str(&format!(
        "<h2>Your and public {what}s</h2>{table}<h2>Upload a {what}</h2>"
    ));
    match &viewer.0 {
        Some(login) => body.push_str(&if maps {
            watchmap_form(login)
        } else {
            watchlist_form(login)
        }),
        None => body.push_str(&format!(
            "<p><a href=\"/login?next=/{what}s\">Log in</a> to upload one.</p>"
        )),
    }
    let title = if maps { "Watchmaps" } else { "Watchlists" };
    Ok((status, page(title, viewer.0.as_ref(), &body)).into_response())
}

pub(crate) async fn watchlists(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    list_page(&state, &viewer, false, "", StatusCode::OK).await
}

pub(crate) async fn watchmaps(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    list_page(&state, &viewer, true, "", StatusCode::OK).await
}

fn error_box(lines: &[String]) -> String {
    let items: String = lines
        .iter()
        .map(|l| format!("<li>{}</li>", esc(l)))
        .collect();
    format!("<div class=\"error\" id=\"upload-errors\"><p>Nothing was stored:</p><ul>{items}</ul></div>")
}

pub(crate) async fn upload_watchlist(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, UPLOAD_FORM).await? else {
        return Ok(login_required("/watchlists"));
    };
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let name = get("name");
    let description = get("description");
    let public = f.contains_key("public");
    let radius_text = get("radius");
    let csv = f.get("csv").cloned().unwrap_or_default();
    let Ok(radius) = (if radius_text.is_empty() {
        Ok(3.0)
    } else {
        radius_text.parse::<f64>()
    }) else {
        let msg = error_box(&[format!(
            "The default radius {radius_text:?} is not a number."
        )]);
        return list_page(&state, &viewer, false, &msg, StatusCode::BAD_REQUEST).await;
    };
    if name.is_empty() {
        let msg = error_box(&["A watchlist needs a name.".into()]);
        return list_page(&state, &viewer, false, &msg, StatusCode::BAD_REQUEST).await;
    }
    let st = state.clone();
    let user = login.user.id;
    let outcome = blocking(move || -> Result<Result<Stored, Vec<String>>, PageError> {
        let cones = match solas_watch::parse_csv(&csv, radius) {
            Ok(c) => c,
            Err(errors) => {
                let total = errors.errors.len();
                let mut lines: Vec<String> = errors
                    .errors
                    .iter()
                    .take(SHOWN_ERRORS)
                    .map(|e| {
                        if e.line == 0 {
                            e.reason.clone()
                        } else {
                            format!("line {}: {}", e.line, e.reason)
                        }
                    })
                    .collect();
                if total > SHOWN_ERRORS {
                    lines.push(format!("… and {} more bad lines", total - SHOWN_ERRORS));
                }
                return Ok(Err(lines));
            }
        };
        if cones.is_empty() {
            return Ok(Err(vec!["The CSV has no cones.".into()]));
        }
        let mut store = WatchStore::connect(&st.shared.config.main_target())?;
        match store.add_watchlist(user, &name, &description, public, radius, &cones) {
            Ok(id) => {
                // Objects already stored are matched now; new alerts by the pipeline.
                let hits = solas_store::main_db::watch_matcher::retro_match_on(
                    &st.shared.config.main_target(),
                    &st.shared.config.data_dir,
                )?;
                Ok(Ok((id, cones.len(), hits.cones.len())))
            }
            Err(solas_store::StoreError::Invalid(m)) => Ok(Err(vec![m])),
            Err(e) => Err(e.into()),
        }
    })
    .await??;
    match outcome {
        Ok((id, n, hits)) => {
            let msg = format!(
                "<p class=\"ok\" id=\"upload-ok\">Stored watchlist {id} with {} cones; stored objects matched ({hits} cone hits in all). New alerts are matched from the pipeline's next batch.</p>",
                thousands(i64::try_from(n).unwrap_or(i64::MAX))
            );
            list_page(&state, &viewer, false, &msg, StatusCode::OK).await
        }
        Err(lines) => {
            list_page(
                &state,
                &viewer,
                false,
                &error_box(&lines),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// Standard base64 (with or without padding, whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub(crate) async fn upload_watchmap(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, UPLOAD_FORM).await? else {
        return Ok(login_required("/watchmaps"));
    };
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let name = get("name");
    let description = get("description");
    let public = f.contains_key("public");
    let bytes = match (get("moc_b64"), get("moc")) {
        (b64, _) if !b64.is_empty() => match base64_decode(&b64) {
            Some(b) => b,
            None => {
                let msg =
                    error_box(&["The uploaded file did not arrive intact (bad base64).".into()]);
                return list_page(&state, &viewer, true, &msg, StatusCode::BAD_REQUEST).await;
            }
        },
        (_, text) => text.into_bytes(),
    };
    if name.is_empty() {
        let msg = error_box(&["A watchmap needs a name.".into()]);
        return list_page(&state, &viewer, true, &msg, StatusCode::BAD_REQUEST).await;
    }
    let st = state.clone();
    let user = login.user.id;
    let outcome = blocking(move || -> Result<Result<(i64, f64), String>, PageError> {
        let moc = match solas_watch::parse_moc(&bytes) {
            Ok(m) => m,
            Err(e) => return Ok(Err(format!("Not a MOC: {e}"))),
        };
        let area = moc.area_deg2();
        let mut store = WatchStore::connect(&st.shared.config.main_target())?;
        match store.add_watchmap(user, &name, &description, public, &moc.to_fits(), area) {
            Ok(id) => {
                solas_store::main_db::watch_matcher::retro_match_on(
                    &st.shared.config.main_target(),
                    &st.shared.config.data_dir,
                )?;
                Ok(Ok((id, area)))
            }
            Err(solas_store::StoreError::Invalid(m)) => Ok(Err(m)),
            Err(e) => Err(e.into()),
        }
    })
    .await??;
    match outcome {
        Ok((id, area)) => {
            let msg = format!("<p class=\"ok\" id=\"upload-ok\">Stored watchmap {id} covering {area:.3} deg²; stored objects matched.</p>");
            list_page(&state, &viewer, true, &msg, StatusCode::OK).await
        }
        Err(m) => {
            list_page(
                &state,
                &viewer,
                true,
                &error_box(&[m]),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /watchlists/{id}/delete` and `/watchmaps/{id}/delete`: the owner removes one.
async fn delete(state: AppState, viewer: Viewer, id: i64, maps: bool, req: Request) -> PageResult {
    let what = if maps { "watchmap" } else { "watchlist" };
    let Some((login, _)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required(&format!("/{what}s")));
    };
    let st = state.clone();
    let user = login.user.id;
    let outcome = blocking(move || -> Result<Result<(), String>, PageError> {
        let mut store = WatchStore::connect(&st.shared.config.main_target())?;
        let removed = if maps {
            store.remove_watchmap(id, user)
        } else {
            store.remove_watchlist(id, user)
        };
        match removed {
            Ok(()) => Ok(Ok(())),
            Err(solas_store::StoreError::Invalid(m)) => Ok(Err(m)),
            Err(e) => Err(e.into()),
        }
    })
    .await??;
    match outcome {
        Ok(()) => {
            let msg =
                format!("<p class=\"ok\" id=\"delete-ok\">Deleted {what} {id} with its hits.</p>");
            list_page(&state, &viewer, maps, &msg, StatusCode::OK).await
        }
        Err(m) => {
            let msg = format!(
                "<div class=\"error\" id=\"delete-error\"><p>Nothing was deleted: {}</p></div>",
                esc(&m)
            );
            list_page(&state, &viewer, maps, &msg, StatusCode::NOT_FOUND).await
        }
    }
}

pub(crate) async fn delete_watchlist(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    req: Request,
) -> PageResult {
    delete(state, viewer, id, false, req).await
}

pub(crate) async fn delete_watchmap(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    req: Request,
) -> PageResult {
    delete(state, viewer, id, true, req).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64() {
        assert_eq!(super::base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(super::base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(
            super::base64_decode("AAEC/w==").unwrap(),
            vec![0, 1, 2, 255]
        );
        assert!(super::base64_decode("a*b").is_none());
    }
}
