//! The completeness ledger: per visit (a Rubin visit; a ZTF field on a night), how many
//! alerts each stage got through (decoded, stored, classified, filtered, delivered),
//! the sources later alerts' histories show from a visit whose own alerts never came,
//! and per night a MOC of the sky the alerts covered. Workers add their counts every few
//! seconds (additive upserts: every worker of a stage adds to the same rows), so the
//! ledger says where an alert was lost and which visit it belonged to.

use std::collections::{BTreeMap, BTreeSet};

use solas_core::Survey;
use solas_watch::Moc;

use crate::args;
use crate::db::Db;
use crate::StoreError;

/// The HEALPix order of the nightly sky MOCs: cells of about 13′, fine enough to show a
/// field's footprint, coarse enough for a night's MOC to stay small.
pub const SKY_DEPTH: u8 = 8;

/// Migration 19.
pub(super) const SQL: &str = r#"
CREATE TABLE ledger (
    survey TEXT NOT NULL,
    night INTEGER NOT NULL,
    visit INTEGER NOT NULL,
    mjd REAL,
    decoded INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    classified INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (survey, night, visit));
CREATE TABLE ledger_missing (
    survey TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    object_id INTEGER NOT NULL,
    mjd REAL NOT NULL,
    night INTEGER NOT NULL,
    seen_in INTEGER NOT NULL,
    PRIMARY KEY (survey, source_id));
CREATE INDEX ledger_missing_night ON ledger_missing (survey, night);
CREATE TABLE ledger_sky (
    survey TEXT NOT NULL,
    night INTEGER NOT NULL,
    moc BLOB NOT NULL,
    PRIMARY KEY (survey, night));
"#;

/// The stages the ledger counts, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Decoded,
    Stored,
    Classified,
    Filtered,
    Delivered,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Decoded,
        Step::Stored,
        Step::Classified,
        Step::Filtered,
        Step::Delivered,
    ];

    /// Its place in [`Step::ALL`] and in a visit's counts.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The ledger's column (and the word the reports use).
    pub fn column(self) -> &'static str {
        match self {
            Step::Decoded => "decoded",
            Step::Stored => "stored",
            Step::Classified => "classified",
            Step::Filtered => "filtered",
            Step::Delivered => "delivered",
        }
    }
}

/// One visit: its survey, night (YYYYMMDD, [`solas_core::night`]) and visit id (Rubin's
/// `visit`; ZTF's field; −1 when the alert names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisitKey {
    pub survey: Survey,
    pub night: i64,
    pub visit: i64,
}

/// What a worker counted for one visit since its last report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitCounts {
    /// The exposure's time (its first alert's trigger MJD).
    pub mjd: Option<f64>,
    /// Per step, in [`Step::ALL`]'s order.
    pub counts: [i64; Step::ALL.len()],
}

/// A source later alerts showed in their history whose own alert has not been received.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingSource {
    pub survey: Survey,
    pub source_id: i64,
    pub object_id: i64,
    pub mjd: f64,
    /// The alert whose history carried it.
    pub seen_in: i64,
}

/// What a worker adds to the ledger in one report: its stages count into it as they go,
/// and the reporter writes and empties it.
#[derive(Debug, Default)]
pub struct LedgerDelta {
    pub visits: BTreeMap<VisitKey, VisitCounts>,
    /// Per (survey, night), the sky cells (order [`SKY_DEPTH`]) of the alerts decoded.
    pub sky: BTreeMap<(Survey, i64), BTreeSet<u64>>,
    pub missing: Vec<MissingSource>,
}

impl LedgerDelta {
    pub fn is_empty(&self) -> bool {
        self.visits.is_empty() && self.sky.is_empty() && self.missing.is_empty()
    }

    /// `step` got one alert of `visit` through (its exposure at `mjd`, where known).
    pub fn count(&mut self, visit: VisitKey, mjd: Option<f64>, step: Step) {
        let v = self.visits.entry(visit).or_default();
        if v.mjd.is_none() {
            v.mjd = mjd;
        }
        v.counts[step.index()] += 1;
    }

