//! Lightcurve features: one `objects` row per astronomical object.
//!
//! This crate owns everything that turns an object's known lightcurve into the columns of
//! Lasair's `objects` table (LSST: [`lsst_features`], ZTF: [`ztf_features`]), and the sky
//! helpers those columns need: HTM ids ([`htm_id`]), galactic coordinates ([`sky`]), SFD
//! dust extinction ([`DustMap`]), distances ([`distance`]), pair colours, the jump detector
//! and the Bazin/Exp × blackbody fit ([`bbb`]).
//!
//! It is pure computation: no I/O except [`DustMap::open`], no panics on odd data (NaN,
//! empty lists, zero or negative fluxes all become NULL values). Where Solas deliberately
//! differs from Lasair it says so in a comment and in `docs/lasair-differences.md`.

pub mod bbb;
pub mod colour;
mod columns;
pub mod dc_mag;
mod dia_bands;
pub mod distance;
pub mod dust;
pub mod extinction;
pub mod htm;
pub mod jump;
pub mod lightcurve;
pub mod lm;
mod lsst;
pub mod sky;
mod ztf;

pub use columns::{
    LSST_NEWEST_SOURCE, LSST_OBJECT_COLUMNS, SHERLOCK_COLUMNS, ZTF_NEWEST_SOURCE,
    ZTF_OBJECT_COLUMNS, ZTF_SHERLOCK_COLUMNS,
};
pub use dust::{DustError, DustMap};
pub use htm::htm_id;
pub use lsst::lsst_features;
pub use sky::{galactic_lat, galactic_lon};
pub use ztf::ztf_features;

use solas_core::SurveyObject;

/// SQL-ish column type, used by the store to create tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Float,
    Text,
}

/// One column of an `objects` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
}

/// One cell. Floats are always finite: NaN and infinities are stored as `Null`, as Lasair's
/// database does.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    /// A float cell, NULL when absent or not finite.
    pub fn float(x: Option<f64>) -> Value {
        match x {
            Some(v) if v.is_finite() => Value::Float(v),
            _ => Value::Null,
        }
    }

    /// A float cell from Rubin's single-precision fields.
    pub fn float32(x: Option<f32>) -> Value {
        Value::float(x.map(f64::from))
    }

    pub fn int(x: Option<i64>) -> Value {
        x.map_or(Value::Null, Value::Int)
    }

    pub fn text(x: Option<&str>) -> Value {
        x.map_or(Value::Null, |s| Value::Text(s.to_string()))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a float (ints widen), None for NULL and text.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

/// Host context from the context classifier (Sherlock); None until that stage exists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostContext {
    pub classification: String,
    pub best_distance_mpc: Option<f64>,
    pub z: Option<f64>,
    pub photoz: Option<f64>,
}

/// Everything about an object that does not come from its own photometry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// SFD E(B−V) at the object's position.
    pub ebv: Option<f64>,
    pub host: Option<HostContext>,
}

/// Input: the object's whole known lightcurve (the store's union over all alerts; may be
/// unsorted).
pub struct FeatureInput<'a> {
    pub object: &'a solas_core::ObjectKey,
    pub detections: &'a [solas_core::Detection],
    pub forced: &'a [solas_core::ForcedPhot],
    pub non_detections: &'a [solas_core::NonDetection],
    pub survey_object: &'a solas_core::SurveyObject,
    pub context: &'a Context,
}

/// One objects row: values aligned with the survey's column list.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRow {
    pub columns: &'static [Column],
    pub values: Vec<Value>,
}

impl ObjectRow {
    /// A row of NULLs for these columns.
    pub fn nulls(columns: &'static [Column]) -> ObjectRow {
        ObjectRow {
            columns,
            values: vec![Value::Null; columns.len()],
        }
    }

    /// The value of the named column, None if the table has no such column.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.index(name).and_then(|i| self.values.get(i))
    }

    /// Set the named column; false (and nothing changes) if there is no such column.
    pub fn set(&mut self, name: &str, value: Value) -> bool {
        match self.index(name) {
            Some(i) => {
                self.values[i] = value;
                true
            }
            None => false,
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Set a column this crate itself defines; a typo is a bug, so catch it in debug builds.
    pub(crate) fn put(&mut self, name: &str, value: Value) {
        let found = self.set(name, value);
        debug_assert!(found, "no column {name}");
    }
}

/// The newest MJD among every source a row is computed from (detections, forced
/// measurements and limits), None for an object with none.
pub(crate) fn newest_source_mjd(input: &FeatureInput) -> Option<f64> {
    let times = input.detections.iter().map(|d| d.mjd);
    let times = times.chain(input.forced.iter().map(|f| f.mjd));
    let times = times.chain(input.non_detections.iter().map(|n| n.mjd));
    times.filter(|t| t.is_finite()).reduce(f64::max)
}

/// Computes the row for whichever survey the object belongs to.
pub fn compute(input: &FeatureInput) -> ObjectRow {
    match input.survey_object {
        SurveyObject::Lsst(_) => lsst_features(input),
        SurveyObject::Ztf(_) => ztf_features(input),
    }
}

/// Sherlock classes for which Lasair computes absolute magnitudes and the BBB fit: the
/// transient may be extragalactic.
pub(crate) fn host_is_extragalactic_candidate(ctx: &Context) -> Option<&HostContext> {
    ctx.host
        .as_ref()
        .filter(|h| matches!(h.classification.as_str(), "SN" | "NT" | "ORPHAN"))
}
