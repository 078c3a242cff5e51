//! `object_tags` and `ztf_object_tags`: the labels each user puts on objects (Lasair's
//! personal tags): any number per object, private to their owner, shown on the object
//! page and joinable in the owner's filters as `tag:LABEL`.

use solas_core::{ObjectKey, Survey};

use crate::args;
use crate::db::Db;
use crate::StoreError;

/// Migration 13's tables.
pub(super) const SQL: &str = r#"
CREATE TABLE object_tags (
    "diaObjectId" INTEGER NOT NULL, owner INTEGER NOT NULL, tag TEXT NOT NULL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("diaObjectId", owner, tag));
CREATE INDEX object_tags_owner ON object_tags (owner, tag);
CREATE TABLE ztf_object_tags (
    "objectId" TEXT NOT NULL, owner INTEGER NOT NULL, tag TEXT NOT NULL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("objectId", owner, tag));
CREATE INDEX ztf_object_tags_owner ON ztf_object_tags (owner, tag);
"#;

/// Longest tag.
pub const MAX_TAG_CHARS: usize = 40;

/// At most this many tags per user and object.
pub const MAX_TAGS_PER_OBJECT: i64 = 50;

/// Whether `tag` is a valid label: up to 40 letters, digits and underscores starting with
/// a letter or underscore, so a filter can name it (`tag:LABEL`).
pub fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && tag.len() <= MAX_TAG_CHARS
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn table_and_key(survey: Survey) -> (&'static str, &'static str) {
    match survey {
        Survey::Lsst => ("object_tags", "\"diaObjectId\""),
        Survey::Ztf => ("ztf_object_tags", "\"objectId\""),
    }
}

/// Put `tag` on an object for `owner` (again: nothing changes).
pub fn add(
    db: &mut Db,
    survey: Survey,
    key: &ObjectKey,
    owner: i64,
    tag: &str,
) -> Result<(), StoreError> {
    if !valid_tag(tag) {
        return Err(StoreError::Invalid(format!(
            "a tag is up to {MAX_TAG_CHARS} letters, digits or underscores, starting with a letter, not {tag:?}"
        )));
    }
    let (table, k) = table_and_key(survey);
    db.transaction(|tx| {
        let n: i64 = tx
            .query_one(
                &format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE {k} = ?1 AND owner = ?2"
                ),
                &[super::object_view::key_value(survey, key), owner.into()],
            )?
            .get(0)?;
        if n >= MAX_TAGS_PER_OBJECT {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_TAGS_PER_OBJECT} tags per object"
            )));
        }
        tx.execute(
            &format!(
                "INSERT INTO {table} ({k}, owner, tag) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
            ),
            &[
                super::object_view::key_value(survey, key),
                owner.into(),
                tag.into(),
            ],
        )?;
        Ok(())
    })
}

/// Take `tag` off an object; whether it was there.
pub fn remove(
    db: &mut Db,
    survey: Survey,
    key: &ObjectKey,
    owner: i64,
    tag: &str,
) -> Result<bool, StoreError> {
    let (table, k) = table_and_key(survey);
    Ok(db.execute(
        &format!("DELETE FROM {table} WHERE {k} = ?1 AND owner = ?2 AND tag = ?3"),
        &[
            super::object_view::key_value(survey, key),
            owner.into(),
            tag.into(),
        ],
    )? > 0)
}

/// `owner`'s tags on an object, by name.
pub fn of_object(
    db: &mut Db,
    survey: Survey,
    key: &ObjectKey,
    owner: i64,
) -> Result<Vec<String>, StoreError> {
    let (table, k) = table_and_key(survey);
    db.query(
        &format!("SELECT tag FROM {table} WHERE {k} = ?1 AND owner = ?2 ORDER BY tag"),
        &[super::object_view::key_value(survey, key), owner.into()],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// `owner`'s tags with how many objects of both surveys carry each, by name.
pub fn of_owner(db: &mut Db, owner: i64) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(
        "SELECT tag, CAST(COUNT(*) AS BIGINT) FROM (
           SELECT tag FROM object_tags WHERE owner = ?1
           UNION ALL SELECT tag FROM ztf_object_tags WHERE owner = ?1) t
         GROUP BY tag ORDER BY tag",
        args![owner],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// The objects `owner` tagged `tag`, newest tag first: (survey, id as text, when).
pub fn objects_tagged(
    db: &mut Db,
    owner: i64,
    tag: &str,
) -> Result<Vec<(Survey, String, String)>, StoreError> {
    db.query(
        "SELECT 0, CAST(\"diaObjectId\" AS TEXT), timestamp FROM object_tags WHERE owner = ?1 AND tag = ?2
         UNION ALL
         SELECT 1, \"objectId\", timestamp FROM ztf_object_tags WHERE owner = ?1 AND tag = ?2
         ORDER BY 3 DESC, 2",
        args![owner, tag],
    )?
    .iter()
    .map(|r| {
        let survey = if r.get::<i64>(0)? == 0 {
            Survey::Lsst
        } else {
            Survey::Ztf
        };
        Ok((survey, r.get(1)?, r.get(2)?))
    })
    .collect()
}