    /// Add `other` (a report the database did not take) to this one.
    pub fn merge(&mut self, other: LedgerDelta) {
        for (k, o) in other.visits {
            let v = self.visits.entry(k).or_default();
            if v.mjd.is_none() {
                v.mjd = o.mjd;
            }
            for (n, m) in v.counts.iter_mut().zip(o.counts) {
                *n += m;
            }
        }
        for (k, cells) in other.sky {
            self.sky.entry(k).or_default().extend(cells);
        }
        self.missing.extend(other.missing);
    }
}

fn survey_from(text: &str) -> Result<Survey, StoreError> {
    Survey::parse(text)
        .ok_or_else(|| StoreError::Invalid(format!("ledger row of unknown survey {text:?}")))
}

/// Add a report to the ledger, in one transaction.
pub fn add(db: &mut Db, delta: &LedgerDelta) -> Result<(), StoreError> {
    if delta.is_empty() {
        return Ok(());
    }
    db.transaction(|tx| {
        for (k, v) in &delta.visits {
            let n = |s: Step| v.counts[s.index()];
            tx.execute(
                "INSERT INTO ledger (survey, night, visit, mjd, decoded, stored, classified, filtered, delivered)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (survey, night, visit) DO UPDATE SET
                   mjd = COALESCE(ledger.mjd, excluded.mjd),
                   decoded = ledger.decoded + excluded.decoded,
                   stored = ledger.stored + excluded.stored,
                   classified = ledger.classified + excluded.classified,
                   filtered = ledger.filtered + excluded.filtered,
                   delivered = ledger.delivered + excluded.delivered,
                   updated = CURRENT_TIMESTAMP",
                args![
                    k.survey.as_str(),
                    k.night,
                    k.visit,
                    v.mjd,
                    n(Step::Decoded),
                    n(Step::Stored),
                    n(Step::Classified),
                    n(Step::Filtered),
                    n(Step::Delivered)
                ],
            )?;
        }
        for m in &delta.missing {
            tx.execute(
                "INSERT INTO ledger_missing (survey, source_id, object_id, mjd, night, seen_in)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (survey, source_id) DO NOTHING",
                args![
                    m.survey.as_str(),
                    m.source_id,
                    m.object_id,
                    m.mjd,
                    solas_core::night::night(m.survey, m.mjd),
                    m.seen_in
                ],
            )?;
        }
        for ((survey, night), cells) in &delta.sky {
            let new = Moc::from_cells(SKY_DEPTH, cells.iter().map(|&c| (SKY_DEPTH, c)));
            let old: Option<Vec<u8>> = tx
                .query_opt(
                    "SELECT moc FROM ledger_sky WHERE survey = ?1 AND night = ?2",
                    args![survey.as_str(), night],
                )?
                .map(|r| r.get(0))
                .transpose()?;
            let merged = match old.map(|b| solas_watch::parse_moc(&b)) {
                Some(Ok(old)) => old.union(&new),
                Some(Err(e)) => {
                    log::warn!("ledger sky of {night} unreadable, started again: {e}");
                    new
                }
                None => new,
            };
            tx.execute(
                "INSERT INTO ledger_sky (survey, night, moc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (survey, night) DO UPDATE SET moc = excluded.moc",
                args![survey.as_str(), night, merged.to_fits()],
            )?;
        }
        Ok(())
    })
}

/// One visit as the ledger has it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub key: VisitKey,
    pub mjd: Option<f64>,
    /// Per step, in [`Step::ALL`]'s order.
    pub counts: [i64; Step::ALL.len()],
    /// Sources of this visit seen in later alerts' histories whose own alerts never came.
    pub missing: Vec<i64>,
}

impl VisitRow {
    pub fn count(&self, step: Step) -> i64 {
        self.counts[step.index()]
    }
}

