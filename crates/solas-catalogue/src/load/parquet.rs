//! Parquet files through the `parquet` crate's record reader (no Arrow: it would triple the
//! compile cost for a few columns of a few tables). Snappy, zstd (HATS's default), LZ4 and
//! gzip pages are read. Numbers of any physical type become
//! numbers (integers exact), strings and byte arrays text; nested values are null.

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
    sink.expect_rows(reader.metadata().file_metadata().num_rows().max(0) as u64);
    for (r, row) in reader.get_row_iter(None).map_err(perr)?.enumerate() {
        let r = r as u64;
        let row = match row {
            Ok(row) => row,
            // A page that cannot be decoded (cut short, corrupt, or compressed with a codec
            // this build lacks) loses every later row of the file: the load fails, naming
            // the file and the row, rather than counting one bad row.
            Err(e) => {
                return Err(CatalogueError::format(
                    path,
                    format!("Parquet rows from {r} on cannot be read: {e}"),
                ))
            }
        };
        let cells: Vec<Cell> = row.get_column_iter().map(|(_, f)| cell(f)).collect();
        sink.row(r, r, &cells)?;
    }
    Ok(())
}

fn cell(f: &Field) -> Cell<'_> {
    match f {
        Field::Null => Cell::Null,
        Field::Bool(b) => Cell::Num(*b as u8 as f64),
        Field::Byte(v) => Cell::Int((*v).into()),
        Field::Short(v) => Cell::Int((*v).into()),
        Field::Int(v) => Cell::Int((*v).into()),
        Field::Long(v) => Cell::Int(*v),
        Field::UByte(v) => Cell::Int((*v).into()),
        Field::UShort(v) => Cell::Int((*v).into()),
        Field::UInt(v) => Cell::Int((*v).into()),
        Field::ULong(v) => match i64::try_from(*v) {
            Ok(i) => Cell::Int(i),
            Err(_) => Cell::Text(Cow::Owned(v.to_string())),
        },
        Field::Float(v) => Cell::Num(*v as f64),
        Field::Double(v) => Cell::Num(*v),
        Field::Str(s) => Cell::Text(Cow::Borrowed(s)),
        Field::Bytes(b) => Cell::Text(String::from_utf8_lossy(b.data())),
        _ => Cell::Null,
    }
}
