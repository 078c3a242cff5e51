//! Password hashes. New ones are Argon2id (the `argon2` crate, its default cost: 19 MiB,
//! two passes) in the PHC string format. Hashes from before are PBKDF2-HMAC-SHA256 in
//! Django's layout with hex fields, `pbkdf2_sha256$<iterations>$<salt>$<hash>`: they still
//! verify (through the `pbkdf2` crate), and [`Checked::Right`] says to store a new hash so
//! each is upgraded at its user's next login.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use subtle::ConstantTimeEq;

/// The hasher failed (it does not on any input a user can give; the error is kept).
#[derive(Debug, thiserror::Error)]
#[error("hashing a password: {0}")]
pub struct HashError(String);

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    Wrong,
    /// Right; `rehash` when the stored hash is of an older kind and should be replaced.
    Right {
        rehash: bool,
    },
}

/// A new hash of `password` (Argon2id, random salt).
pub(crate) fn hash(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Does `password` match the stored hash? Malformed hashes match nothing.
pub(crate) fn check(stored: &str, password: &str) -> Checked {
    if stored.starts_with("pbkdf2_sha256$") {
        return if legacy_pbkdf2_matches(stored, password) {
            Checked::Right { rehash: true }
        } else {
            Checked::Wrong
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Checked::Wrong;
    };
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Checked::Right { rehash: false },
        Err(_) => Checked::Wrong,
    }
}

/// Spend the time of one check on a password nobody has, so that an unknown username
/// answers as slowly as a known one and response times do not tell which names exist.
pub(crate) fn check_nobody(password: &str) {
    static NOBODY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(h) = NOBODY.get_or_init(|| hash("nobody has this password").ok()) {
        let _ = check(h, password);
    }
}

fn legacy_pbkdf2_matches(stored: &str, password: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(want), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Some(salt), Some(want)) =
        (iterations.parse::<u32>(), unhex(salt), unhex(want))
    else {
        return false;
    };
    // A hand-edited row must not make one login take minutes.
    if iterations == 0 || iterations > 10_000_000 || want.len() != 32 {
        return false;
    }
    let mut got = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, iterations, &mut got);
    bool::from(got.ct_eq(&want[..]))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash as Solas stored them before Argon2: PBKDF2-HMAC-SHA256, 60,000 rounds, of
    /// "s3cret-pass" with salt 000102…0f (computed with Python's hashlib.pbkdf2_hmac).
    const LEGACY: &str = "pbkdf2_sha256$60000$000102030405060708090a0b0c0d0e0f$\
        e23d96151a43eec2f327a30710c828d65beac22ae2cf24aae8946c873d78ed86";

    #[test]
    fn new_passwords_are_argon2id_and_verify_only_themselves() {
        let h = hash("s3cret-pass").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_eq!(check(&h, "s3cret-pass"), Checked::Right { rehash: false });
        assert_eq!(check(&h, "s3cret-pasS"), Checked::Wrong);
        assert_ne!(h, hash("s3cret-pass").unwrap(), "salted");
        for bad in [
            "",
            "md5$1$00$00",
            "pbkdf2_sha256$x$00$00",
            "$argon2id$garbage",
        ] {
            assert_eq!(check(bad, "s3cret-pass"), Checked::Wrong, "{bad}");
        }
    }

    #[test]
    fn old_pbkdf2_hashes_verify_and_ask_to_be_replaced() {
        assert_eq!(
            check(LEGACY, "s3cret-pass"),
            Checked::Right { rehash: true }
        );
        assert_eq!(check(LEGACY, "s3cret-pasS"), Checked::Wrong);
    }
}
