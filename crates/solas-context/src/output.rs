//! Output in Lasair's names: the columns of a `sherlock_classifications` row, and JSON in
//! the shape of Lasair's Sherlock API (the row's columns plus `crossmatches`).
//!
//! Values keep their types: integers stay `Int` and ids stay text, so nothing (such as a
//! 64-bit object id, fink-broker#1212) is rounded by passing through a float.

use serde_json::{Map, Number, Value};

use crate::{Classification, Match};

/// One column value, typed for a database or JSON writer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnValue<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

impl ColumnValue<'_> {
    fn real(v: Option<f64>) -> Self {
        v.filter(|v| v.is_finite()).map_or(Self::Null, Self::Real)
    }

    fn text(v: Option<&str>) -> ColumnValue<'_> {
        v.map_or(ColumnValue::Null, ColumnValue::Text)
    }

    /// As JSON: NaN/∞ (never produced, but never trusted) become null.
    pub fn to_json(self) -> Value {
        match self {
            ColumnValue::Null => Value::Null,
            ColumnValue::Int(i) => Value::Number(i.into()),
            ColumnValue::Real(x) => Number::from_f64(x).map_or(Value::Null, Value::Number),
            ColumnValue::Text(s) => Value::String(s.to_owned()),
        }
    }
}

/// Columns of a match that belong to a `sherlock_classifications` row (all but `rank`).
const ROW_MATCH_COLUMNS: usize = 24;

impl Match {
    /// The match as (Lasair column name, value) pairs, in the order of Sherlock's
    /// crossmatch output, ending with `rank`. `distance` (deprecated in Lasair) repeats
    /// `best_distance`.
    pub fn columns(&self) -> Vec<(&'static str, ColumnValue<'_>)> {
        use ColumnValue as V;
        vec![
            ("association_type", V::Text(self.association_type.as_str())),
            ("catalogue_table_name", V::Text(&self.catalogue_table_name)),
            ("catalogue_object_id", V::Text(&self.catalogue_object_id)),
            (
                "catalogue_object_type",
                V::text(self.catalogue_object_type.as_deref()),
            ),
            ("raDeg", V::Real(self.ra_deg)),
            ("decDeg", V::Real(self.dec_deg)),
            ("separationArcsec", V::Real(self.separation_arcsec)),
            (
                "northSeparationArcsec",
                V::Real(self.north_separation_arcsec),
            ),
            ("eastSeparationArcsec", V::Real(self.east_separation_arcsec)),
            (
                "physical_separation_kpc",
                V::real(self.physical_separation_kpc),
            ),
            ("direct_distance", V::real(self.direct_distance_mpc)),
            ("distance", V::real(self.best_distance_mpc)),
            ("best_distance", V::real(self.best_distance_mpc)),
            (
                "best_distance_flag",
                V::text(self.best_distance_flag.map(|f| f.as_str())),
            ),
            (
                "best_distance_source",
                V::text(self.best_distance_source.as_deref()),
            ),
            ("z", V::real(self.z)),
            ("photoZ", V::real(self.photo_z)),
            ("photoZErr", V::real(self.photo_z_err)),
            ("Mag", V::real(self.mag)),
            ("MagFilter", V::text(self.mag_filter.as_deref())),
            ("MagErr", V::real(self.mag_err)),
            (
                "classificationReliability",
                V::Int(self.reliability.as_int()),
            ),
            ("major_axis_arcsec", V::real(self.major_axis_arcsec)),
            ("rank", V::Int(i64::from(self.rank))),
        ]
    }

    /// The match as a JSON object keyed by Lasair's column names.
    pub fn to_json(&self) -> Value {
        object(self.columns())
    }
}

/// Lasair's match column names, for writing NULLs when there is no match: the row's
/// columns between `classification` and `annotator`.
fn match_column_names() -> impl Iterator<Item = &'static str> {
    crate::SHERLOCK_ROW_COLUMNS[1..ROW_MATCH_COLUMNS]
        .iter()
        .copied()
}

impl Classification {
    /// The `sherlock_classifications` row Solas fills (without the object id, and without
    /// Lasair's `annotator`, `additional_output` and `summary`, which Sherlock never sets):
    /// `classification`, the best match's columns (NULL for ORPHAN), `description`.
    pub fn columns(&self) -> Vec<(&'static str, ColumnValue<'_>)> {
        let mut cols = vec![(
            "classification",
            ColumnValue::Text(self.classification.as_str()),
        )];
        match &self.best {
            Some(m) => cols.extend(m.columns().into_iter().filter(|(k, _)| *k != "rank")),
            None => cols.extend(match_column_names().map(|k| (k, ColumnValue::Null))),
        }
        cols.push(("description", ColumnValue::Text(&self.description)));
        cols
    }

    /// JSON: the row of [`Classification::columns`] plus `crossmatches`, every match
    /// (ranked, with `rank`) as in Lasair's Sherlock API.
    pub fn to_json(&self) -> Value {
        let mut v = object(self.columns());
        v["crossmatches"] = Value::Array(self.matches.iter().map(Match::to_json).collect());
        v
    }
}

fn object(cols: Vec<(&'static str, ColumnValue<'_>)>) -> Value {
    Value::Object(
        cols.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_json()))
            .collect::<Map<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_row_has_the_same_columns_as_a_match_row() {
        let names: Vec<&str> = match_column_names().collect();
        assert_eq!(names.len(), ROW_MATCH_COLUMNS - 1);
        assert!(!names.contains(&"rank"));
        assert_eq!(ColumnValue::Real(f64::NAN).to_json(), Value::Null);
        assert_eq!(
            ColumnValue::Int(170587115523932323).to_json().to_string(),
            "170587115523932323"
        );
    }
}
