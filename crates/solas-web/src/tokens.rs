//! API tokens: made from the operating system's random numbers, stored only as their
//! SHA-256 (so a copy of the users database gives nobody a working token).

use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The operating system gave no random numbers.
#[derive(Debug, thiserror::Error)]
#[error("no random numbers from the operating system: {0}")]
pub struct NoRandom(getrandom::Error);

fn random_bytes<const N: usize>() -> Result<[u8; N], NoRandom> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(NoRandom)?;
    Ok(buf)
}

/// A new API token: 20 random bytes as 40 lower-case hex digits.
pub(crate) fn new_token() -> Result<String, NoRandom> {
    Ok(hex(&random_bytes::<20>()?))
}

/// What is stored for a token: its SHA-256, hex.
pub(crate) fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}
