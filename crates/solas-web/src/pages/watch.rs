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
use solas_store::main_db::watch::{NewWatchlist, WatchStore};

use super::home::thousands;
use maud::{html, Markup};

use super::layout::{csrf_field, page, PageError, PageResult, SMALL_FORM, UPLOAD_FORM};
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

fn watchlist_form(login: &Login) -> Markup {
    html! {
        form.stack #watchlist-form method="post" action="/watchlists" {
            (csrf_field(login))
            label { "Name " input name="name" required maxlength="128"; }
            label { "Description " input name="description" maxlength="4000"; }
            label { "Default radius (arcsec) " input name="radius" value="3" inputmode="decimal"; }
            label {
                "Fire again only when the magnitude changes by (mag, optional) "
                input name="mag_change" inputmode="decimal" placeholder="every alert";
            }
            label { "CSV file " input type="file" accept=".csv,.txt,text/csv" data-into="csv"; }
            label {
                span { "or paste the cones (" code { "ra, dec, name[, radius]" } ", one per line)" }
                textarea name="csv" #csv rows="6" {}
            }
            label.check { input type="checkbox" name="public"; " public" }
            div { button { "Upload watchlist" } }
        }
        script src="/static/upload.js" {}
    }
}

fn watchmap_form(login: &Login) -> Markup {
    html! {
        form.stack #watchmap-form method="post" action="/watchmaps" {
            (csrf_field(login))
            label { "Name " input name="name" required maxlength="128"; }
            label { "Description " input name="description" maxlength="4000"; }
            label { "MOC file (FITS, JSON or ASCII) " input type="file" data-into-base64="moc_b64"; }
            input type="hidden" name="moc_b64" #moc_b64;
            label {
                "or paste an ASCII or JSON MOC "
                textarea name="moc" rows="4" placeholder="5/1-10 6/100" {}
            }
            label.check { input type="checkbox" name="public"; " public" }
            div { button { "Upload watchmap" } }
        }
        script src="/static/upload.js" {}
    }
}

/// A delete form for the viewer's own rows (nothing for others' or when logged out).
fn delete_button(
    csrf: Option<&str>,
    me: Option<i64>,
    owner: i64,
    what: &str,
    id: i64,
    name: &str,
) -> Markup {
    // The name goes into a single-quoted JavaScript string: quotes and backslashes out.
    let confirm = format!(
        "return confirm('Delete {what} {} with its hits?')",
        name.replace(['\'', '\\'], "")
    );
    html! {
        @if let Some(token) = csrf.filter(|_| me == Some(owner)) {
            form method="post" action={ "/" (what) "s/" (id) "/delete" } onsubmit=(confirm) {
                input type="hidden" name="csrf" value=(token);
                button.small { "delete" }
            }
        }
    }
}

/// What a list page says above the list: the outcome of an upload or a delete.
enum Message {
    None,
    Ok {
        id: &'static str,
        text: String,
    },
    Errors {
        id: &'static str,
        intro: String,
        lines: Vec<String>,
    },
}

impl Message {
    fn render(&self) -> Markup {
        html! {
            @match self {
                Message::None => {}
                Message::Ok { id, text } => p.ok id=(id) { (text) },
                Message::Errors { id, intro, lines } => div.error id=(id) {
                    p { (intro) }
                    @if !lines.is_empty() { ul { @for l in lines { li { (l) } } } }
                },
            }
        }
    }
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    maps: bool,
    message: Message,
    status: StatusCode,
) -> PageResult {
    let st = state.clone();
    let me = viewer.user_id();
    let csrf = viewer.0.as_ref().map(|l| l.csrf.clone());
    let table = blocking(move || -> Result<Markup, PageError> {
        let mut store = WatchStore::connect(&st.shared.config.main_target())?;
        let csrf = csrf.as_deref();
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        Ok(if maps {
            let rows: Vec<_> = store
                .watchmaps()?
                .into_iter()
                .filter(|m| m.public || Some(m.owner) == me)
                .collect();
            html! {
                table.rows #watchmap-list {
                    tr {
                        th { "id" } th { "name" } th { "owner" } th { "area (deg²)" }
                        th { "hits" } th { "public" } th {}
                    }
                    @for m in &rows {
                        tr {
                            td { (m.ar_id) }
                            td { a href={ "/watchmaps/" (m.ar_id) } { (m.name) } }
                            td { (owner_text(m.owner, me)) }
                            td.num { (m.area_deg2.map_or(String::new(), |a| format!("{a:.3}"))) }
                            td.num { (thousands(m.hits)) }
                            td { (yes_no(m.public)) }
                            td { (delete_button(csrf, me, m.owner, "watchmap", m.ar_id, &m.name)) }
                        }
                    }
                }
            }
        } else {
            let rows: Vec<_> = store
                .watchlists()?
                .into_iter()
                .filter(|w| w.public || Some(w.owner) == me)
                .collect();
            html! {
                table.rows #watchlist-list {
                    tr {
                        th { "id" } th { "name" } th { "owner" } th { "cones" }
                        th { "radius (\")" } th { "fires on Δmag" } th { "hits" } th { "public" } th {}
                    }
                    @for w in &rows {
                        tr {
                            td { (w.wl_id) }
                            td { a href={ "/watchlists/" (w.wl_id) } { (w.name) } }
                            td { (owner_text(w.owner, me)) }
                            td.num { (thousands(w.cones)) }
                            td.num { (w.radius) }
                            td.num { @match w.mag_change { Some(m) => { "≥ " (m) }, None => "every alert" } }
                            td.num { (thousands(w.hits)) }
                            td { (yes_no(w.public)) }
                            td { (delete_button(csrf, me, w.owner, "watchlist", w.wl_id, &w.name)) }
                        }
                    }
                }
            }
        })
    })
    .await??;
    let what = if maps { "watchmap" } else { "watchlist" };
    let body = html! {
        (message.render())
        h2 { "Your and public " (what) "s" }
        (table)
        h2 { "Upload a " (what) }
        @match &viewer.0 {
            Some(login) if maps => (watchmap_form(login)),
            Some(login) => (watchlist_form(login)),
            None => p { a href={ "/login?next=/" (what) "s" } { "Log in" } " to upload one." },
        }
    };
    let title = if maps { "Watchmaps" } else { "Watchlists" };
    Ok((status, page(title, viewer.0.as_ref(), body)).into_response())
}

