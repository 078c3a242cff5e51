//! Personal tags: a logged-in user labels objects (`POST /objects/{id}/tags`, and
//! `/objects/{id}/tags/remove`), sees their labels on the object page, lists them at
//! `/tags` and `/tags/{tag}`, and filters on them (`tag:LABEL` in a filter's tables).
//! Nobody else sees another's tags.

use axum::extract::{Path, Request, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use solas_store::main_db::tags;

use super::layout::{csrf_field, page, see_other, PageError, PageResult, SMALL_FORM};
use super::login::login_required;
use super::recent::survey_label;
use super::session::{posted, Login, Viewer};
use crate::api::ObjectId;
use crate::db::blocking;
use crate::AppState;

/// The object page's tag section: the viewer's tags with a remove button each, and a
/// form to add one; a login link for nobody.
pub(crate) fn section(id: &ObjectId, mine: &[String], login: Option<&Login>) -> Markup {
    let base = format!("/objects/{id}/tags");
    html! {
        h2 #tags { "Your tags" }
        @match login {
            None => p.note { a href={ "/login?next=/objects/" (id) } { "Log in" } " to tag this object; your tags are yours alone, and filters can use them (" code { "tag:LABEL" } ")." },
            Some(login) => {
                @if mine.is_empty() {
                    p.note { "You have not tagged this object." }
                } @else {
                    ul.tags {
                        @for t in mine {
                            li {
                                a href={ "/tags/" (t) } { (t) } " "
                                form.inline method="post" action={ (base) "/remove" } {
                                    (csrf_field(login))
                                    input type="hidden" name="tag" value=(t);
                                    button title={ "Remove the tag " (t) } { "×" }
                                }
                            }
                        }
                    }
                }
                form.inline method="post" action=(base) {
                    (csrf_field(login))
                    input name="tag" required maxlength=(tags::MAX_TAG_CHARS) pattern="[A-Za-z_][A-Za-z0-9_]*"
                        placeholder="e.g. follow_up" aria-label="a new tag";
                    " " button { "Add tag" }
                }
                p.note { "Filters select your tagged objects with " code { "tag:LABEL" } " in their tables. " a href="/tags" { "All your tags" } "." }
            }
        }
    }
}

async fn change(
    state: AppState,
    viewer: Viewer,
    text: String,
    req: Request,
    add: bool,
) -> PageResult {
    let Some((login, form)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required(&format!("/objects/{text}")));
    };
    let (survey, id) = super::object::object_of(&text)?;
    let key = id.key().map_err(PageError::bad)?;
    let tag = form
        .get("tag")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let shared = state.shared.clone();
    let owner = login.user.id;
    blocking(move || -> Result<(), PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        if add {
            tags::add(&mut db, survey, &key, owner, &tag)?;
        } else {
            tags::remove(&mut db, survey, &key, owner, &tag)?;
        }
        Ok(())
    })
    .await??;
    Ok(see_other(&format!("/objects/{id}#tags")))
}

/// `POST /objects/{id}/tags`: add the form's `tag`.
pub(crate) async fn add(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    req: Request,
) -> PageResult {
    change(state, viewer, text, req, true).await
}

/// `POST /objects/{id}/tags/remove`: remove the form's `tag`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(text): Path<String>,
    req: Request,
) -> PageResult {
    change(state, viewer, text, req, false).await
}

/// `/tags`: the viewer's tags and how many objects carry each.
pub(crate) async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let Some(login) = &viewer.0 else {
        return Ok(login_required("/tags"));
    };
    let (shared, owner) = (state.shared.clone(), login.user.id);
    let mine = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        Ok(tags::of_owner(&mut db, owner)?)
    })
    .await??;
    let body = html! {
        p { "Tag objects from their pages. A filter selects your tagged objects with " code { "tag:LABEL" } " in its tables, e.g. " code { "objects, tag:follow_up" } "." }
        @if mine.is_empty() {
            p.note { "You have no tags yet." }
        } @else {
            table.rows #tag-list {
                thead { tr { th { "tag" } th { "objects" } } }
                tbody {
                    @for (t, n) in &mine {
                        tr { td { a href={ "/tags/" (t) } { (t) } } td.num { (n) } }
                    }
                }
            }
        }
    };
    Ok(page("Your tags", Some(login), body).into_response())
}

/// `/tags/{tag}`: the objects the viewer tagged so.
pub(crate) async fn objects(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(tag): Path<String>,
) -> PageResult {
    let Some(login) = &viewer.0 else {
        return Ok(login_required(&format!("/tags/{tag}")));
    };
    if !tags::valid_tag(&tag) {
        return Err(PageError::not_found(format!("{tag:?} is not a tag.")));
    }
    let (shared, owner, t) = (state.shared.clone(), login.user.id, tag.clone());
    let tagged = blocking(move || -> Result<_, PageError> {
        let mut db = shared.main.take().map_err(PageError::from)?;
        Ok(tags::objects_tagged(&mut db, owner, &t)?)
    })
    .await??;
    let body = html! {
        @if tagged.is_empty() {
            p.note { "No object carries this tag." }
        } @else {
            table.rows #tagged {
                thead { tr { th { "object" } th { "survey" } th { "tagged (UTC)" } } }
                tbody {
                    @for (survey, id, when) in &tagged {
                        tr {
                            td { a href={ "/objects/" (id) } { (id) } }
                            td { (survey_label(*survey)) }
                            td { (when) }
                        }
                    }
                }
            }
        }
        p { a href="/tags" { "All your tags" } }
    };
    Ok(page(&format!("Tag {tag}"), Some(login), body).into_response())
}
