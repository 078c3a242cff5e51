//! Per-user request limits, as Lasair's `UserClassRateThrottle`: a sliding one-hour window
//! of the user's accepted requests; a request is refused (429) while the window already
//! holds the class's quota, and a refused request is not counted. The window is exact
//! (Lasair keeps the same list of timestamps in its Django cache), and the answer says
//! how long until the oldest request leaves it.
//!
//! Memory: one timestamp per accepted request in the last hour, per key; keys whose window
//! has emptied are dropped as the map grows.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whose requests are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    User(i64),
    /// Requests made before anyone is authenticated (`/api/auth-token/`), by address.
    Ip(IpAddr),
    /// Unauthenticated requests whose address is unknown share one window.
    Unknown,
    /// Failed password logins for one account name (a digest of it, so keys stay small).
    Account(u64),
}

pub(crate) struct Throttle {
    window: Duration,
    seen: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

/// Past this many keys, empty windows are swept out before adding another.
const SWEEP_AT: usize = 10_000;

impl Throttle {
    pub(crate) fn new(window: Duration) -> Throttle {
        Throttle {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Count a request by `key` against `limit` per window. Err carries how long to wait.
    pub(crate) fn check(&self, key: Key, limit: u32) -> Result<(), Duration> {
        self.check_at(key, limit, Instant::now())
    }

    pub(crate) fn check_at(&self, key: Key, limit: u32, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update; the timestamps
        // are still a valid (if slightly off) history.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        let expired = |t: &Instant| now.saturating_duration_since(*t) >= window;
        if seen.len() >= SWEEP_AT && !seen.contains_key(&key) {
            seen.retain(|_, times| {
                while times.front().is_some_and(expired) {
                    times.pop_front();
                }
                !times.is_empty()
            });
        }
        let times = seen.entry(key).or_default();
        while times.front().is_some_and(expired) {
            times.pop_front();
        }
        if times.len() >= limit as usize {
            let wait = times
                .front()
                .map(|oldest| window.saturating_sub(now.saturating_duration_since(*oldest)))
                .unwrap_or(window);
            return Err(wait.max(Duration::from_secs(1)));
        }
        times.push_back(now);
        Ok(())
    }

    /// Whether `key` is at `limit` already, without counting anything: Err carries how long
    /// to wait.
    pub(crate) fn full(&self, key: Key, limit: u32) -> Result<(), Duration> {
        let now = Instant::now();
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = seen.get(&key) else {
            return if limit == 0 { Err(self.window) } else { Ok(()) };
        };
        let live: Vec<&Instant> = times
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < self.window)
            .collect();
        if live.len() < limit as usize {
            return Ok(());
        }
        let wait = live
            .first()
            .map(|oldest| {
                self.window
                    .saturating_sub(now.saturating_duration_since(**oldest))
            })
            .unwrap_or(self.window);
        Err(wait.max(Duration::from_secs(1)))
    }

    /// Take back the newest request counted for `key` (one that turned out not to count,
    /// such as a login with the right password).
    pub(crate) fn refund(&self, key: Key) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(times) = seen.get_mut(&key) {
            times.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_refuses_beyond_the_quota_and_recovers() {
        let t = Throttle::new(Duration::from_secs(3600));
        let start = Instant::now();
        let a = Key::User(1);
        for i in 0..10 {
            t.check_at(a, 10, start + Duration::from_secs(i)).unwrap();
        }
        let wait = t
            .check_at(a, 10, start + Duration::from_secs(100))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(3500), "until the first leaves");
        // Another user is not affected.
        t.check_at(Key::User(2), 10, start + Duration::from_secs(100))
            .unwrap();
        // Refusals are not counted: once the first request is an hour old, one more fits.
        t.check_at(a, 10, start + Duration::from_secs(3600))
            .unwrap();
        assert!(t
            .check_at(a, 10, start + Duration::from_secs(3600))
            .is_err());
        // A zero quota refuses everything.
        assert!(t.check_at(Key::Unknown, 0, start).is_err());
    }

    #[test]
    fn full_counts_nothing_and_refund_takes_one_back() {
        let t = Throttle::new(Duration::from_secs(3600));
        let k = Key::Account(7);
        assert!(t.full(k, 2).is_ok());
        t.check(k, 2).unwrap();
        t.check(k, 2).unwrap();
        assert!(t.full(k, 2).is_err(), "two of two used");
        t.refund(k);
        assert!(t.full(k, 2).is_ok(), "one taken back");
        assert!(t.full(k, 2).is_ok(), "full() counted nothing");
        t.check(k, 2).unwrap();
        assert!(t.check(k, 2).is_err());
    }

    #[test]
    fn empty_windows_are_swept() {
        let t = Throttle::new(Duration::from_secs(1));
        let start = Instant::now();
        for id in 0..SWEEP_AT as i64 {
            t.check_at(Key::User(id), 5, start).unwrap();
        }
        t.check_at(Key::User(-1), 5, start + Duration::from_secs(2))
            .unwrap();
        assert_eq!(t.seen.lock().unwrap().len(), 1);
    }
}
