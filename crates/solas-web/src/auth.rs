//! Who is calling: tokens, passwords and the extractor every API handler takes.
//!
//! A request authenticates as Lasair's do: `Authorization: Token <key>` (DRF's
//! `TokenAuthentication`) or `?token=<key>` (Lasair's `QueryAuthentication`). The key is
//! hashed with SHA-256 and looked up in `users.db`; then the user's rate limit is charged.
//! Failures answer as DRF does: 401 with `{"detail": ...}` and `WWW-Authenticate: Token`,
//! 429 with Lasair's `{"message": ...}`.
//!
//! Passwords (for `/api/auth-token/`) are hashed with PBKDF2-HMAC-SHA256 and a random salt,
//! stored as `pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>` (Django's layout, hex
//! instead of base64), so the iteration count can grow without invalidating old hashes.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::throttle::Key;
use crate::users::User;
use crate::AppState;

/// PBKDF2 rounds for new password hashes.
pub(crate) const PBKDF2_ITERATIONS: u32 = 60_000;

/// A well-formed hash of a password nobody has, verified against when the username is
/// unknown so that both paths cost the same.
pub(crate) const DUMMY_HASH: &str = "pbkdf2_sha256$60000$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// A new API token: 20 random bytes as 40 lower-case hex digits.
pub(crate) fn new_token() -> Result<String, String> {
    Ok(hex(&random_bytes::<20>()?))
}

/// What is stored for a token: its SHA-256, hex.
pub(crate) fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// PBKDF2-HMAC-SHA256 with one 32-byte output block (RFC 8018). The keyed inner and outer
/// hash states are computed once, so each round costs two SHA-256 compressions.
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut key = [0u8; 64];
    if password.len() > 64 {
        key[..32].copy_from_slice(&Sha256::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for i in 0..64 {
        ipad[i] ^= key[i];
        opad[i] ^= key[i];
    }
    let inner = Sha256::new().chain_update(ipad);
    let outer = Sha256::new().chain_update(opad);
    let hmac = |msg: &[&[u8]]| -> [u8; 32] {
        let mut h = inner.clone();
        for part in msg {
            h.update(part);
        }
        outer.clone().chain_update(h.finalize()).finalize().into()
    };
    let mut u = hmac(&[salt, &1u32.to_be_bytes()]);
    let mut t = u;
    for _ in 1..iterations {
        u = hmac(&[&u]);
        for (a, b) in t.iter_mut().zip(u) {
            *a ^= b;
        }
    }
    t
}

pub(crate) fn hash_password(password: &str) -> Result<String, crate::users::UserError> {
    let salt = random_bytes::<16>().map_err(crate::users::UserError::Random)?;
    let hash = pbkdf2_sha256(password.as_bytes(), &salt, PBKDF2_ITERATIONS);
    Ok(format!(
        "pbkdf2_sha256${PBKDF2_ITERATIONS}${}${}",
        hex(&salt),
        hex(&hash)
    ))
}

/// Does `password` match the stored hash? Malformed hashes match nothing.
pub(crate) fn verify_password(stored: &str, password: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Some(salt), Some(hash)) =
        (iterations.parse::<u32>(), unhex(salt), unhex(hash))
    else {
        return false;
    };
    // A hand-edited row must not make one login take minutes.
    if iterations == 0 || iterations > 10_000_000 || hash.len() != 32 {
        return false;
    }
    let got = pbkdf2_sha256(password.as_bytes(), &salt, iterations);
    // Constant time: look at every byte whatever the first difference.
    got.iter().zip(&hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The token a request carries, from the header or the query string.
fn request_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, key) = value.split_once(' ')?;
        // DRF's keyword is `Token`; `Bearer` is what many HTTP tools send.
        if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
            return Some(key.trim().to_string());
        }
        return None;
    }
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .last()
}

/// Lasair's `QueryAuthentication` accepts keys matching `^\w+$`; anything else (or a key
/// longer than any Solas issues) is refused before touching the database.
fn plausible_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 128
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The client's address, when the server was started with connection info (tests that
/// call the router directly have none).
pub(crate) fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// An authenticated, active, not-throttled user. Taking it as a handler argument makes the
/// endpoint require a token and count against the user's rate.
pub(crate) struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<AuthUser, ApiError> {
        let Some(token) = request_token(parts) else {
            return Err(ApiError::Unauthenticated(
                "Authentication credentials were not provided.",
            ));
        };
        // F14: an address that has sent too many wrong tokens (or passwords) waits.
        let address = client_ip(&parts.extensions).map_or(Key::Unknown, Key::Ip);
        let per_hour = state.shared.config.rates.login;
        let limits = &state.shared.login_limits;
        limits
            .address_allowed(address, per_hour)
            .map_err(|r| ApiError::Throttled(r.wait()))?;
        let user = if plausible_token(&token) {
            let users = state.shared.clone();
            crate::db::blocking(move || users.token_user(&token)).await??
        } else {
            None
        };
        let Some(user) = user else {
            limits.token_failed(address, per_hour);
            return Err(ApiError::Unauthenticated("Invalid token."));
        };
        if !user.active {
            return Err(ApiError::Unauthenticated("User inactive or deleted."));
        }
        let limit = state.shared.config.rates.per_hour(user.class);
        state
            .shared
            .throttle
            .check(Key::User(user.id), limit)
            .map_err(ApiError::Throttled)?;
        Ok(AuthUser(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_the_published_vectors() {
        // RFC 7914 §11 / common PBKDF2-HMAC-SHA256 test vectors (dkLen 32).
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret-pass").unwrap();
        assert!(h.starts_with("pbkdf2_sha256$"));
        assert!(verify_password(&h, "s3cret-pass"));
        assert!(!verify_password(&h, "s3cret-pasS"));
        assert_ne!(h, hash_password("s3cret-pass").unwrap(), "salted");
        for bad in ["", "md5$1$00$00", "pbkdf2_sha256$x$00$00", DUMMY_HASH] {
            assert!(!verify_password(bad, "s3cret-pass"), "{bad}");
        }
    }

    #[test]
    fn tokens_look_like_lasair_tokens() {
        let t = new_token().unwrap();
        assert_eq!(t.len(), 40);
        assert!(plausible_token(&t));
        assert!(!plausible_token("abc def"));
        assert!(!plausible_token("abc' OR 1=1"));
        assert_eq!(token_digest("abc").len(), 64);
    }
}
