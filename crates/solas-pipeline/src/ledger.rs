//! The completeness ledger as the stages count it: each stage adds the alerts it got
//! through to its visit's row ([`Tally::count`]), the decoders add the sky they saw, and
//! the store writer reports sources that later alerts' histories show but whose own
//! alerts never came ([`history_candidates`]). The status reporter moves the tally to the
//! main database every few seconds (`solas_store::main_db::ledger`), as it does the
//! per-hour counts, so no stage waits on a ledger write.

use std::collections::HashSet;
use std::sync::Mutex;

use solas_core::{Alert, Survey};
use solas_store::main_db::ledger::{LedgerDelta, MissingSource, Step, VisitKey, SKY_DEPTH};

/// How far back in an alert's history a source without its own alert is looked for:
/// older sources were the broker's business before (or before it started), and a late
/// alert (Rubin may send up to 2 % late) has come by then.
pub const HISTORY_WINDOW_DAYS: f64 = 2.0;

/// An alert's visit: its survey, night and visit id (−1 when the alert names none).
pub fn visit_of(alert: &Alert) -> VisitKey {
    VisitKey {
        survey: alert.survey,
        night: solas_core::night::night(alert.survey, alert.mjd),
        visit: alert.visit.unwrap_or(-1),
    }
}

/// What this process's stages counted since the last report.
#[derive(Default)]
pub struct Tally {
    delta: Mutex<LedgerDelta>,
}

impl Tally {
    fn with<T>(&self, f: impl FnOnce(&mut LedgerDelta) -> T) -> T {
        // A panic elsewhere while holding the lock leaves counts that are still counts.
        let mut delta = self.delta.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut delta)
    }

    /// `step` got these alerts through.
    pub fn count<'a>(&self, step: Step, alerts: impl IntoIterator<Item = &'a Alert>) {
        self.with(|delta| {
            for a in alerts {
                delta.count(visit_of(a), Some(a.mjd), step);
            }
        })
    }

    /// `step` got through alerts of these visits (as a stage downstream of the alerts
    /// themselves knows them).
    pub fn count_visits<'a>(&self, step: Step, visits: impl IntoIterator<Item = &'a VisitKey>) {
        self.with(|delta| {
            for v in visits {
                delta.count(*v, None, step);
            }
        })
    }

    /// The decoders saw alerts at these positions.
    pub fn sky<'a>(&self, alerts: impl IntoIterator<Item = &'a Alert>) {
        self.with(|delta| {
            for a in alerts {
                if let Some(cell) = solas_watch::Moc::cell_of(SKY_DEPTH, a.ra, a.dec) {
                    let night = solas_core::night::night(a.survey, a.mjd);
                    delta.sky.entry((a.survey, night)).or_default().insert(cell);
                }
            }
        })
    }

    pub fn missing(&self, sources: Vec<MissingSource>) {
        self.with(|delta| delta.missing.extend(sources))
    }

    /// Everything counted since the last take, for the reporter to write.
    pub fn take(&self) -> LedgerDelta {
        self.with(std::mem::take)
    }

    /// A delta the database did not take, counted again for the next report.
    pub fn restore(&self, delta: LedgerDelta) {
        self.with(|d| d.merge(delta))
    }
}

/// The recent history sources of a batch's alerts that did not come as alerts of this
/// batch, each with the alert that carried it: the store writer asks the lightcurve store
/// which of them came as alerts before.
pub fn history_candidates(alerts: &[&Alert]) -> Vec<MissingSource> {
    let triggers: HashSet<(Survey, i64)> = alerts.iter().map(|a| (a.survey, a.alert_id)).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in alerts {
        for d in &a.detections {
            let recent = d.mjd < a.mjd && d.mjd >= a.mjd - HISTORY_WINDOW_DAYS;
            if recent
                && d.source_id != a.alert_id
                && !triggers.contains(&(a.survey, d.source_id))
                && seen.insert((a.survey, d.source_id))
            {
                out.push(MissingSource {
                    survey: a.survey,
                    source_id: d.source_id,
                    object_id: a.object.id,
                    mjd: d.mjd,
                    seen_in: a.alert_id,
                });
            }
        }
    }
    out
}
