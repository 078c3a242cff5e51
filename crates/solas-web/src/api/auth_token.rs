//! `/api/auth-token/`: trade a username and password for an API token (DRF's
//! `obtain_auth_token`, POST only): `{"token": "<40 hex>"}`.
//!
//! DRF hands back the user's one stored token every time. Solas stores only token hashes,
//! so each call issues a new token (the user's older ones keep working, up to
//! [`crate::users::MAX_TOKENS_PER_USER`]). Failed calls count against the account and the
//! client address together with `POST /login` ([`crate::login_limits`]).

use axum::extract::{Request, State};
use axum::Json;
use serde_json::{json, Value};

use crate::db::blocking;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::throttle::Key;
use crate::users::{users_target, UserStore};
use crate::AppState;

/// Largest body read: a username and a password.
const MAX_FORM: usize = 8 * 1024;

pub(crate) async fn handle(
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let address = crate::auth::client_ip(req.extensions()).map_or(Key::Unknown, Key::Ip);
    let per_hour = state.shared.config.rates.login;
    let limits = &state.shared.login_limits;
    // Refused before the body is read when the address is over its limit already.
    limits
        .address_allowed(address, per_hour)
        .map_err(|r| ApiError::Throttled(r.wait()))?;
    let params = Params::read(req, MAX_FORM).await?;
    let mut c = Check::new(&params);
    let username = c.text("username", 150, false, None);
    // Passwords are taken as typed: no trimming, as DRF's `trim_whitespace=False`.
    let password = match params.get("password") {
        Some(Value::String(p)) if !p.is_empty() => p.clone(),
        Some(Value::String(_)) => {
            c.fail("password", "This field may not be blank.");
            String::new()
        }
        Some(_) => {
            c.fail("password", "Not a valid string.");
            String::new()
        }
        None => {
            c.fail("password", "This field is required.");
            String::new()
        }
    };
    c.finish()?;
    let attempt = limits
        .attempt(&username, address, per_hour)
        .map_err(|r| ApiError::Throttled(r.wait()))?;
    let config = &state.shared.config;
    let target = users_target(&config.data_dir, config.main_db.as_ref());
    let _turn = state
        .shared
        .password_checks
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let token = blocking(move || -> Result<Option<String>, ApiError> {
        // Its own connection: hashing the password takes a while, and the shared one
        // serves every other request's token look-up meanwhile.
        let mut users = UserStore::connect(&target)?;
        match users.check_password(&username, &password)? {
            Some(user) if user.active => Ok(Some(users.issue_token(user.id)?)),
            _ => Ok(None),
        }
    })
    .await??;
    match token {
        Some(token) => {
            limits.succeeded(attempt);
            Ok(Json(json!({ "token": token })))
        }
        None => Err(ApiError::Fields(std::collections::BTreeMap::from([(
            "non_field_errors".to_string(),
            vec!["Unable to log in with provided credentials.".to_string()],
        )]))),
    }
}
