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