/// A night's ledger: every visit (in time order), the steps that ran at all that night
/// (a stage no worker ran, such as context without catalogues, counts nothing and is not
/// taken for a loss), the missing sources matching no received visit (an exposure none of
/// whose alerts came), and the sky covered.
#[derive(Debug, Clone, PartialEq)]
pub struct Night {
    pub survey: Survey,
    pub night: i64,
    pub visits: Vec<VisitRow>,
    pub steps_run: Vec<Step>,
    /// (exposure MJD, source ids) of exposures known only from histories.
    pub unreceived: Vec<(f64, Vec<i64>)>,
    pub sky_deg2: Option<f64>,
}

impl Night {
    /// Visits where a step that ran counts fewer alerts than decoding, or with sources
    /// missing: where alerts were lost.
    pub fn short_visits(&self) -> Vec<&VisitRow> {
        self.visits
            .iter()
            .filter(|v| {
                let decoded = v.count(Step::Decoded);
                !v.missing.is_empty()
                    || self
                        .steps_run
                        .iter()
                        .any(|s| *s != Step::Decoded && v.count(*s) < decoded)
            })
            .collect()
    }

    pub fn total(&self, step: Step) -> i64 {
        self.visits.iter().map(|v| v.count(step)).sum()
    }

    /// A visit's count of `step`, or None when no worker ran the step that night (the
    /// reports show "–", the JSON null, rather than a 0 that would read as a loss).
    pub fn count_of(&self, v: &VisitRow, step: Step) -> Option<i64> {
        self.steps_run.contains(&step).then(|| v.count(step))
    }

    /// The night's total of `step`, or None when no worker ran it.
    pub fn total_of(&self, step: Step) -> Option<i64> {
        self.steps_run.contains(&step).then(|| self.total(step))
    }

    /// Sources whose alerts never came: on received visits and on exposures known only
    /// from histories.
    pub fn missing_count(&self) -> usize {
        self.visits.iter().map(|v| v.missing.len()).sum::<usize>()
            + self
                .unreceived
                .iter()
                .map(|(_, ids)| ids.len())
                .sum::<usize>()
    }
}

/// Source ids as the reports list them: the first `shown`, then how many in all.
pub fn id_list(ids: &[i64], shown: usize) -> String {
    let mut text: Vec<String> = ids.iter().take(shown).map(i64::to_string).collect();
    if ids.len() > shown {
        text.push(format!("… {} in all", ids.len()));
    }
    text.join(" ")
}

/// The nights the ledger has, newest first: (survey, night).
pub fn nights(db: &mut Db) -> Result<Vec<(Survey, i64)>, StoreError> {
    db.query(
        "SELECT DISTINCT survey, night FROM ledger ORDER BY night DESC, survey",
        &[],
    )?
    .iter()
    .map(|r| Ok((survey_from(&r.get::<String>(0)?)?, r.get(1)?)))
    .collect()
}

