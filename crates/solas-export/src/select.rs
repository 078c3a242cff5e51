//! Which objects an export reads: named ones, those in a cone, or those a filter (the
//! filter language, Lasair's `tables` and `conditions`) picks, each resolved to the
//! 64-bit keys the archive is keyed by.

use std::time::Duration;

use solas_core::{ObjectKey, Survey};
use solas_store::db::{Db, Target, Value as DbValue};
use solas_store::main_db::filter_resources::DbResources;
use solas_store::main_db::filter_runs::{FilterRunError, FilterRunner};

use crate::ExportError;

/// An object's 64-bit key from its name: a Rubin diaObjectId or a ZTF name.
pub fn object_key(survey: Survey, name: &str) -> Result<i64, ExportError> {
    let name = name.trim();
    match survey {
        Survey::Lsst => name.parse::<i64>().map_err(|_| {
            ExportError::Selection(format!("{name:?} is not a diaObjectId (a 64-bit integer)"))
        }),
        Survey::Ztf => ObjectKey::ztf(name)
            .map(|k| k.id)
            .map_err(|_| ExportError::Selection(format!("{name:?} is not a ZTF objectId"))),
    }
}

/// A key as the main database's key column holds it (an integer or a ZTF name).
fn key_of(survey: Survey, v: &DbValue) -> Result<i64, ExportError> {
    match v {
        DbValue::Int(id) => Ok(*id),
        DbValue::Text(name) => object_key(survey, name),
        other => Err(ExportError::Selection(format!(
            "an object key stored as {other:?}"
        ))),
    }
}

/// Every object within a radius of a position, nearest first (the store's search).
pub use solas_store::main_db::object_view::cone;

/// The keys of the objects in a cone.
pub fn cone_keys(
    db: &mut Db,
    survey: Survey,
    ra: f64,
    dec: f64,
    radius_arcsec: f64,
) -> Result<Vec<i64>, ExportError> {
    cone(db, survey, ra, dec, radius_arcsec)?
        .iter()
        .map(|(k, _)| key_of(survey, k))
        .collect()
}

/// A filter that chooses objects: Lasair's `tables` and `conditions` (its SELECT is the
/// object key).
#[derive(Debug, Clone)]
pub struct ObjectFilter {
    pub tables: String,
    pub conditions: String,
}

/// The keys of the objects `filter` picks, at most `limit`, checked and whitelisted as
/// every filter is (as `user`: another user's private watchlists are refused), run on the
/// filters' read-only connection (`role_url` on PostgreSQL) within `timeout`.
pub fn filter_keys(
    main: &Target,
    role_url: Option<&str>,
    survey: Survey,
    user: Option<i64>,
    filter: &ObjectFilter,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<i64>, ExportError> {
    let query_survey = match survey {
        Survey::Lsst => solas_query::Survey::Lsst,
        Survey::Ztf => solas_query::Survey::Ztf,
    };
    let key = solas_query::schema::object_key(query_survey);
    let spec = solas_query::FilterSpec {
        selected: format!("objects.{key}"),
        tables: filter.tables.clone(),
        conditions: filter.conditions.clone(),
    };
    let resources = DbResources::connect(main)?;
    let checked = solas_query::check(&spec, query_survey, user, &resources)
        .map_err(|e| ExportError::Selection(e.to_string()))?;
    let dialect = match main {
        Target::Sqlite(_) => solas_query::Dialect::Sqlite,
        Target::Postgres(_) => solas_query::Dialect::Postgres,
    };
    let rendered = checked.render(dialect, Some(limit), None);
    let names = checked.columns();
    let mut runner =
        FilterRunner::open(main, role_url).map_err(|e| ExportError::Selection(e.to_string()))?;
    let rows = runner
        .run(&rendered, &names, timeout)
        .map_err(|e| match e {
            FilterRunError::Timeout(_) => ExportError::Selection(format!(
                "the filter ran longer than {} s and was stopped",
                timeout.as_secs_f64()
            )),
            e => ExportError::Selection(format!("the filter failed: {e}")),
        })?;
    rows.iter()
        .map(|row| {
            let v = row.values().next().unwrap_or(&serde_json::Value::Null);
            match v {
                serde_json::Value::Number(n) => n.as_i64().ok_or_else(|| {
                    ExportError::Selection(format!("an object key {n} beyond 64 bits"))
                }),
                serde_json::Value::String(name) => object_key(survey, name),
                other => Err(ExportError::Selection(format!("an object key {other}"))),
            }
        })
        .collect()
}
