//! Parquet files through the `parquet` crate's record reader (no Arrow: it would triple the
//! compile cost for a few columns of a few tables). Numbers of any physical type become
//! numbers, strings and byte arrays text; nested values are null.

use std::borrow::Cow;
use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::{Cell, Sink};
use crate::CatalogueError;

pub(crate) fn read(path: &Path, sink: &mut Sink) -> Result<(), CatalogueError> {
    let perr = |source| CatalogueError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| CatalogueError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(perr)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    sink.header(&names)?;
    for (r, row) in reader.get_row_iter(None).map_err(perr)?.enumerate() {
        let r = r as u64;
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                // A corrupt page ends the file: later rows cannot be located reliably.
                sink.bad(r, format!("unreadable row: {e}"));
                break;
            }
        };
        let cells: Vec<Cell> = row.get_column_iter().map(|(_, f)| cell(f)).collect();
        sink.row(r, r, &cells);
    }
    Ok(())
}

fn cell(f: &Field) -> Cell<'_> {
    match f {
        Field::Null => Cell::Null,
        Field::Bool(b) => Cell::Num(*b as u8 as f64),
        Field::Byte(v) => Cell::Num(*v as f64),
        Field::Short(v) => Cell::Num(*v as f64),
        Field::Int(v) => Cell::Num(*v as f64),
        Field::Long(v) => Cell::Num(*v as f64),
        Field::UByte(v) => Cell::Num(*v as f64),
        Field::UShort(v) => Cell::Num(*v as f64),
        Field::UInt(v) => Cell::Num(*v as f64),
        Field::ULong(v) => Cell::Num(*v as f64),
        Field::Float(v) => Cell::Num(*v as f64),
        Field::Double(v) => Cell::Num(*v),
        Field::Str(s) => Cell::Text(Cow::Borrowed(s)),
        Field::Bytes(b) => Cell::Text(String::from_utf8_lossy(b.data())),
        _ => Cell::Null,
    }
}
