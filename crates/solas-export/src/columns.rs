//! An export's columns, from the Avro schemas of the records it writes, and each value's
//! cell in its column's type.
//!
//! The Avro types map to table types: `boolean`, `int`, `long`, `float`, `double`,
//! `string` (and enums) as themselves, `["null", T]` as a nullable T, `bytes`/`fixed` as
//! hexadecimal text, and anything nested (arrays, maps, records, wider unions) as JSON
//! text. When schema versions disagree on a field's type, `int` widens to `long` and
//! `float` to `double`; other disagreements become JSON text, so no value is refused.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;
use solas_core::{RecordSchema, Survey};
use solas_decode::value::Value;

use crate::ExportError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Bool,
    Int,
    Long,
    Float,
    Double,
    Text,
    /// Bytes, written as hexadecimal text.
    Bytes,
    /// Anything nested, written as JSON text.
    Json,
}

impl ColumnType {
    /// Both types' values, without loss.
    fn widen(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Int, Long) | (Long, Int) => Long,
            (Float, Double) | (Double, Float) => Double,
            _ => Json,
        }
    }

    /// The type of an Avro schema (the JSON of a field's `type`).
    fn of_avro(t: &Json) -> ColumnType {
        match t {
            Json::String(name) => match name.as_str() {
                "boolean" => ColumnType::Bool,
                "int" => ColumnType::Int,
                "long" => ColumnType::Long,
                "float" => ColumnType::Float,
                "double" => ColumnType::Double,
                "string" => ColumnType::Text,
                "bytes" => ColumnType::Bytes,
                // A named type defined elsewhere in the schema.
                _ => ColumnType::Json,
            },
            Json::Array(members) => {
                let mut kept = members.iter().filter(|m| m.as_str() != Some("null"));
                match (kept.next(), kept.next()) {
                    (Some(only), None) => ColumnType::of_avro(only),
                    _ => ColumnType::Json,
                }
            }
            Json::Object(o) => match o.get("type").and_then(Json::as_str) {
                Some("fixed") => ColumnType::Bytes,
                Some("enum") => ColumnType::Text,
                Some("array" | "map" | "record") | None => ColumnType::Json,
                Some(_) => ColumnType::of_avro(&o["type"]),
            },
            _ => ColumnType::Json,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    /// The field's documentation, from its schema.
    pub doc: Option<String>,
}

/// An export's columns in order: the object's key, then every field of every schema.
#[derive(Debug, Clone)]
pub struct Columns {
    pub list: Vec<Column>,
    index: HashMap<String, usize>,
}

impl Columns {
    /// The columns for records written with `schemas` (a record type's versions).
    pub fn new(survey: Survey, schemas: &[Arc<RecordSchema>]) -> Result<Columns, ExportError> {
        let key = Column {
            name: solas_query::schema::object_key(match survey {
                Survey::Lsst => solas_query::Survey::Lsst,
                Survey::Ztf => solas_query::Survey::Ztf,
            })
            .to_string(),
            ty: match survey {
                Survey::Lsst => ColumnType::Long,
                Survey::Ztf => ColumnType::Text,
            },
            doc: Some("The object the source belongs to.".into()),
        };
        let mut columns = Columns {
            index: HashMap::from([(key.name.clone(), 0)]),
            list: vec![key],
        };
        for schema in schemas {
            for field in fields(schema)? {
                match columns.index.get(&field.name) {
                    Some(&i) => {
                        let c = &mut columns.list[i];
                        c.ty = c.ty.widen(field.ty);
                        c.doc = c.doc.take().or(field.doc);
                    }
                    None => {
                        columns.index.insert(field.name.clone(), columns.list.len());
                        columns.list.push(field);
                    }
                }
            }
        }
        Ok(columns)
    }

    /// The column a field is written to.
    pub fn place(&self, field: &str) -> Option<usize> {
        self.index.get(field).copied()
    }
}

/// A record schema's fields as columns.
fn fields(schema: &RecordSchema) -> Result<Vec<Column>, ExportError> {
    let bad = |problem: &str| ExportError::Column {
        column: schema.name.clone(),
        problem: problem.to_string(),
    };
    let json: Json = serde_json::from_str(&schema.json).map_err(|e| bad(&e.to_string()))?;
    let fields = json
        .get("fields")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("the schema is not a record's"))?;
    fields
        .iter()
        .map(|f| {
            Ok(Column {
                name: f
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("a field without a name"))?
                    .to_string(),
                ty: ColumnType::of_avro(f.get("type").unwrap_or(&Json::Null)),
                doc: f.get("doc").and_then(Json::as_str).map(str::to_string),
            })
        })
        .collect()
}

/// A value as its column holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    /// `int` and `long` columns.
    Int(i64),
    Float(f32),
    Double(f64),
    Text(Cow<'a, str>),
    Json(Json),
}

