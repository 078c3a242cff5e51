//! What the watchlist, watchmap and event pages read: one resource with who may see it,
//! and its hits a page at a time, both surveys together, with each object's position
//! (for the sky map) and, for events, its first detection (for the time since the event).

use solas_core::Survey;

use crate::args;
use crate::db::{Db, Row};
use crate::StoreError;

use super::watch::{MmaEvent, Watchlist, Watchmap};

/// A watchlist or watchmap hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub survey: Survey,
    /// The diaObjectId (decimal, exact) or the ZTF name.
    pub object: String,
    pub ra: Option<f64>,
    pub dec: Option<f64>,
    /// For a watchlist: the cone's name and the separation (arcsec).
    pub cone: Option<(String, f64)>,
    /// When the hit was written (UTC, as the database stamped it).
    pub when: String,
}

/// An event's hit: where in the skymap the object lies and when it was first seen.
#[derive(Debug, Clone, PartialEq)]
pub struct EventHit {
    pub survey: Survey,
    pub object: String,
    pub ra: Option<f64>,
    pub dec: Option<f64>,
    /// The smallest credible region holding the object (percent).
    pub contour: Option<f64>,
    /// Probability per steradian at the object.
    pub probdens2: Option<f64>,
    /// Probability per steradian per Mpc at the object and its host's distance.
    pub probdens3: Option<f64>,
    /// The object's first detection, MJD UTC.
    pub first_mjd_utc: Option<f64>,
}

/// One watchlist with its counts.
pub fn watchlist(db: &mut Db, wl_id: i64) -> Result<Option<Watchlist>, StoreError> {
    db.query_opt(
        "SELECT w.wl_id, w.owner, w.name, w.description, w.public, w.active, w.radius,
           (SELECT COUNT(*) FROM watchlist_cones c WHERE c.wl_id = w.wl_id),
           (SELECT COUNT(*) FROM watchlist_hits h WHERE h.wl_id = w.wl_id)
         + (SELECT COUNT(*) FROM ztf_watchlist_hits h WHERE h.wl_id = w.wl_id),
           w.mag_change
         FROM watchlists w WHERE w.wl_id = ?1",
        args![wl_id],
    )?
    .map(|r| super::watch::watchlist_from_row(&r))
    .transpose()
}

/// A watchlist's hits, newest first, `limit` from `offset` (Rubin's, then ZTF's at equal
/// times).
pub fn watchlist_hits(
    db: &mut Db,
    wl_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, StoreError> {
    let rows = db.query(
        "SELECT 0, CAST(h.\"diaObjectId\" AS TEXT), o.ra, o.decl, h.name, h.arcsec, h.timestamp
           FROM watchlist_hits h LEFT JOIN objects o ON o.\"diaObjectId\" = h.\"diaObjectId\"
           WHERE h.wl_id = ?1
         UNION ALL
         SELECT 1, h.\"objectId\", o.ramean, o.decmean, h.name, h.arcsec, h.timestamp
           FROM ztf_watchlist_hits h LEFT JOIN ztf_objects o ON o.\"objectId\" = h.\"objectId\"
           WHERE h.wl_id = ?1
         ORDER BY 7 DESC, 1, 2 LIMIT ?2 OFFSET ?3",
        args![wl_id, limit, offset],
    )?;
    rows.iter()
        .map(|r| {
            let name: Option<String> = r.get(4)?;
            let arcsec: Option<f64> = r.get(5)?;
            Ok(Hit {
                survey: survey_of(r)?,
                object: r.get(1)?,
                ra: r.get(2)?,
                dec: r.get(3)?,
                cone: arcsec.map(|a| (name.unwrap_or_default(), a)),
                when: r.get(6)?,
            })
        })
        .collect()
}

fn survey_of(r: &Row) -> Result<Survey, StoreError> {
    Ok(if r.get::<i64>(0)? == 0 {
        Survey::Lsst
    } else {
        Survey::Ztf
    })
}

/// One watchmap with its hit count and its MOC's bytes.
pub fn watchmap(db: &mut Db, ar_id: i64) -> Result<Option<(Watchmap, Vec<u8>)>, StoreError> {
    db.query_opt(
        "SELECT m.ar_id, m.owner, m.name, m.description, m.public, m.active, m.area_deg2,
           (SELECT COUNT(*) FROM area_hits h WHERE h.ar_id = m.ar_id)
         + (SELECT COUNT(*) FROM ztf_area_hits h WHERE h.ar_id = m.ar_id), m.moc
         FROM watchmaps m WHERE m.ar_id = ?1",
        args![ar_id],
    )?
    .map(|r| Ok((super::watch::watchmap_from_row(&r)?, r.get(8)?)))
    .transpose()
}

/// A watchmap's hits, newest first, `limit` from `offset`.
pub fn watchmap_hits(
    db: &mut Db,
    ar_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, StoreError> {
    let rows = db.query(
        "SELECT 0, CAST(h.\"diaObjectId\" AS TEXT), o.ra, o.decl, h.timestamp
           FROM area_hits h LEFT JOIN objects o ON o.\"diaObjectId\" = h.\"diaObjectId\"
           WHERE h.ar_id = ?1
         UNION ALL
         SELECT 1, h.\"objectId\", o.ramean, o.decmean, h.timestamp
           FROM ztf_area_hits h LEFT JOIN ztf_objects o ON o.\"objectId\" = h.\"objectId\"
           WHERE h.ar_id = ?1
         ORDER BY 5 DESC, 1, 2 LIMIT ?2 OFFSET ?3",
        args![ar_id, limit, offset],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Hit {
                survey: survey_of(r)?,
                object: r.get(1)?,
                ra: r.get(2)?,
                dec: r.get(3)?,
                cone: None,
                when: r.get(4)?,
            })
        })
        .collect()
}

