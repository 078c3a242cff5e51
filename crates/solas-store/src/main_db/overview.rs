//! What the site's overview pages read from the main database: how many filters,
//! watchlists and watchmaps a viewer may see, what a viewer's filter may name, and the
//! newest objects of each survey.

use solas_core::Survey;

use crate::args;
use crate::db::{Db, Row};
use crate::StoreError;

/// What users make and may share (their own, or public ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    Filters,
    Watchlists,
    Watchmaps,
}

impl Shared {
    fn table(self) -> &'static str {
        match self {
            Shared::Filters => "filters",
            Shared::Watchlists => "watchlists",
            Shared::Watchmaps => "watchmaps",
        }
    }
}

/// How many of `what` the viewer may see: their own and the public ones (without a
/// viewer, the public ones).
pub fn visible_count(db: &mut Db, what: Shared, viewer: Option<i64>) -> Result<i64, StoreError> {
    db.query_one(
        &format!(
            "SELECT count(*) FROM {} WHERE public <> 0 OR owner = ?1",
            what.table()
        ),
        args![viewer.unwrap_or(-1)],
    )?
    .get(0)
}

/// What a filter of `viewer` may name in its tables, as (kind, id, label): each visible
/// watchlist and watchmap (by id, with its name) and annotator (by topic, with its
/// description).
pub fn usable_resources(
    db: &mut Db,
    viewer: i64,
) -> Result<Vec<(&'static str, String, String)>, StoreError> {
    let mut out = Vec::new();
    for (kind, sql) in [
        ("watchlist", "SELECT CAST(wl_id AS TEXT), name FROM watchlists WHERE public <> 0 OR owner = ?1 ORDER BY wl_id"),
        ("watchmap", "SELECT CAST(ar_id AS TEXT), name FROM watchmaps WHERE public <> 0 OR owner = ?1 ORDER BY ar_id"),
        ("annotator", "SELECT topic, description FROM annotators WHERE public <> 0 OR owner = ?1 ORDER BY topic"),
    ] {
        for r in db.query(sql, args![viewer])? {
            out.push((kind, r.get::<String>(0)?, r.get::<String>(1)?));
        }
    }
    Ok(out)
}

/// The `limit` objects of a survey detected last: their key, position, number of
/// detections and last detection time, with the column names (Lasair's).
pub fn newest_objects(
    db: &mut Db,
    survey: Survey,
    limit: i64,
) -> Result<(Vec<String>, Vec<Row>), StoreError> {
    let sql = match survey {
        Survey::Lsst => {
            "SELECT \"diaObjectId\", ra, decl, \"nDiaSources\", \"lastDiaSourceMjdTai\" FROM objects
             ORDER BY \"lastDiaSourceMjdTai\" DESC NULLS LAST LIMIT ?1"
        }
        Survey::Ztf => {
            "SELECT \"objectId\", ramean, decmean, ncand, jdmax FROM ztf_objects
             ORDER BY jdmax DESC NULLS LAST LIMIT ?1"
        }
    };
    db.query_named(sql, args![limit])
}

/// One object of the recent-objects list: what a person scanning it wants to see.
#[derive(Debug, Clone, PartialEq)]
pub struct Recent {
    /// The diaObjectId (decimal, exact) or the ZTF name.
    pub id: String,
    pub ra: f64,
    pub dec: f64,
    pub detections: i64,
    /// The last detection's MJD, in the survey's scale (TAI for Rubin, UTC for ZTF).
    pub last_mjd: f64,
    /// Sherlock's classification, if the context stage has classified it.
    pub class: Option<String>,
    /// The latest detection's band and magnitude (AB for Rubin's difference flux; ZTF's
    /// magpsf), when positive.
    pub latest: Option<(char, f64)>,
    /// Where the next page starts after this row.
    pub after: After,
}

/// Where a page of [`recent_objects`] ends: the last row's sort time as stored (Rubin's
/// MJD TAI, ZTF's JD: exact, never converted) and its id.
pub type After = (f64, String);