impl Cell<'_> {
    /// As text (CSV, VOTable): `None` for null; reals as their shortest exact decimal,
    /// `NaN`, `+Inf`, `-Inf`.
    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        fn real(x: f64, shortest: String) -> Cow<'static, str> {
            Cow::Owned(if x.is_nan() {
                "NaN".into()
            } else if x.is_infinite() {
                if x > 0.0 { "+Inf" } else { "-Inf" }.into()
            } else {
                shortest
            })
        }
        Some(match self {
            Cell::Null => return None,
            Cell::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Cell::Int(n) => Cow::Owned(n.to_string()),
            Cell::Float(x) => real(f64::from(*x), format!("{x:?}")),
            Cell::Double(x) => real(*x, format!("{x:?}")),
            Cell::Text(t) => Cow::Borrowed(t.as_ref()),
            Cell::Json(j) => Cow::Owned(j.to_string()),
        })
    }

    /// As JSON: integers exact, a float by its shortest decimal, NaN and infinities null.
    pub(crate) fn json(&self) -> Json {
        match self {
            Cell::Null => Json::Null,
            Cell::Bool(b) => Json::Bool(*b),
            Cell::Int(n) => Json::from(*n),
            Cell::Float(x) => Value::Float(*x).to_json(),
            Cell::Double(x) => Value::Double(*x).to_json(),
            Cell::Text(t) => Json::String(t.to_string()),
            Cell::Json(j) => j.clone(),
        }
    }
}

/// `value` (absent: null) in `column`'s type.
pub(crate) fn cell<'a>(value: Option<&'a Value>, column: &Column) -> Result<Cell<'a>, ExportError> {
    let Some(value) = value else {
        return Ok(Cell::Null);
    };
    Ok(match (column.ty, value) {
        (_, Value::Null) => Cell::Null,
        (ColumnType::Json, v) => Cell::Json(v.to_json()),
        (ColumnType::Bool, Value::Bool(b)) => Cell::Bool(*b),
        (ColumnType::Int | ColumnType::Long, Value::Long(n)) => Cell::Int(*n),
        (ColumnType::Float, Value::Float(x)) => Cell::Float(*x),
        (ColumnType::Double, Value::Double(x)) => Cell::Double(*x),
        // A float column of an older schema version widened to double: exact.
        (ColumnType::Double, Value::Float(x)) => Cell::Double(f64::from(*x)),
        (ColumnType::Text, Value::String(t)) => Cell::Text(Cow::Borrowed(t)),
        (ColumnType::Bytes, Value::Bytes(b)) => {
            Cell::Text(Cow::Owned(b.iter().map(|x| format!("{x:02x}")).collect()))
        }
        (ty, v) => {
            return Err(ExportError::Column {
                column: column.name.clone(),
                problem: format!("a value {} in a {ty:?} column", v.to_json()),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(json: &str) -> Arc<RecordSchema> {
        Arc::new(RecordSchema {
            name: "t".into(),
            fingerprint: 1,
            json: json.into(),
        })
    }

    #[test]
    fn schema_versions_union_their_fields_and_widen_their_types() {
        let a = schema(
            r#"{"type":"record","name":"t","fields":[{"name":"a","type":"int","doc":"A."},
            {"name":"b","type":["null","float"]}]}"#,
        );
        let b = schema(
            r#"{"type":"record","name":"t","fields":[{"name":"a","type":"long"},
            {"name":"b","type":"double"},{"name":"c","type":{"type":"array","items":"int"}},
            {"name":"d","type":["null","int","string"]}]}"#,
        );
        let cols = Columns::new(Survey::Ztf, &[a, b]).unwrap();
        let got: Vec<(&str, ColumnType)> =
            cols.list.iter().map(|c| (c.name.as_str(), c.ty)).collect();
        use ColumnType::*;
        assert_eq!(
            got,
            [
                ("objectId", Text),
                ("a", Long),
                ("b", Double),
                ("c", Json),
                ("d", Json)
            ]
        );
        assert_eq!(cols.list[1].doc.as_deref(), Some("A."));
    }

    #[test]
    fn reals_print_exactly_and_nan_is_not_null() {
        let c = |ty, v: Value| -> Option<String> {
            let column = Column {
                name: "x".into(),
                ty,
                doc: None,
            };
            cell(Some(&v), &column)
                .unwrap()
                .text()
                .map(|t| t.into_owned())
        };
        assert_eq!(c(ColumnType::Float, Value::Float(0.1)).unwrap(), "0.1");
        assert_eq!(
            c(ColumnType::Double, Value::Float(0.1)).unwrap(),
            "0.10000000149011612"
        );
        assert_eq!(
            c(ColumnType::Double, Value::Double(f64::NAN)).unwrap(),
            "NaN"
        );
        assert_eq!(c(ColumnType::Double, Value::Null), None);
        assert_eq!(
            c(ColumnType::Long, Value::Long(i64::MAX)).unwrap(),
            i64::MAX.to_string()
        );
        assert!(cell(
            Some(&Value::String("x".into())),
            &Column {
                name: "x".into(),
                ty: ColumnType::Long,
                doc: None
            }
        )
        .is_err());
    }
}
