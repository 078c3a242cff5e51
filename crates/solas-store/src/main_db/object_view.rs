//! What the object pages and the object, cone and Sherlock APIs read about objects from the
//! main database: the objects row, its context classification, its TNS entry, its
//! annotations, its watchlist, watchmap and event matches, and the objects in an HTM range.
//! Rows come back with their column names (Lasair's), for the web to render.

use solas_core::{ObjectKey, Survey};

use crate::args;
use crate::db::{Db, Row, Value};
use crate::StoreError;

/// Rows with their column names.
pub type Named = (Vec<String>, Vec<Row>);

/// A position as an objects row holds it (either may be NULL).
pub type Position = (Option<f64>, Option<f64>);

/// The per-survey names of the tables and columns an object is read from.
#[derive(Debug, Clone, Copy)]
pub struct SurveyTables {
    pub objects: &'static str,
    /// The key column of every per-object table.
    pub key: &'static str,
    pub ra: &'static str,
    pub dec: &'static str,
    pub sherlock: &'static str,
    pub annotations: &'static str,
    pub watchlist_hits: &'static str,
    pub area_hits: &'static str,
    pub mma_area_hits: &'static str,
}

pub fn tables(survey: Survey) -> SurveyTables {
    match survey {
        Survey::Lsst => SurveyTables {
            objects: "objects",
            key: "diaObjectId",
            ra: "ra",
            dec: "decl",
            sherlock: "sherlock_classifications",
            annotations: "annotations",
            watchlist_hits: "watchlist_hits",
            area_hits: "area_hits",
            mma_area_hits: "mma_area_hits",
        },
        Survey::Ztf => SurveyTables {
            objects: "ztf_objects",
            key: "objectId",
            ra: "ramean",
            dec: "decmean",
            sherlock: "ztf_sherlock_classifications",
            annotations: "ztf_annotations",
            watchlist_hits: "ztf_watchlist_hits",
            area_hits: "ztf_area_hits",
            mma_area_hits: "ztf_mma_area_hits",
        },
    }
}

/// The object's key as its survey's key column holds it: Rubin's integer `diaObjectId`,
/// ZTF's `objectId` name.
pub(crate) fn key_value(survey: Survey, object: &ObjectKey) -> Value {
    match survey {
        Survey::Lsst => Value::Int(object.id),
        Survey::Ztf => Value::Text(object.name.clone()),
    }
}

/// The objects row: every column, or only `columns`.
pub fn object_row(
    db: &mut Db,
    survey: Survey,
    object: &ObjectKey,
    columns: Option<&[&str]>,
) -> Result<Named, StoreError> {
    let t = tables(survey);
    let columns = match columns {
        Some(cs) => cs
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        None => "*".to_string(),
    };
    db.query_named(
        &format!(
            "SELECT {columns} FROM {} WHERE \"{}\" = ?1",
            t.objects, t.key
        ),
        &[key_value(survey, object)],
    )
}

/// The object's position from its objects row: None without a row, (None, None) when the
/// row has no position.
pub fn position(
    db: &mut Db,
    survey: Survey,
    object: &ObjectKey,
) -> Result<Option<Position>, StoreError> {
    let t = tables(survey);
    db.query_opt(
        &format!(
            "SELECT \"{}\", \"{}\" FROM {} WHERE \"{}\" = ?1",
            t.ra, t.dec, t.objects, t.key
        ),
        &[key_value(survey, object)],
    )?
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .transpose()
}

/// The object's context classification row.
pub fn sherlock_row(db: &mut Db, survey: Survey, object: &ObjectKey) -> Result<Named, StoreError> {
    let t = tables(survey);
    db.query_named(
        &format!("SELECT * FROM {} WHERE \"{}\" = ?1", t.sherlock, t.key),
        &[key_value(survey, object)],
    )
}

