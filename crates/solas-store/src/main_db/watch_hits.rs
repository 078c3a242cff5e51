//! What a matching pass found and how it is written: cone, watchmap and event hits, each
//! an upsert keyed by (object, cone / map / event), inside the filter stage's batch
//! transaction. A watchlist with a magnitude trigger (`watchlists.mag_change`) fires for an
//! object only when its magnitude has moved by at least that much since the cone last
//! fired: the hit row keeps the magnitude it last fired at (`mag`) and whether this match
//! fired (`fired`), which the filters' join on `watchlist:N` requires. Cross-survey
//! counterparts found for the batch are written here too ([`super::counterparts`]).

use std::collections::HashMap;

use solas_core::Survey;

use super::watch::{tns_watchlist, ObjectRef};
use crate::args;
use crate::db::{Db, Value};
use crate::StoreError;

/// One object inside one watchlist cone.
#[derive(Debug, Clone, PartialEq)]
pub struct ConeHit {
    pub object: ObjectRef,
    pub wl_id: i64,
    pub cone_id: i64,
    /// Separation from the cone's centre, arcsec.
    pub arcsec: f64,
    /// The object's newest magnitude (AB) when matched, for magnitude triggers; `None`
    /// when unknown (a stored object matched by a new list), which fires only lists
    /// without a trigger.
    pub mag: Option<f64>,
}

/// What one matching pass found, written in one transaction.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Hits {
    pub cones: Vec<ConeHit>,
    /// (object, ar_id)
    pub areas: Vec<(ObjectRef, i64)>,
    /// (object, mw_id, contour %, 2-D density per sr, 3-D density per sr per Mpc³)
    pub mma: Vec<(ObjectRef, i64, f64, f64, Option<f64>)>,
    /// Rubin and ZTF objects at one position.
    pub counterparts: Vec<super::counterparts::Counterpart>,
}

impl Hits {
    pub fn is_empty(&self) -> bool {
        self.cones.is_empty()
            && self.areas.is_empty()
            && self.mma.is_empty()
            && self.counterparts.is_empty()
    }
}

pub(super) fn hit_table(base: &str, survey: Survey) -> (String, &'static str) {
    match survey {
        Survey::Lsst => (base.to_string(), "diaObjectId"),
        Survey::Ztf => (format!("ztf_{base}"), "objectId"),
    }
}

/// The watchlists that have a magnitude trigger: wl_id → threshold (mag).
fn triggers(tx: &mut Db) -> Result<HashMap<i64, f64>, StoreError> {
    tx.query(
        "SELECT wl_id, mag_change FROM watchlists WHERE mag_change IS NOT NULL",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// Write a matching pass's hits inside the caller's transaction (the filter stage writes
/// them with its batch's objects rows, in one transaction).
pub(crate) fn write_hits(tx: &mut Db, hits: &Hits) -> Result<(), StoreError> {
    if hits.is_empty() {
        return Ok(());
    }
    let tns = tns_watchlist(tx)?;
    let triggers = if hits.cones.is_empty() {
        HashMap::new()
    } else {
        triggers(tx)?
    };
    for h in &hits.cones {
        let (table, key) = hit_table("watchlist_hits", h.object.survey);
        // A first match always fires. A repeat fires when the list has no trigger (?6 is
        // NULL), or when the new magnitude is known and moved by the threshold from the
        // one the cone last fired at (or it never recorded one). A repeat that does not
        // fire keeps the old magnitude and time, so small steps cannot add up unseen.
        let fires = format!(
            "(CAST(?6 AS DOUBLE PRECISION) IS NULL OR (excluded.mag IS NOT NULL AND
               ({table}.mag IS NULL OR ABS(excluded.mag - {table}.mag) >= CAST(?6 AS DOUBLE PRECISION))))"
        );
        // Casts: PostgreSQL cannot tell a parameter's type from a SELECT list.
        tx.execute(
            &format!(
                "INSERT INTO {table} (\"{key}\", wl_id, cone_id, arcsec, name, mag, fired)
                 SELECT CAST(?1 AS {}), CAST(?2 AS BIGINT), cone_id, CAST(?4 AS DOUBLE PRECISION),
                        name, CAST(?5 AS DOUBLE PRECISION), 1
                 FROM watchlist_cones WHERE cone_id = ?3
                 ON CONFLICT (\"{key}\", cone_id) DO UPDATE SET arcsec = excluded.arcsec,
                   name = excluded.name,
                   fired = CASE WHEN {fires} THEN 1 ELSE 0 END,
                   mag = CASE WHEN {fires} THEN excluded.mag ELSE {table}.mag END,
                   \"timestamp\" = CASE WHEN {fires} THEN CAST(CURRENT_TIMESTAMP AS TEXT)
                                   ELSE {table}.\"timestamp\" END",
                key_type(h.object.survey)
            ),
            args![
                key_value(&h.object)?,
                h.wl_id,
                h.cone_id,
                h.arcsec,
                h.mag.filter(|m| m.is_finite()),
                triggers.get(&h.wl_id).copied()
            ],
        )?;
        if Some(h.wl_id) == tns && h.object.survey == Survey::Lsst {
            tx.execute(
                "UPDATE objects SET tns_name = (SELECT name FROM watchlist_cones WHERE cone_id = ?2)
                 WHERE \"diaObjectId\" = ?1",
                args![key_value(&h.object)?, h.cone_id],
            )?;
        }
    }
    for (o, ar_id) in &hits.areas {
        let (table, key) = hit_table("area_hits", o.survey);
        tx.execute(
            &format!(
                "INSERT INTO {table} (\"{key}\", ar_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
            ),
            args![key_value(o)?, ar_id],
        )?;
    }
    for (o, mw_id, contour, pd2, pd3) in &hits.mma {
        let (table, key) = hit_table("mma_area_hits", o.survey);
        tx.execute(
            &format!(
                "INSERT INTO {table} (\"{key}\", mw_id, contour, probdens2, probdens3)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (\"{key}\", mw_id) DO UPDATE SET contour = excluded.contour,
                       probdens2 = excluded.probdens2, probdens3 = excluded.probdens3,
                       \"timestamp\" = CURRENT_TIMESTAMP"
            ),
            args![key_value(o)?, mw_id, contour, pd2, *pd3],
        )?;
    }
    super::counterparts::write(tx, &hits.counterparts)
}

/// LSST keys are stored as integers, ZTF keys as text.
pub(super) fn key_value(o: &ObjectRef) -> Result<Value, StoreError> {
    Ok(match o.survey {
        Survey::Lsst => Value::Int(
            o.key
                .parse()
                .map_err(|_| StoreError::Invalid(format!("{:?} is not a diaObjectId", o.key)))?,
        ),
        Survey::Ztf => Value::Text(o.key.clone()),
    })
}

fn key_type(survey: Survey) -> &'static str {
    match survey {
        Survey::Lsst => "BIGINT",
        Survey::Ztf => "TEXT",
    }
}
