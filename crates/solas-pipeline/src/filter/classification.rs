//! An object's context classification as a row of Lasair's `sherlock_classifications`
//! (`ztf_sherlock_classifications` for ZTF), from the classifier's JSON answer.

use solas_context::{ColumnValue, SherlockRow};
use solas_core::{Alert, Survey};
use solas_features::{ObjectRow, Value};
use solas_store::tables::{SHERLOCK_COLUMNS, ZTF_SHERLOCK_COLUMNS};

/// The object's `sherlock_classifications` row: its key, then the classification's values
/// in the table's column order (the test below holds the two orders together).
pub fn row(alert: &Alert, context: &SherlockRow) -> ObjectRow {
    let key = match alert.survey {
        Survey::Lsst => Value::Int(alert.object.id),
        Survey::Ztf => Value::Text(alert.object.name.clone()),
    };
    row_for(alert.survey, key, context)
}

/// [`row`] for an object known by its key (`diaObjectId` as an integer, ZTF's name).
pub fn row_for(survey: Survey, key: Value, context: &SherlockRow) -> ObjectRow {
    let columns = match survey {
        Survey::Lsst => SHERLOCK_COLUMNS,
        Survey::Ztf => ZTF_SHERLOCK_COLUMNS,
    };
    let mut values = Vec::with_capacity(columns.len());
    values.push(key);
    values.extend(context.values().into_iter().map(|v| match v {
        ColumnValue::Null => Value::Null,
        ColumnValue::Int(i) => Value::Int(i),
        ColumnValue::Real(x) => Value::float(Some(x)),
        ColumnValue::Text(t) => Value::Text(t.to_string()),
    }));
    ObjectRow { columns, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typed_row_is_in_the_order_of_the_table() {
        for columns in [SHERLOCK_COLUMNS, ZTF_SHERLOCK_COLUMNS] {
            let names: Vec<&str> = columns[1..].iter().map(|c| c.name).collect();
            assert_eq!(names, solas_context::SHERLOCK_ROW_COLUMNS);
        }
    }
}