/// The TNS entry matched to the object: by the `tns_name` its row carries, else through
/// the TNS watchlist's nearest hit (Lasair's join). Nothing before a TNS import.
pub fn tns_row(db: &mut Db, survey: Survey, object: &ObjectKey) -> Result<Named, StoreError> {
    if !db.has_table("crossmatch_tns")? {
        return Ok(Default::default());
    }
    let t = tables(survey);
    let key = key_value(survey, object);
    if survey == Survey::Lsst {
        let found = db.query_named(
            "SELECT c.* FROM crossmatch_tns c JOIN objects o ON o.tns_name = c.tns_name
             WHERE o.\"diaObjectId\" = ?1",
            std::slice::from_ref(&key),
        )?;
        if !found.1.is_empty() {
            return Ok(found);
        }
    }
    if !db.has_table(t.watchlist_hits)? {
        return Ok(Default::default());
    }
    let (owner, name) = super::watch::TNS_WATCHLIST;
    db.query_named(
        &format!(
            "SELECT c.* FROM crossmatch_tns c
             JOIN {hits} h ON h.name = c.tns_name
             JOIN watchlists w ON w.wl_id = h.wl_id
             WHERE h.\"{key}\" = ?1 AND w.owner = ?2 AND w.name = ?3
             ORDER BY h.arcsec LIMIT 1",
            hits = t.watchlist_hits,
            key = t.key
        ),
        args![key, owner, name],
    )
}

/// The object's current annotations, by annotator topic. An annotation's id is the log
/// entry of its latest write (both backends have the log; only SQLite has rowids).
pub fn annotations(db: &mut Db, survey: Survey, object: &ObjectKey) -> Result<Named, StoreError> {
    let t = tables(survey);
    db.query_named(
        &format!(
            "SELECT (SELECT MAX(e.seq) FROM annotation_events e WHERE e.survey = ?2
                       AND e.object = CAST(a.\"{key}\" AS TEXT) AND e.topic = a.topic)
                      AS \"annotationID\",
                    topic, version, \"timestamp\", classification, explanation, classdict, url
             FROM {table} a WHERE \"{key}\" = ?1 ORDER BY topic",
            table = t.annotations,
            key = t.key
        ),
        &[key_value(survey, object), survey.as_str().into()],
    )
}

/// The object's matches in the watchlists `viewer` may see (their own and public ones),
/// nearest first.
pub fn watchlist_hits(
    db: &mut Db,
    survey: Survey,
    object: &ObjectKey,
    viewer: i64,
) -> Result<Named, StoreError> {
    let t = tables(survey);
    if !db.has_table(t.watchlist_hits)? {
        return Ok(Default::default());
    }
    db.query_named(
        &format!(
            "SELECT w.wl_id, w.name AS watchlist, h.name AS cone, h.arcsec
             FROM {hits} h JOIN watchlists w ON w.wl_id = h.wl_id
             WHERE h.\"{key}\" = ?1 AND (w.public <> 0 OR w.owner = ?2) ORDER BY h.arcsec",
            hits = t.watchlist_hits,
            key = t.key
        ),
        &[key_value(survey, object), viewer.into()],
    )
}

/// The watchmaps `viewer` may see that hold the object.
pub fn area_hits(
    db: &mut Db,
    survey: Survey,
    object: &ObjectKey,
    viewer: i64,
) -> Result<Named, StoreError> {
    let t = tables(survey);
    if !db.has_table(t.area_hits)? {
        return Ok(Default::default());
    }
    db.query_named(
        &format!(
            "SELECT m.ar_id, m.name AS watchmap, m.area_deg2
             FROM {hits} h JOIN watchmaps m ON m.ar_id = h.ar_id
             WHERE h.\"{key}\" = ?1 AND (m.public <> 0 OR m.owner = ?2) ORDER BY m.ar_id",
            hits = t.area_hits,
            key = t.key
        ),
        &[key_value(survey, object), viewer.into()],
    )
}

/// The GW and other events whose skymaps hold the object, newest first (events are public).
pub fn event_hits(db: &mut Db, survey: Survey, object: &ObjectKey) -> Result<Named, StoreError> {
    let t = tables(survey);
    if !db.has_table(t.mma_area_hits)? {
        return Ok(Default::default());
    }
    db.query_named(
        &format!(
            "SELECT a.name AS event, h.contour, h.probdens2, h.probdens3
             FROM {hits} h JOIN mma_areas a ON a.mw_id = h.mw_id
             WHERE h.\"{key}\" = ?1 ORDER BY a.event_mjd DESC",
            hits = t.mma_area_hits,
            key = t.key
        ),
        &[key_value(survey, object)],
    )
}

/// What a GCN notice says of an object besides its alert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoticeContext {
    /// The events whose skymaps hold the object, newest first.
    pub events: Vec<String>,
    /// The classifiers' latest probabilities as (class, probability), by annotator: the
    /// annotations whose `classdict` holds a `probability` (the models'); a binary model's
    /// class is its positive one (`KN` for `not KN`).
    pub probabilities: Vec<(String, f64)>,
}

