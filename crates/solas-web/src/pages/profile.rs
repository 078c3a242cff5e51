//! `/profile`: the logged-in user's account: their class and API rate, their API tokens
//! (listed by number and date, since only digests are kept; a new one is shown once,
//! with the `lasair` client line that uses it; any can be revoked), and a password change
//! that ends their other sessions.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{html, Markup};

use super::layout::{csrf_field, page, PageError, PageResult, SMALL_FORM};
use super::login::login_required;
use super::session::{cookie_session, posted, Login, Viewer};
use crate::db::blocking;
use crate::AppState;

/// What the last action did, shown above the account.
enum Done {
    Nothing,
    NewToken(String),
    Revoked(i64),
    PasswordChanged,
    Refused(String),
}

/// The base address the `lasair` client should use for this site.
fn endpoint(state: &AppState) -> String {
    let base = state
        .shared
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.shared.config.bind));
    format!("{}/api", base.trim_end_matches('/'))
}

async fn render(state: &AppState, login: &Login, done: Done, status: StatusCode) -> PageResult {
    let (st, user_id) = (state.clone(), login.user.id);
    let tokens = blocking(move || {
        let mut users = st.shared.users.lock().unwrap_or_else(|p| p.into_inner());
        users.tokens_of(user_id)
    })
    .await?
    .map_err(PageError::internal)?;
    let rate = state.shared.config.rates.per_hour(login.user.class);
    let api = endpoint(state);
    let message: Markup = match &done {
        Done::Nothing => html! {},
        Done::NewToken(token) => html! {
            div.ok #new-token {
                p { "Your new API token (copy it now: only its digest is kept, so it cannot be shown again):" }
                pre { code #token-value { (token) } }
                p { "With the " code { "lasair" } " client (" code { "pip install lasair" } "):" }
                pre { code { "from lasair import lasair_client\nL = lasair_client('" (token) "', endpoint='" (api) "')\nprint(L.cone(0.8143, 16.1457, radius=5, requestType='all'))" } }
            }
        },
        Done::Revoked(n) => {
            html! { p.ok #revoked { "Token " (n) " revoked: it no longer works." } }
        }
        Done::PasswordChanged => {
            html! { p.ok #password-changed { "Password changed; your other sessions have ended." } }
        }
        Done::Refused(m) => html! { p.error #profile-error { (m) } },
    };
    let body = html! {
        (message)
        table.fields #account {
            tr { th { "Username" } td { (login.user.username) } }
            tr { th { "Email" } td { (if login.user.email.is_empty() { "–" } else { &login.user.email }) } }
            tr { th { "Class" } td { (login.user.class.as_str()) } }
            tr { th { "API requests per hour" } td { (super::home::thousands(i64::from(rate))) } }
        }
        h2 { "API tokens" }
        p {
            "Send a token as " code { "Authorization: Token …" } " (or " code { "?token=…" } "). "
            "The " a href="/docs/api" { "API documentation" } " shows every endpoint. "
            "The pages' own data links work while you are logged in."
        }
        @if tokens.is_empty() {
            p.note { "You have no tokens." }
        } @else {
            table.rows #tokens {
                thead { tr { th { "token" } th { "made (UTC)" } th {} } }
                tbody {
                    @for (seq, created) in &tokens {
                        tr {
                            td { "#" (seq) }
                            td { (created) }
                            td {
                                form.inline method="post" action={ "/profile/tokens/" (seq) "/revoke" }
                                    onsubmit="return confirm('Revoke this token? Programs using it will stop working.')" {
                                    (csrf_field(login)) button { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.inline method="post" action="/profile/tokens" {
            (csrf_field(login)) button #make-token { "Make a new token" }
        }
        p.note { "At most " (crate::users::MAX_TOKENS_PER_USER) " tokens are kept: a new one beyond that revokes the oldest." }
        h2 { "Change password" }
        form.stack.narrow method="post" action="/profile/password" {
            (csrf_field(login))
            label { "Current password " input type="password" name="current" autocomplete="current-password" required; }
            label { "New password (8 characters or more) " input type="password" name="new" autocomplete="new-password" minlength="8" required; }
            label { "New password again " input type="password" name="again" autocomplete="new-password" minlength="8" required; }
            button { "Change password" }
        }
    };
    Ok((status, page("Your profile", Some(login), body)).into_response())
}

pub(crate) async fn show(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let Some(login) = &viewer.0 else {
        return Ok(login_required("/profile"));
    };
    render(&state, login, Done::Nothing, StatusCode::OK).await
}

/// `POST /profile/tokens`: a new token, shown once.
pub(crate) async fn make_token(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let Some((login, _)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required("/profile"));
    };
    let (st, user_id) = (state.clone(), login.user.id);
    let token = blocking(move || {
        let mut users = st.shared.users.lock().unwrap_or_else(|p| p.into_inner());
        users.issue_token(user_id)
    })
    .await?
    .map_err(PageError::internal)?;
    render(&state, &login, Done::NewToken(token), StatusCode::OK).await
}

/// `POST /profile/tokens/{n}/revoke`.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(seq): Path<i64>,
    req: Request,
) -> PageResult {
    let Some((login, _)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required("/profile"));
    };
    let (st, user_id) = (state.clone(), login.user.id);
    let revoked = blocking(move || {
        let mut users = st.shared.users.lock().unwrap_or_else(|p| p.into_inner());
        users.revoke_token(user_id, seq)
    })
    .await?
    .map_err(PageError::internal)?;
    if revoked {
        render(&state, &login, Done::Revoked(seq), StatusCode::OK).await
    } else {
        let m = format!("You have no token {seq}.");
        render(&state, &login, Done::Refused(m), StatusCode::NOT_FOUND).await
    }
}

/// `POST /profile/password`: the current password, then the new one twice.
pub(crate) async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let session = cookie_session(req.headers()).unwrap_or_default();
    let Some((login, form)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required("/profile"));
    };
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (current, new, again) = (field("current"), field("new"), field("again"));
    if new != again {
        let m = "The new password and its repetition differ; nothing was changed.".to_string();
        return render(&state, &login, Done::Refused(m), StatusCode::BAD_REQUEST).await;
    }
    // Hashing takes a while: on its own connection, as logging in does, so page loads
    // that look up sessions on the shared one do not wait.
    let (target, user) = (
        crate::users::users_target(
            &state.shared.config.data_dir,
            state.shared.config.main_db.as_ref(),
        ),
        login.user.clone(),
    );
    let _turn = state
        .shared
        .password_checks
        .acquire()
        .await
        .map_err(PageError::internal)?;
    let outcome = blocking(move || {
        crate::users::UserStore::connect(&target)?.change_password(&user, &current, &new, &session)
    })
    .await?;
    match outcome {
        Ok(true) => render(&state, &login, Done::PasswordChanged, StatusCode::OK).await,
        Ok(false) => {
            let m = "The current password is wrong; nothing was changed.".to_string();
            render(&state, &login, Done::Refused(m), StatusCode::BAD_REQUEST).await
        }
        Err(crate::users::UserError::Invalid(m)) => {
            render(&state, &login, Done::Refused(m), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(PageError::internal(e)),
    }
}
