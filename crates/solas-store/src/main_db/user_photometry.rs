//! `user_photometry`: measurements users upload for an object (Lasair requirement R2.02),
//! private to their owner or public, kept per upload so a whole upload can be taken back.
//! The object is keyed by survey and its key as text (the diaObjectId's decimal digits, or
//! the ZTF name): exact, never through floating point.

use solas_core::{ObjectKey, Survey};
use solas_watch::photometry::Point;

use crate::args;
use crate::db::Db;
use crate::StoreError;

/// Migration 14's table.
pub(super) const SQL: &str = r#"
CREATE TABLE user_photometry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    survey TEXT NOT NULL, object TEXT NOT NULL,
    owner INTEGER NOT NULL, public INTEGER NOT NULL DEFAULT 0, upload INTEGER NOT NULL,
    mjd REAL NOT NULL, band TEXT NOT NULL,
    mag REAL, mag_err REAL, flux REAL, flux_err REAL,
    telescope TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX user_photometry_object ON user_photometry (survey, object);
"#;

/// A stored measurement with whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub point: Point,
    pub owner: i64,
    pub public: bool,
    pub upload: i64,
}

/// Store one upload for an object in one transaction; returns its upload number.
pub fn add(
    db: &mut Db,
    survey: Survey,
    key: &ObjectKey,
    owner: i64,
    public: bool,
    points: &[Point],
) -> Result<i64, StoreError> {
    db.transaction(|tx| {
        let upload: i64 = tx
            .query_one("SELECT COALESCE(MAX(upload), 0) + 1 FROM user_photometry", &[])?
            .get(0)?;
        for p in points {
            tx.execute(
                "INSERT INTO user_photometry (survey, object, owner, public, upload, mjd, band, mag, mag_err, flux, flux_err, telescope)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                args![survey.as_str(), &key.name, owner, public, upload, p.mjd, &p.band, p.mag, p.mag_err, p.flux, p.flux_err, &p.telescope],
            )?;
        }
        Ok(upload)
    })
}

/// The measurements of an object `viewer` may see (their own and public ones), by time.
pub fn visible(
    db: &mut Db,
    survey: Survey,
    key: &ObjectKey,
    viewer: Option<i64>,
) -> Result<Vec<Stored>, StoreError> {
    db.query(
        "SELECT mjd, band, mag, mag_err, flux, flux_err, telescope, owner, public, upload
         FROM user_photometry WHERE survey = ?1 AND object = ?2 AND (public <> 0 OR owner = ?3)
         ORDER BY mjd, id",
        args![survey.as_str(), &key.name, viewer.unwrap_or(-1)],
    )?
    .iter()
    .map(|r| {
        Ok(Stored {
            point: Point {
                mjd: r.get(0)?,
                band: r.get(1)?,
                mag: r.get(2)?,
                mag_err: r.get(3)?,
                flux: r.get(4)?,
                flux_err: r.get(5)?,
                telescope: r.get(6)?,
            },
            owner: r.get(7)?,
            public: r.get(8)?,
            upload: r.get(9)?,
        })
    })
    .collect()
}

/// Take back an owner's upload; how many measurements went.
pub fn remove_upload(db: &mut Db, owner: i64, upload: i64) -> Result<usize, StoreError> {
    Ok(db.execute(
        "DELETE FROM user_photometry WHERE owner = ?1 AND upload = ?2",
        args![owner, upload],
    )? as usize)
}
