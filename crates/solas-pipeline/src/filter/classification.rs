//! An object's context classification as a row of Lasair's `sherlock_classifications`
//! (`ztf_sherlock_classifications` for ZTF), from the classifier's JSON answer.

use serde_json::Value as Json;
use solas_core::{Alert, Survey};
use solas_features::{ColumnType, ObjectRow, Value};
use solas_store::tables::{SHERLOCK_COLUMNS, ZTF_SHERLOCK_COLUMNS};

pub fn row(alert: &Alert, answer: &Json) -> ObjectRow {
    let (columns, key) = match alert.survey {
        Survey::Lsst => (SHERLOCK_COLUMNS, Value::Int(alert.object.id)),
        Survey::Ztf => (ZTF_SHERLOCK_COLUMNS, Value::Text(alert.object.name.clone())),
    };
    let mut values = Vec::with_capacity(columns.len());
    values.push(key);
    for column in &columns[1..] {
        // `distance` is Lasair's deprecated name for best_distance.
        let name = if column.name == "distance" {
            "best_distance"
        } else {
            column.name
        };
        let v = answer.get(name).unwrap_or(&Json::Null);
        values.push(match (column.ty, v) {
            (_, Json::Null) => Value::Null,
            (ColumnType::Int, Json::Number(n)) => n.as_i64().map(Value::Int).unwrap_or(Value::Null),
            (ColumnType::Float, Json::Number(n)) => Value::float(n.as_f64()),
            (ColumnType::Text, Json::String(s)) => Value::Text(s.clone()),
            // Ids may come as numbers: keep every digit.
            (ColumnType::Text, Json::Number(n)) => Value::Text(n.to_string()),
            (_, other) => Value::Text(other.to_string()),
        });
    }
    ObjectRow { columns, values }
}