pub(crate) async fn watchlists(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    list_page(&state, &viewer, false, Message::None, StatusCode::OK).await
}

pub(crate) async fn watchmaps(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    list_page(&state, &viewer, true, Message::None, StatusCode::OK).await
}

/// Why an upload stored nothing, line by line.
fn error_box(lines: &[String]) -> Message {
    Message::Errors {
        id: "upload-errors",
        intro: "Nothing was stored:".into(),
        lines: lines.to_vec(),
    }
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
        return list_page(&state, &viewer, false, msg, StatusCode::BAD_REQUEST).await;
    };
    let mag_text = get("mag_change");
    let mag_change = if mag_text.is_empty() {
        None
    } else {
        match mag_text.parse::<f64>() {
            Ok(m) => Some(m),
            Err(_) => {
                let msg = error_box(&[format!(
                    "The magnitude change {mag_text:?} is not a number."
                )]);
                return list_page(&state, &viewer, false, msg, StatusCode::BAD_REQUEST).await;
            }
        }
    };
    if name.is_empty() {
        let msg = error_box(&["A watchlist needs a name.".into()]);
        return list_page(&state, &viewer, false, msg, StatusCode::BAD_REQUEST).await;
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
        let new = NewWatchlist {
            owner: user,
            name: &name,
            description: &description,
            public,
            radius_arcsec: radius,
            mag_change,
        };
        match store.add_watchlist(&new, &cones) {
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
            let msg = Message::Ok {
                id: "upload-ok",
                text: format!(
                    "Stored watchlist {id} with {} cones; stored objects matched ({hits} cone hits in all). New alerts are matched from the pipeline's next batch.",
                    thousands(i64::try_from(n).unwrap_or(i64::MAX))
                ),
            };
            list_page(&state, &viewer, false, msg, StatusCode::OK).await
        }
        Err(lines) => {
            list_page(
                &state,
                &viewer,
                false,
                error_box(&lines),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// Standard base64 (with or without padding, whitespace ignored: browsers and pasted
/// text differ).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    ENGINE.decode(compact).ok()
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
                return list_page(&state, &viewer, true, msg, StatusCode::BAD_REQUEST).await;
            }
        },
        (_, text) => text.into_bytes(),
    };
    if name.is_empty() {
        let msg = error_box(&["A watchmap needs a name.".into()]);
        return list_page(&state, &viewer, true, msg, StatusCode::BAD_REQUEST).await;
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
            let msg = Message::Ok {
                id: "upload-ok",
                text: format!(
                    "Stored watchmap {id} covering {area:.3} deg²; stored objects matched."
                ),
            };
            list_page(&state, &viewer, true, msg, StatusCode::OK).await
        }
        Err(m) => {
            list_page(
                &state,
                &viewer,
                true,
                error_box(&[m]),
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
            let msg = Message::Ok {
                id: "delete-ok",
                text: format!("Deleted {what} {id} with its hits."),
            };
            list_page(&state, &viewer, maps, msg, StatusCode::OK).await
        }
        Err(m) => {
            let msg = Message::Errors {
                id: "delete-error",
                intro: format!("Nothing was deleted: {m}"),
                lines: Vec::new(),
            };
            list_page(&state, &viewer, maps, msg, StatusCode::NOT_FOUND).await
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
        assert_eq!(super::base64_decode("aGVs\nbG8=\n").unwrap(), b"hello");
        assert!(super::base64_decode("a*b").is_none());
    }
}