/// One event.
pub fn event(db: &mut Db, mw_id: i64) -> Result<Option<MmaEvent>, StoreError> {
    db.query_opt(
        "SELECT mw_id, name, event_mjd, window_days, skymap_path, area10, area50, area90
         FROM mma_areas WHERE mw_id = ?1",
        args![mw_id],
    )?
    .map(|r| super::watch::event_from_row(&r))
    .transpose()
}

/// One event's number of hits (both surveys).
pub fn event_hit_count(db: &mut Db, mw_id: i64) -> Result<i64, StoreError> {
    db.query_one(
        "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM mma_area_hits WHERE mw_id = ?1)
              + (SELECT CAST(COUNT(*) AS BIGINT) FROM ztf_mma_area_hits WHERE mw_id = ?1)",
        args![mw_id],
    )?
    .get(0)
}

/// Each event's number of hits (both surveys), by event id.
pub fn event_hit_counts(db: &mut Db) -> Result<Vec<(i64, i64)>, StoreError> {
    db.query(
        "SELECT mw_id, CAST(COUNT(*) AS BIGINT) FROM (
           SELECT mw_id FROM mma_area_hits UNION ALL SELECT mw_id FROM ztf_mma_area_hits) h
         GROUP BY mw_id",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// An event's hits, most probable first (smallest credible region), `limit` from `offset`.
pub fn event_hits(
    db: &mut Db,
    mw_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<EventHit>, StoreError> {
    // Rubin's times are TAI: 37 s later than UTC.
    let rows = db.query(
        "SELECT 0, CAST(h.\"diaObjectId\" AS TEXT), o.ra, o.decl, h.contour, h.probdens2, h.probdens3,
                o.\"firstDiaSourceMjdTai\" - 37.0 / 86400.0
           FROM mma_area_hits h LEFT JOIN objects o ON o.\"diaObjectId\" = h.\"diaObjectId\"
           WHERE h.mw_id = ?1
         UNION ALL
         SELECT 1, h.\"objectId\", o.ramean, o.decmean, h.contour, h.probdens2, h.probdens3,
                o.jdmin - 2400000.5
           FROM ztf_mma_area_hits h LEFT JOIN ztf_objects o ON o.\"objectId\" = h.\"objectId\"
           WHERE h.mw_id = ?1
         ORDER BY 5, 1, 2 LIMIT ?2 OFFSET ?3",
        args![mw_id, limit, offset],
    )?;
    rows.iter()
        .map(|r| {
            Ok(EventHit {
                survey: survey_of(r)?,
                object: r.get(1)?,
                ra: r.get(2)?,
                dec: r.get(3)?,
                contour: r.get(4)?,
                probdens2: r.get(5)?,
                probdens3: r.get(6)?,
                first_mjd_utc: r.get(7)?,
            })
        })
        .collect()
}
