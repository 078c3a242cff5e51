//! The completeness ledger as the stages count it: each stage adds the alerts it got
//! through to its visit's row ([`Tally::count`]), the decoders add the sky they saw, and
//! the store writer reports sources that later alerts' histories show but whose own
//! alerts never came ([`missing_sources`]). The status reporter moves the tally to the
//! main database every few seconds (`solas_store::main_db::ledger`), as it does the
//! per-hour counts, so no stage waits on a ledger write.

use std::collections::{HashMap, HashSet};
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

#[derive(Default)]
struct Inner {
    visits: HashMap<VisitKey, (Option<f64>, [i64; 5])>,
    sky: HashMap<(Survey, i64), HashSet<u64>>,
    missing: Vec<MissingSource>,
}

/// What this process's stages counted since the last report.
#[derive(Default)]
pub struct Tally {
    inner: Mutex<Inner>,
}

fn index(step: Step) -> usize {
    Step::ALL.iter().position(|s| *s == step).unwrap_or(0)
}

impl Tally {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic elsewhere while holding the lock leaves counts that are still counts.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut inner)
    }

    /// `step` got these alerts through.
    pub fn count<'a>(&self, step: Step, alerts: impl IntoIterator<Item = &'a Alert>) {
        self.with(|inner| {
            for a in alerts {
                let row = inner.visits.entry(visit_of(a)).or_default();
                row.0.get_or_insert(a.mjd);
                row.1[index(step)] += 1;
            }
        })
    }

    /// `step` got through alerts of these visits (as a stage downstream of the alerts
    /// themselves knows them).
    pub fn count_visits<'a>(&self, step: Step, visits: impl IntoIterator<Item = &'a VisitKey>) {
        self.with(|inner| {
            for v in visits {
                inner.visits.entry(*v).or_default().1[index(step)] += 1;
            }
        })
    }

    /// The decoders saw alerts at these positions.
    pub fn sky<'a>(&self, alerts: impl IntoIterator<Item = &'a Alert>) {
        self.with(|inner| {
            for a in alerts {
                if let Some(cell) = solas_watch::Moc::cell_of(SKY_DEPTH, a.ra, a.dec) {
                    let night = solas_core::night::night(a.survey, a.mjd);
                    inner.sky.entry((a.survey, night)).or_default().insert(cell);
                }
            }
        })
    }

    pub fn missing(&self, sources: Vec<MissingSource>) {
        self.with(|inner| inner.missing.extend(sources))
    }

    /// Everything counted since the last take, for the reporter to write.
    pub fn take(&self) -> LedgerDelta {
        let inner = self.with(std::mem::take);
        let mut delta = LedgerDelta::default();
        for (k, (mjd, counts)) in inner.visits {
            let v = delta.visits.entry(k).or_default();
            v.mjd = mjd;
            for (s, n) in Step::ALL.iter().zip(counts) {
                if n != 0 {
                    v.counts.insert(*s, n);
                }
            }
        }
        for (k, cells) in inner.sky {
            let mut cells: Vec<u64> = cells.into_iter().collect();
            cells.sort_unstable();
            delta.sky.insert(k, cells);
        }
        delta.missing = inner.missing;
        delta
    }

    /// A delta the database did not take, counted again for the next report.
    pub fn restore(&self, delta: LedgerDelta) {
        self.with(|inner| {
            for (k, v) in delta.visits {
                let row = inner.visits.entry(k).or_default();
                if row.0.is_none() {
                    row.0 = v.mjd;
                }
                for (s, n) in v.counts {
                    row.1[index(s)] += n;
                }
            }
            for (k, cells) in delta.sky {
                inner.sky.entry(k).or_default().extend(cells);
            }
            inner.missing.extend(delta.missing);
        })
    }
}

/// The recent history sources of a batch's alerts that did not come as alerts of this
/// batch, as (survey, object id, source id, mjd, the alert that carried them): the store
/// writer asks the lightcurve store which of them came as alerts before.
pub fn history_candidates(alerts: &[&Alert]) -> Vec<(Survey, i64, i64, f64, i64)> {
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
                out.push((a.survey, a.object.id, d.source_id, d.mjd, a.alert_id));
            }
        }
    }
    out
}

/// Of `candidates`, those whose own alerts the store has not received (`triggered` lists
/// the source ids the store holds from their own alerts, per survey).
pub fn missing_sources(
    candidates: Vec<(Survey, i64, i64, f64, i64)>,
    triggered: &HashSet<(Survey, i64)>,
) -> Vec<MissingSource> {
    candidates
        .into_iter()
        .filter(|(survey, _, source, _, _)| !triggered.contains(&(*survey, *source)))
        .map(
            |(survey, object_id, source_id, mjd, seen_in)| MissingSource {
                survey,
                source_id,
                object_id,
                mjd,
                seen_in,
            },
        )
        .collect()
}
