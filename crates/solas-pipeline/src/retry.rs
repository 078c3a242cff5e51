//! Waiting out an outage. A write that fails transiently (S3 or PostgreSQL unreachable, a
//! full disk, a lock) is tried again with backoff. Its stage waits, and through the
//! bounded queues so do the stages upstream: nothing is rejected and no offset committed
//! while a service is down, and the run goes on by itself when it is back. The operator's
//! alert hook hears when an outage lasts, and when it ends. Only a stop (Ctrl-C, SIGTERM)
//! ends the wait; what was waiting is then left unacknowledged, to be read again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use solas_store::{ErrorKind, StoreError};

use crate::stats::Stats;

/// How one outage of one service is going: since when, and whether the hook was told.
#[derive(Debug)]
struct Outage {
    since: Instant,
    told: bool,
    last_log: Instant,
}

pub struct Retrier {
    stop: Arc<AtomicBool>,
    hook: Option<String>,
    /// How long an outage lasts before the hook is told.
    alert_after: Duration,
    first_backoff: Duration,
    max_backoff: Duration,
    /// Outages in progress, by service (shared by the stage threads, so the hook hears of
    /// each outage once however many workers wait on it).
    outages: Mutex<HashMap<&'static str, Outage>>,
    /// How many `outages` there are, read without the lock: every successful write asks
    /// whether it ended one (three cutout puts an alert), and almost always none is open.
    open_outages: std::sync::atomic::AtomicUsize,
    stats: Arc<Stats>,
}

/// A failure the retrier can sort: only a transient one is tried again.
pub trait Failure: std::fmt::Display {
    fn kind(&self) -> ErrorKind;
}

impl Failure for StoreError {
    fn kind(&self) -> ErrorKind {
        StoreError::kind(self)
    }
}

impl Failure for crate::filter::user_filters::EngineError {
    fn kind(&self) -> ErrorKind {
        crate::filter::user_filters::EngineError::kind(self)
    }
}

impl Failure for solas_delivery::DeliveryError {
    fn kind(&self) -> ErrorKind {
        solas_delivery::DeliveryError::kind(self)
    }
}

/// Why [`Retrier::run`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum GaveUp<E: Failure = StoreError> {
    /// Not a transient failure: bad input or a permanent refusal.
    #[error("{0}")]
    Failed(E),
    /// Told to stop while the service was still failing.
    #[error("stopped while waiting for {what}: {error}")]
    Stopped { what: &'static str, error: E },
}

impl Retrier {
    pub fn new(stop: Arc<AtomicBool>, stats: Arc<Stats>) -> Retrier {
        Retrier {
            stop,
            hook: None,
            alert_after: Duration::from_secs(60),
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            outages: Mutex::new(HashMap::new()),
            open_outages: Default::default(),
            stats,
        }
    }

    pub fn with_hook(mut self, url: Option<String>, after: Duration) -> Retrier {
        self.hook = url;
        self.alert_after = after;
        self
    }

    /// The longest wait between two tries (tests shorten it).
    pub fn with_max_backoff(mut self, max: Duration) -> Retrier {
        self.max_backoff = max;
        self.first_backoff = self.first_backoff.min(max);
        self
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Run `op` until it succeeds, retrying transient failures of `what` (a service:
    /// "cutout store", "lightcurve store", "main database", "Kafka topic", …) with backoff.
    pub fn run<T, E: Failure>(
        &self,
        what: &'static str,
        mut op: impl FnMut() -> Result<T, E>,
    ) -> Result<T, GaveUp<E>> {
        let mut backoff = self.first_backoff;
        loop {
            match op() {
                Ok(v) => {
                    self.recovered(what);
                    return Ok(v);
                }
                Err(e) if e.kind() != ErrorKind::Transient => return Err(GaveUp::Failed(e)),
                Err(e) => {
                    Stats::add(&self.stats.store_retries, 1);
                    self.failing(what, &e);
                    if self.sleep_unless_stopped(backoff) {
                        return Err(GaveUp::Stopped { what, error: e });
                    }
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    /// Sleep in short steps so that a stop is seen at once; true if stopped.
    fn sleep_unless_stopped(&self, total: Duration) -> bool {
        let until = Instant::now() + total;
        loop {
            if self.stopping() {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }

    fn failing(&self, what: &'static str, e: &dyn std::fmt::Display) {
        let mut outages = self.outages.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let outage = outages.entry(what).or_insert_with(|| {
            self.open_outages.fetch_add(1, Ordering::SeqCst);
            log::warn!("{what} unavailable, waiting (nothing is rejected): {e}");
            Outage {
                since: now,
                told: false,
                last_log: now,
            }
        });
        if now.duration_since(outage.last_log) >= Duration::from_secs(30) {
            outage.last_log = now;
            log::warn!(
                "{what} still unavailable after {:.0} s: {e}",
                outage.since.elapsed().as_secs_f64()
            );
        }
        if !outage.told && outage.since.elapsed() >= self.alert_after {
            outage.told = true;
            let text = format!(
                "Solas cannot write to the {what} for {:.0} s: {e}. Alerts wait (none is \
                 rejected, no offset committed) and the run goes on when it is back.",
                outage.since.elapsed().as_secs_f64()
            );
            log::error!("{text}");
            if let Some(url) = &self.hook {
                crate::alert_hook::post(url, &text);
            }
        }
    }

    fn recovered(&self, what: &'static str) {
        if self.open_outages.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut outages = self.outages.lock().unwrap_or_else(|p| p.into_inner());
        let Some(outage) = outages.remove(what) else {
            return;
        };
        self.open_outages.fetch_sub(1, Ordering::SeqCst);
        let text = format!(
            "Solas writes to the {what} again, after {:.0} s",
            outage.since.elapsed().as_secs_f64()
        );
        log::warn!("{text}");
        if let (true, Some(url)) = (outage.told, &self.hook) {
            crate::alert_hook::post(url, &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_disk() -> StoreError {
        StoreError::Io {
            path: "cutouts/00000001.pack".into(),
            source: std::io::Error::from_raw_os_error(28),
        }
    }

    #[test]
    fn a_transient_failure_is_retried_until_it_succeeds() {
        let r =
            Retrier::new(Arc::default(), Arc::default()).with_max_backoff(Duration::from_millis(5));
        let mut tries = 0;
        let got = r.run("cutout store", || {
            tries += 1;
            if tries < 4 {
                Err(full_disk())
            } else {
                Ok(tries)
            }
        });
        assert_eq!(got.unwrap(), 4);
        assert_eq!(Stats::get(&r.stats.store_retries), 3);
    }

    #[test]
    fn bad_input_is_not_retried_and_a_stop_ends_the_wait() {
        let r = Retrier::new(Arc::default(), Arc::default());
        let mut tries = 0;
        let got: Result<(), _> = r.run("cutout store", || {
            tries += 1;
            Err(StoreError::NotFits("no SIMPLE".into()))
        });
        assert!(matches!(got, Err(GaveUp::Failed(_))));
        assert_eq!(tries, 1);

        let stop = Arc::new(AtomicBool::new(false));
        let r = Retrier::new(stop.clone(), Arc::default());
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
        });
        let got: Result<(), _> = r.run("cutout store", || Err(full_disk()));
        assert!(matches!(got, Err(GaveUp::Stopped { .. })), "{got:?}");
        stopper.join().unwrap();
    }
}
