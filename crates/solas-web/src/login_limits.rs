//! Limits on password guessing, shared by `POST /login` and `/api/auth-token/` (one
//! guess is one guess, whichever door it comes through).
//!
//! Only failed logins count, in two separate windows:
//! - per account name: [`ACCOUNT_FAILURES`] in [`ACCOUNT_WINDOW`], from any address, so
//!   one account cannot be brute-forced from many addresses. That account's owner is
//!   refused too while it lasts; that is the price of stopping the guessing.
//! - per client address: `Rates::login` an hour (default 1,000), which bounds how many
//!   passwords one address may try across accounts. It is high because behind a reverse
//!   proxy every user shares one address, and a low limit there would let anyone lock
//!   everyone out.
//!
//! A wrong API token (on the API or in `/login?token=`) counts as a failed login of its
//! address too: tokens are too long to guess, but guessing should still be slowed.
//!
//! An attempt is counted before the password is checked (so parallel guesses cannot slip
//! past the limit) and taken back when the password was right.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::throttle::{Key, Throttle};

/// Failed logins per account name within [`ACCOUNT_WINDOW`].
pub(crate) const ACCOUNT_FAILURES: u32 = 10;
/// Window of the per-account count.
pub(crate) const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);

pub(crate) struct LoginLimits {
    accounts: Throttle,
    addresses: Throttle,
}

/// Why a login attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Account(Duration),
    Address(Duration),
}

impl Refused {
    pub(crate) fn wait(self) -> Duration {
        match self {
            Refused::Account(d) | Refused::Address(d) => d,
        }
    }

    pub(crate) fn message(self) -> String {
        let minutes = self.wait().as_secs().div_ceil(60).max(1);
        match self {
            Refused::Account(_) => {
                format!("Too many failed logins for this account; try again in {minutes} minutes.")
            }
            Refused::Address(_) => {
                format!("Too many failed logins from your address; try again in {minutes} minutes.")
            }
        }
    }
}

/// A counted attempt; hand it back with [`LoginLimits::succeeded`] when the password is
/// right.
pub(crate) struct Attempt {
    account: Key,
    address: Key,
}

/// The key of an account name as typed (case and surrounding space ignored, so "Alice "
/// and "alice" share one count).
fn account_key(username: &str) -> Key {
    let digest = Sha256::digest(username.trim().to_lowercase().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Key::Account(u64::from_le_bytes(first))
}

impl LoginLimits {
    pub(crate) fn new() -> LoginLimits {
        LoginLimits {
            accounts: Throttle::new(ACCOUNT_WINDOW),
            addresses: Throttle::new(Duration::from_secs(3600)),
        }
    }

    /// Whether `address` may try at all (checked before reading a body; counts nothing).
    pub(crate) fn address_allowed(&self, address: Key, per_hour: u32) -> Result<(), Refused> {
        self.addresses
            .full(address, per_hour)
            .map_err(Refused::Address)
    }

    /// Count an attempt on `username` from `address`, or refuse it (a refused attempt
    /// counts for neither).
    pub(crate) fn attempt(
        &self,
        username: &str,
        address: Key,
        per_hour: u32,
    ) -> Result<Attempt, Refused> {
        let account = account_key(username);
        self.addresses
            .check(address, per_hour)
            .map_err(Refused::Address)?;
        if let Err(wait) = self.accounts.check(account, ACCOUNT_FAILURES) {
            self.addresses.refund(address);
            return Err(Refused::Account(wait));
        }
        Ok(Attempt { account, address })
    }

    /// A wrong token from `address` (counted after the fact: a token check is cheap).
    pub(crate) fn token_failed(&self, address: Key, per_hour: u32) {
        let _ = self.addresses.check(address, per_hour);
    }

    /// The password was right: the attempt was no failure.
    pub(crate) fn succeeded(&self, attempt: Attempt) {
        self.accounts.refund(attempt.account);
        self.addresses.refund(attempt.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f7_only_failures_count_per_account_and_per_address() {
        let limits = LoginLimits::new();
        let a = Key::Ip([10, 0, 0, 1].into());
        let b = Key::Ip([10, 0, 0, 2].into());
        // Successes never use up anything.
        for _ in 0..3 * ACCOUNT_FAILURES {
            let attempt = limits.attempt("bystander", a, 50).unwrap();
            limits.succeeded(attempt);
        }
        // Failures on one account lock that account, from every address...
        for _ in 0..ACCOUNT_FAILURES {
            limits.attempt("victim", a, 50).unwrap();
        }
        assert!(matches!(
            limits.attempt("Victim ", b, 50),
            Err(Refused::Account(_))
        ));
        // ...but not other accounts from the same address.
        assert!(limits.attempt("bystander", a, 50).is_ok());
        // An address over its own limit is refused for every account.
        for i in 0..39 {
            limits.attempt(&format!("user{i}"), a, 50).unwrap();
        }
        assert!(matches!(
            limits.attempt("someone", a, 50),
            Err(Refused::Address(_))
        ));
        assert!(limits.address_allowed(a, 50).is_err());
        assert!(limits.address_allowed(b, 50).is_ok());
    }
}
