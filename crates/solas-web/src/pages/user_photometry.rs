//! Users' own photometry on the object page (Lasair requirement R2.02): a logged-in user
//! uploads a CSV of measurements (`POST /objects/{id}/photometry`), private or public; bad
//! lines come back by number with nothing stored; the points are drawn on the lightcurve
//! in their own style, and an upload can be taken back (`…/photometry/{upload}/delete`).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde_json::{json, Value};
use solas_store::main_db::user_photometry::{self, Stored};

use super::layout::{csrf_field, page, see_other, PageError, PageResult, UPLOAD_FORM};
use super::login::login_required;
use super::session::{posted, Login, Viewer};
use crate::api::ObjectId;
use crate::db::blocking;
use crate::AppState;

/// The lightcurve's user points: per measurement its band, time, magnitude and flux (each
/// from the other where only one was given, AB), errors, telescope and whether it is the
/// viewer's.
pub(crate) fn lightcurve_points(stored: &[Stored], viewer: Option<i64>) -> Vec<Value> {
    use solas_features::extinction::{mag_to_njy, njy_to_mag};
    stored
        .iter()
        .map(|s| {
            let p = &s.point;
            let mag = p.mag.or_else(|| p.flux.and_then(njy_to_mag));
            let flux = p.flux.or_else(|| p.mag.and_then(mag_to_njy));
            // Through the magnitude: σ_F = F · σ_m · ln 10 / 2.5, and back.
            let flux_err = p.flux_err.or_else(|| Some(flux? * p.mag_err? / 1.0857));
            let mag_err = p.mag_err.or_else(|| Some(1.0857 * p.flux_err? / flux?));
            json!({
                "band": p.band, "mjd": p.mjd, "mag": mag, "magErr": mag_err,
                "flux": flux, "fluxErr": flux_err, "source": p.telescope,
                "mine": viewer == Some(s.owner), "public": s.public, "upload": s.upload,
            })
        })
        .collect()
}

/// The object page's section: the viewer's uploads with a delete button each, and the
/// upload form; a login link for nobody.
pub(crate) fn section(id: &ObjectId, stored: &[Stored], login: Option<&Login>) -> Markup {
    let base = format!("/objects/{id}/photometry");
    let mut mine: Vec<(i64, usize, bool)> = Vec::new();
    if let Some(l) = login {
        for s in stored.iter().filter(|s| s.owner == l.user.id) {
            match mine.iter_mut().find(|m| m.0 == s.upload) {
                Some(m) => m.1 += 1,
                None => mine.push((s.upload, 1, s.public)),
            }
        }
    }
    let others = stored.len() - mine.iter().map(|m| m.1).sum::<usize>();
    html! {
        h2 #photometry { "Your photometry" }
        @if others > 0 { p.note { (others) " public measurement(s) by other users are drawn on the lightcurve (diamonds)." } }
        @match login {
            None => p.note { a href={ "/login?next=/objects/" (id) } { "Log in" } " to add your own measurements of this object." },
            Some(login) => {
                @if !mine.is_empty() {
                    ul #my-uploads {
                        @for (upload, n, public) in &mine {
                            li {
                                "Upload " (upload) ": " (n) " measurement(s), " (if *public { "public" } else { "private" }) " "
                                form.inline method="post" action={ (base) "/" (upload) "/delete" } {
                                    (csrf_field(login)) button { "Delete" }
                                }
                            }
                        }
                    }
                }
                details #add-photometry {
                summary { "Add measurements of your own" }
                form.stack method="post" action=(base) {
                    (csrf_field(login))
                    label { "CSV file " input type="file" accept=".csv,.txt,text/csv" data-into="phot-csv"; }
                    label {
                        "or paste it (a header, then one measurement per line: mjd, band, mag and mag_err and/or flux and flux_err in nJy, telescope)"
                        textarea name="csv" #phot-csv rows="4" placeholder="mjd,band,mag,mag_err,telescope\n60500.12,r,18.31,0.04,LT/IO:O" {}
                    }
                    label.check { input type="checkbox" name="public"; " public (everyone sees it on this page)" }
                    div { button #upload-photometry { "Add to the lightcurve" } }
                }
                }
                script src="/static/upload.js" {}
            }
        }
    }
}

/// `POST /objects/{id}/photometry`: store an upload whole, or say which lines are bad.
pub(crate) async fn upload(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    req: Request,
) -> PageResult {
    let Some((login, form)) = posted(&viewer, req, UPLOAD_FORM).await? else {
        return Ok(login_required(&format!("/objects/{text}")));
    };
    let (survey, id) = super::object::object_of(&text)?;
    let points = match solas_watch::photometry::parse_csv(
        form.get("csv").map_or("", String::as_str),
    ) {
        Ok(p) => p,
        Err(e) => {
            let body = html! {
                p.error #photometry-errors { "Nothing was stored: " (e.errors.len()) " bad line(s)." }
                ul { @for l in &e.errors { li { "line " (l.line) ": " (l.reason) } } }
                p { a href={ "/objects/" (id) "#photometry" } { "Back to " (id) } }
            };
            return Ok((
                StatusCode::BAD_REQUEST,
                page("Photometry not added", Some(&login), body),
            )
                .into_response());
        }
    };
    let key = id.key().map_err(PageError::bad)?;
    let (shared, owner, public) = (
        state.shared.clone(),
        login.user.id,
        form.contains_key("public"),
    );
    blocking(move || -> Result<i64, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        Ok(user_photometry::add(
            &mut db, survey, &key, owner, public, &points,
        )?)
    })
    .await??;
    Ok(see_other(&format!("/objects/{id}#photometry")))
}

/// `POST /objects/{id}/photometry/{upload}/delete`: the owner takes an upload back.
pub(crate) async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((text, upload)): Path<(String, i64)>,
    req: Request,
) -> PageResult {
    let Some((login, _)) = posted(&viewer, req, super::layout::SMALL_FORM).await? else {
        return Ok(login_required(&format!("/objects/{text}")));
    };
    let (_, id) = super::object::object_of(&text)?;
    let (shared, owner) = (state.shared.clone(), login.user.id);
    blocking(move || -> Result<usize, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        Ok(user_photometry::remove_upload(&mut db, owner, upload)?)
    })
    .await??;
    Ok(see_other(&format!("/objects/{id}#photometry")))
}