/// Up to `limit` objects of `survey` by last detection, newest first, after `after` (the
/// previous page's last row): keyset paging on the indexed time, so any page costs the
/// same.
pub fn recent_objects(
    db: &mut Db,
    survey: Survey,
    limit: i64,
    after: Option<&After>,
) -> Result<Vec<Recent>, StoreError> {
    let (select, time, key) = match survey {
        Survey::Lsst => (
            "SELECT o.\"diaObjectId\", o.ra, o.decl, o.\"nDiaSources\", o.\"lastDiaSourceMjdTai\",
                    s.classification, o.\"latest_psfFlux\", o.\"u_latestMJD\", o.\"g_latestMJD\",
                    o.\"r_latestMJD\", o.\"i_latestMJD\", o.\"z_latestMJD\", o.\"y_latestMJD\"
             FROM objects o LEFT JOIN sherlock_classifications s ON s.\"diaObjectId\" = o.\"diaObjectId\"",
            "o.\"lastDiaSourceMjdTai\"",
            "o.\"diaObjectId\"",
        ),
        Survey::Ztf => (
            "SELECT o.\"objectId\", o.ramean, o.decmean, o.ncand, o.jdmax,
                    s.classification, o.gmag, o.jdgmax, o.rmag, o.jdrmax
             FROM ztf_objects o LEFT JOIN ztf_sherlock_classifications s ON s.\"objectId\" = o.\"objectId\"",
            "o.jdmax",
            "o.\"objectId\"",
        ),
    };
    let order = format!("ORDER BY {time} DESC, {key} DESC");
    let rows = match after {
        None => db.query(
            &format!("{select} WHERE {time} IS NOT NULL {order} LIMIT ?1"),
            args![limit],
        )?,
        Some((t, id)) => {
            let t = *t;
            let sql = format!(
                "{select} WHERE {time} < ?1 OR ({time} = ?1 AND {key} < ?2) {order} LIMIT ?3"
            );
            match survey {
                Survey::Lsst => {
                    let Ok(id) = id.parse::<i64>() else {
                        return Err(StoreError::Invalid(format!("{id} is not a diaObjectId")));
                    };
                    db.query(&sql, args![t, id, limit])?
                }
                Survey::Ztf => db.query(&sql, args![t, id.as_str(), limit])?,
            }
        }
    };
    rows.iter().map(|r| recent_row(survey, r)).collect()
}

fn recent_row(survey: Survey, r: &Row) -> Result<Recent, StoreError> {
    let id = match survey {
        Survey::Lsst => r.get::<i64>(0)?.to_string(),
        Survey::Ztf => r.get::<String>(0)?,
    };
    let stored_time: f64 = r.get(4)?;
    let last_mjd = match survey {
        Survey::Lsst => stored_time,
        Survey::Ztf => stored_time - 2400000.5,
    };
    let latest = match survey {
        Survey::Lsst => {
            // The band whose latest detection is the object's latest.
            let band = ['u', 'g', 'r', 'i', 'z', 'y']
                .iter()
                .zip(7..13)
                .find(|(_, i)| r.get::<Option<f64>>(*i).ok().flatten() == Some(stored_time))
                .map(|(b, _)| *b);
            let mag = r
                .get::<Option<f64>>(6)?
                .and_then(solas_features::extinction::njy_to_mag);
            band.zip(mag)
        }
        Survey::Ztf => {
            let (g, jdg): (Option<f64>, Option<f64>) = (r.get(6)?, r.get(7)?);
            let (rm, jdr): (Option<f64>, Option<f64>) = (r.get(8)?, r.get(9)?);
            match (jdg, jdr) {
                (Some(a), Some(b)) if b > a => rm.map(|m| ('r', m)),
                (Some(_), _) => g.map(|m| ('g', m)),
                (None, Some(_)) => rm.map(|m| ('r', m)),
                (None, None) => None,
            }
        }
    };
    Ok(Recent {
        after: (stored_time, id.clone()),
        id,
        ra: r.get::<Option<f64>>(1)?.unwrap_or(f64::NAN),
        dec: r.get::<Option<f64>>(2)?.unwrap_or(f64::NAN),
        detections: r.get::<Option<i64>>(3)?.unwrap_or(0),
        last_mjd,
        class: r.get(5)?,
        latest,
    })
}