/// The object's [`NoticeContext`].
pub fn notice_context(
    db: &mut Db,
    survey: Survey,
    object: &ObjectKey,
) -> Result<NoticeContext, StoreError> {
    let t = tables(survey);
    let key = [key_value(survey, object)];
    let mut out = NoticeContext::default();
    if db.has_table(t.mma_area_hits)? {
        let sql = format!(
            "SELECT a.name FROM {hits} h JOIN mma_areas a ON a.mw_id = h.mw_id
             WHERE h.\"{key}\" = ?1 ORDER BY a.event_mjd DESC",
            hits = t.mma_area_hits,
            key = t.key
        );
        for r in db.query(&sql, &key)? {
            out.events.push(r.get(0)?);
        }
    }
    let sql = format!(
        "SELECT classification, classdict FROM {table} WHERE \"{key}\" = ?1 ORDER BY topic",
        table = t.annotations,
        key = t.key
    );
    for r in db.query(&sql, &key)? {
        let (class, classdict): (String, String) = (r.get(0)?, r.get(1)?);
        let probability = serde_json::from_str::<serde_json::Value>(&classdict)
            .ok()
            .and_then(|v| v.get("probability")?.as_f64());
        if let Some(p) = probability {
            let class = class.strip_prefix("not ").unwrap_or(&class).to_string();
            out.probabilities.push((class, p));
        }
    }
    Ok(out)
}

/// The objects whose HTM level-16 index lies in `lo..=hi`, as (key, position): the
/// candidates of a cone search, for the caller to cut by distance.
pub fn in_htm_range(
    db: &mut Db,
    survey: Survey,
    lo: i64,
    hi: i64,
) -> Result<Vec<(Value, Position)>, StoreError> {
    let t = tables(survey);
    db.query(
        &format!(
            "SELECT \"{}\", \"{}\", \"{}\" FROM {} WHERE htm16 BETWEEN ?1 AND ?2",
            t.key, t.ra, t.dec, t.objects
        ),
        args![lo, hi],
    )?
    .into_iter()
    .map(|r| Ok((r.0[0].clone(), (r.get(1)?, r.get(2)?))))
    .collect()
}

/// Every object within `radius_arcsec` of (ra, dec), as (key column value, separation in
/// arcsec), nearest first: the `objects` rows' HTM level-16 index narrows the search, the
/// true distance decides.
pub fn cone(
    db: &mut Db,
    survey: Survey,
    ra: f64,
    dec: f64,
    radius_arcsec: f64,
) -> Result<Vec<(Value, f64)>, StoreError> {
    let mut found = Vec::new();
    for (lo, hi) in solas_features::htm::cone_ranges(ra, dec, radius_arcsec) {
        for (key, (ra2, dec2)) in in_htm_range(db, survey, lo, hi)? {
            let (Some(ra2), Some(dec2)) = (ra2, dec2) else {
                continue;
            };
            let sep = solas_core::sky::separation_arcsec(ra, dec, ra2, dec2);
            if sep <= radius_arcsec {
                found.push((key, sep));
            }
        }
    }
    found.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(found)
}

/// A TNS object found by name: (name, prefix, ra, dec).
pub type TnsPosition = (String, Option<String>, f64, f64);

/// A TNS object by its name, letters in any case (`2021abc`, `2021ABC`), from the
/// imported TNS rows.
pub fn tns_by_name(db: &mut Db, name: &str) -> Result<Option<TnsPosition>, StoreError> {
    let rows = db.query(
        "SELECT tns_name, tns_prefix, ra, decl FROM crossmatch_tns
         WHERE lower(tns_name) = lower(?1) LIMIT 1",
        args![name],
    )?;
    rows.into_iter()
        .next()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .transpose()
}