/// One night of one survey.
pub fn night(db: &mut Db, survey: Survey, night: i64) -> Result<Night, StoreError> {
    let s = survey.as_str();
    let mut visits: Vec<VisitRow> = db
        .query(
            "SELECT visit, mjd, decoded, stored, classified, filtered, delivered FROM ledger
             WHERE survey = ?1 AND night = ?2 ORDER BY mjd, visit",
            args![s, night],
        )?
        .iter()
        .map(|r| {
            Ok(VisitRow {
                key: VisitKey {
                    survey,
                    night,
                    visit: r.get(0)?,
                },
                mjd: r.get(1)?,
                counts: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
                missing: Vec::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    // A missing source belongs to the visit whose exposure has its time (every source of
    // one exposure shares its midpoint).
    let mut unreceived: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    for r in db.query(
        "SELECT source_id, mjd FROM ledger_missing WHERE survey = ?1 AND night = ?2
         ORDER BY mjd, source_id",
        args![s, night],
    )? {
        let (id, mjd): (i64, f64) = (r.get(0)?, r.get(1)?);
        match visits
            .iter_mut()
            .find(|v| v.mjd.is_some_and(|t| (t - mjd).abs() < 1e-6))
        {
            Some(v) => v.missing.push(id),
            None => unreceived.entry(mjd.to_bits()).or_default().push(id),
        }
    }
    let steps_run = Step::ALL
        .into_iter()
        .filter(|s| visits.iter().any(|v| v.count(*s) > 0))
        .collect();
    let sky_deg2 = sky_fits(db, survey, night)?
        .and_then(|b| solas_watch::parse_moc(&b).ok())
        .map(|m| m.area_deg2());
    Ok(Night {
        survey,
        night,
        visits,
        steps_run,
        unreceived: unreceived
            .into_iter()
            .map(|(bits, ids)| (f64::from_bits(bits), ids))
            .collect(),
        sky_deg2,
    })
}

/// A night's sky MOC as FITS, if the ledger has one.
pub fn sky_fits(db: &mut Db, survey: Survey, night: i64) -> Result<Option<Vec<u8>>, StoreError> {
    db.query_opt(
        "SELECT moc FROM ledger_sky WHERE survey = ?1 AND night = ?2",
        args![survey.as_str(), night],
    )?
    .map(|r| r.get(0))
    .transpose()
}

/// Sources still missing whose alerts have since been stored (they came late, or the
/// worker that reported them raced the one storing them) leave the ledger: the readers
/// call this before they report a night. Returns how many left.
pub fn prune_arrived(
    db: &mut Db,
    lightcurves: &mut dyn crate::LightcurveStore,
    survey: Survey,
    night: i64,
) -> Result<usize, StoreError> {
    let asked: Vec<(i64, i64)> = db
        .query(
            "SELECT object_id, source_id FROM ledger_missing WHERE survey = ?1 AND night = ?2",
            args![survey.as_str(), night],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_, StoreError>>()?;
    if asked.is_empty() {
        return Ok(0);
    }
    let arrived = lightcurves.triggered(survey, &asked)?;
    db.transaction(|tx| {
        for id in &arrived {
            tx.execute(
                "DELETE FROM ledger_missing WHERE survey = ?1 AND source_id = ?2",
                args![survey.as_str(), id],
            )?;
        }
        Ok(())
    })?;
    Ok(arrived.len())
}

/// The ledger's newest `limit` nights, of one survey or both, or the one night asked for,
/// each read after the sources that have since arrived left it ([`prune_arrived`]): what
/// `solas ledger`, `/api/ledger/` and the pages report.
pub fn recent_nights(
    db: &mut Db,
    lightcurves: &mut dyn crate::LightcurveStore,
    survey: Option<Survey>,
    night: Option<i64>,
    limit: usize,
) -> Result<Vec<Night>, StoreError> {
    let wanted: Vec<(Survey, i64)> = nights(db)?
        .into_iter()
        .filter(|(s, n)| survey.is_none_or(|w| w == *s) && night.is_none_or(|a| a == *n))
        .take(limit)
        .collect();
    let mut out = Vec::with_capacity(wanted.len());
    for (s, n) in wanted {
        prune_arrived(db, lightcurves, s, n)?;
        out.push(self::night(db, s, n)?);
    }
    Ok(out)
}

/// A night as JSON (`/api/ledger/`, `solas ledger --json`): visit ids and source ids as
/// integers; a stage no worker ran that night is null rather than 0.
pub fn to_json(n: &Night) -> serde_json::Value {
    use serde_json::json;
    let count = |v: &VisitRow, s: Step| n.count_of(v, s);
    let short: Vec<i64> = n.short_visits().iter().map(|v| v.key.visit).collect();
    json!({
        "survey": n.survey.as_str(),
        "night": n.night,
        "sky_deg2": n.sky_deg2,
        "steps_run": n.steps_run.iter().map(|s| s.column()).collect::<Vec<_>>(),
        "short_visits": short,
        "visits": n.visits.iter().map(|v| json!({
            "visit": v.key.visit,
            "mjd": v.mjd,
            "decoded": count(v, Step::Decoded),
            "stored": count(v, Step::Stored),
            "classified": count(v, Step::Classified),
            "filtered": count(v, Step::Filtered),
            "delivered": count(v, Step::Delivered),
            "missing": v.missing,
        })).collect::<Vec<_>>(),
        "unreceived_exposures": n.unreceived.iter().map(|(mjd, ids)| json!({
            "mjd": mjd, "sources": ids,
        })).collect::<Vec<_>>(),
    })
}
