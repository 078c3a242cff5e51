//! Cross-survey counterparts: a Rubin object and a ZTF object within a small radius of
//! each other (default 1.5″) are one source seen by both surveys. One row per pair in
//! `counterparts`, keyed by both surveys' keys, so a filter of either survey joins it on
//! its own key (`objects, counterparts`), and the object pages show the other survey's
//! lightcurve beside the object's own. The filter stage's matcher finds the pairs for each
//! batch and writes them with the batch's hits ([`super::watch_hits`]).

use solas_core::{ObjectKey, Survey};

use super::watch::ObjectRef;
use crate::args;
use crate::db::{Db, Value};
use crate::StoreError;

/// The default radius within which two surveys' objects are one source, arcsec.
pub const DEFAULT_RADIUS_ARCSEC: f64 = 1.5;

/// Migration 18.
pub(super) const SQL: &str = r#"
CREATE TABLE counterparts (
    "diaObjectId" INTEGER NOT NULL,
    "objectId" TEXT NOT NULL,
    arcsec REAL NOT NULL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("diaObjectId", "objectId"));
CREATE INDEX counterparts_ztf ON counterparts ("objectId");
"#;

/// A Rubin object and a ZTF object at (nearly) one position.
#[derive(Debug, Clone, PartialEq)]
pub struct Counterpart {
    pub dia_object_id: i64,
    pub ztf_object_id: String,
    /// Separation of the two objects' mean positions, arcsec.
    pub arcsec: f64,
}

/// The pair of `object` (of `survey`) and `other` (a key as the other survey's objects
/// table holds it), or None when `other` is not such a key.
pub fn pair(survey: Survey, object: &str, other: &Value, arcsec: f64) -> Option<Counterpart> {
    match (survey, other) {
        (Survey::Lsst, Value::Text(ztf)) => Some(Counterpart {
            dia_object_id: object.parse().ok()?,
            ztf_object_id: ztf.clone(),
            arcsec,
        }),
        (Survey::Ztf, Value::Int(dia)) => Some(Counterpart {
            dia_object_id: *dia,
            ztf_object_id: object.to_string(),
            arcsec,
        }),
        _ => None,
    }
}

/// Whether the survey has any object at all: a batch need not search a survey that has
/// none (a single-survey deployment).
pub fn survey_has_objects(db: &mut Db, survey: Survey) -> Result<bool, StoreError> {
    let t = super::object_view::tables(survey);
    Ok(db
        .query_opt(&format!("SELECT 1 FROM {} LIMIT 1", t.objects), &[])?
        .is_some())
}

/// Write pairs inside the caller's transaction (a repeat updates the separation).
pub(crate) fn write(tx: &mut Db, pairs: &[Counterpart]) -> Result<(), StoreError> {
    for c in pairs {
        tx.execute(
            "INSERT INTO counterparts (\"diaObjectId\", \"objectId\", arcsec) VALUES (?1, ?2, ?3)
             ON CONFLICT (\"diaObjectId\", \"objectId\") DO UPDATE SET arcsec = excluded.arcsec,
               \"timestamp\" = CURRENT_TIMESTAMP",
            args![c.dia_object_id, &c.ztf_object_id, c.arcsec],
        )?;
    }
    Ok(())
}

/// An object's counterparts in the other survey, nearest first: (the other survey, its
/// object's key, separation in arcsec).
pub fn of(
    db: &mut Db,
    survey: Survey,
    object: &ObjectKey,
) -> Result<Vec<(Survey, ObjectKey, f64)>, StoreError> {
    let mut out = Vec::new();
    match survey {
        Survey::Lsst => {
            for r in db.query(
                "SELECT \"objectId\", arcsec FROM counterparts WHERE \"diaObjectId\" = ?1 ORDER BY arcsec",
                args![object.id],
            )? {
                // A name that is not one (written by hand) is left out rather than failing
                // the page.
                if let Ok(key) = ObjectKey::ztf(&r.get::<String>(0)?) {
                    out.push((Survey::Ztf, key, r.get(1)?));
                }
            }
        }
        Survey::Ztf => {
            for r in db.query(
                "SELECT \"diaObjectId\", arcsec FROM counterparts WHERE \"objectId\" = ?1 ORDER BY arcsec",
                args![&object.name],
            )? {
                out.push((Survey::Lsst, ObjectKey::lsst(r.get(0)?), r.get(1)?));
            }
        }
    }
    Ok(out)
}

/// The pairs a batch's objects make: each with the other survey's stored objects within
/// `radius_arcsec`, and with the other survey's objects of the same batch (whose rows are
/// not written yet). `objects` are (object, ra, dec), the positions of their objects rows.
pub fn find(
    db: &mut Db,
    objects: &[(&ObjectRef, f64, f64)],
    radius_arcsec: f64,
) -> Result<Vec<Counterpart>, StoreError> {
    let mut out = Vec::new();
    for survey in [Survey::Lsst, Survey::Ztf] {
        let other = match survey {
            Survey::Lsst => Survey::Ztf,
            Survey::Ztf => Survey::Lsst,
        };
        let mine: Vec<_> = objects.iter().filter(|o| o.0.survey == survey).collect();
        if mine.is_empty() || !survey_has_objects(db, other)? {
            continue;
        }
        for (object, ra, dec) in mine {
            for (key, arcsec) in super::object_view::cone(db, other, *ra, *dec, radius_arcsec)? {
                out.extend(pair(survey, &object.key, &key, arcsec));
            }
        }
    }
    // Within the batch: Rubin objects against the batch's ZTF objects, by declination
    // band (the batch is small; the stored ones were searched through the HTM index).
    let mut ztf: Vec<&(&ObjectRef, f64, f64)> = objects
        .iter()
        .filter(|o| o.0.survey == Survey::Ztf)
        .collect();
    ztf.sort_by(|a, b| a.2.total_cmp(&b.2));
    let band = radius_arcsec / 3600.0;
    for (object, ra, dec) in objects.iter().filter(|o| o.0.survey == Survey::Lsst) {
        let from = ztf.partition_point(|z| z.2 < dec - band);
        for (z, zra, zdec) in ztf[from..].iter().take_while(|z| z.2 <= dec + band) {
            let arcsec = solas_core::sky::separation_arcsec(*ra, *dec, *zra, *zdec);
            if arcsec <= radius_arcsec {
                out.extend(pair(
                    Survey::Lsst,
                    &object.key,
                    &Value::Text(z.key.clone()),
                    arcsec,
                ));
            }
        }
    }
    // A pair found both ways (stored, then in the batch) is written once.
    out.sort_by(|a, b| {
        (a.dia_object_id, &a.ztf_object_id).cmp(&(b.dia_object_id, &b.ztf_object_id))
    });
    out.dedup_by(|a, b| a.dia_object_id == b.dia_object_id && a.ztf_object_id == b.ztf_object_id);
    Ok(out)
}
