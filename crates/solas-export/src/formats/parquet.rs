//! Parquet through the `parquet` crate's column writers (no Arrow, which would triple the
//! build): every column optional (null is a missing value, NaN stays NaN), text as UTF-8
//! strings, Snappy-compressed, a row group per `ROW_GROUP` rows buffered in memory.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::columns::{Cell, ColumnType, Columns};
use crate::ExportError;

/// Rows per row group: about 10 MB for Rubin's ~100 diaSource columns.
const ROW_GROUP: usize = 10_000;

/// One column's values in the row group being filled.
enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
}

struct Buffer {
    name: String,
    values: Values,
    /// 1 where the row has a value, 0 for null.
    defined: Vec<i16>,
}

pub(crate) struct Parquet<W: Write + Send> {
    out: SerializedFileWriter<W>,
    buffers: Vec<Buffer>,
    rows: usize,
}

impl<W: Write + Send> Parquet<W> {
    pub(crate) fn new(columns: &Columns, out: W) -> Result<Self, ExportError> {
        let mut fields = Vec::with_capacity(columns.list.len());
        let mut buffers = Vec::with_capacity(columns.list.len());
        for c in &columns.list {
            let (physical, logical, values) = match c.ty {
                ColumnType::Bool => (Physical::BOOLEAN, None, Values::Bool(Vec::new())),
                ColumnType::Int => (Physical::INT32, None, Values::I32(Vec::new())),
                ColumnType::Long => (Physical::INT64, None, Values::I64(Vec::new())),
                ColumnType::Float => (Physical::FLOAT, None, Values::F32(Vec::new())),
                ColumnType::Double => (Physical::DOUBLE, None, Values::F64(Vec::new())),
                ColumnType::Text | ColumnType::Bytes => (
                    Physical::BYTE_ARRAY,
                    Some(LogicalType::String),
                    Values::Bytes(Vec::new()),
                ),
                ColumnType::Json => (
                    Physical::BYTE_ARRAY,
                    Some(LogicalType::Json),
                    Values::Bytes(Vec::new()),
                ),
            };
            fields.push(Arc::new(
                Type::primitive_type_builder(&c.name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()?,
            ));
            buffers.push(Buffer {
                name: c.name.clone(),
                values,
                defined: Vec::new(),
            });
        }
        let schema = Type::group_type_builder("solas_export")
            .with_fields(fields)
            .build()?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("solas {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Parquet {
            out: SerializedFileWriter::new(out, Arc::new(schema), Arc::new(properties))?,
            buffers,
            rows: 0,
        })
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> Result<(), ExportError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.out.next_row_group()?;
        for b in &mut self.buffers {
            let mut column = group.next_column()?.ok_or_else(|| ExportError::Column {
                column: b.name.clone(),
                problem: "the Parquet writer has no column for it".into(),
            })?;
            let defined = Some(b.defined.as_slice());
            match &mut b.values {
                Values::Bool(v) => column.typed::<BoolType>().write_batch(v, defined, None)?,
                Values::I32(v) => column.typed::<Int32Type>().write_batch(v, defined, None)?,
                Values::I64(v) => column.typed::<Int64Type>().write_batch(v, defined, None)?,
                Values::F32(v) => column.typed::<FloatType>().write_batch(v, defined, None)?,
                Values::F64(v) => column.typed::<DoubleType>().write_batch(v, defined, None)?,
                Values::Bytes(v) => column
                    .typed::<ByteArrayType>()
                    .write_batch(v, defined, None)?,
            };
            column.close()?;
            b.clear();
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }
}

impl Buffer {
    fn clear(&mut self) {
        self.defined.clear();
        match &mut self.values {
            Values::Bool(v) => v.clear(),
            Values::I32(v) => v.clear(),
            Values::I64(v) => v.clear(),
            Values::F32(v) => v.clear(),
            Values::F64(v) => v.clear(),
            Values::Bytes(v) => v.clear(),
        }
    }

    fn push(&mut self, cell: &Cell<'_>) -> Result<(), ExportError> {
        let wrong = || ExportError::Column {
            column: self.name.clone(),
            problem: format!("{cell:?} does not fit its Parquet type"),
        };
        match (&mut self.values, cell) {
            (_, Cell::Null) => {
                self.defined.push(0);
                return Ok(());
            }
            (Values::Bool(v), Cell::Bool(b)) => v.push(*b),
            (Values::I32(v), Cell::Int(n)) => v.push(i32::try_from(*n).map_err(|_| wrong())?),
            (Values::I64(v), Cell::Int(n)) => v.push(*n),
            (Values::F32(v), Cell::Float(x)) => v.push(*x),
            (Values::F64(v), Cell::Double(x)) => v.push(*x),
            (Values::Bytes(v), Cell::Text(t)) => v.push(ByteArray::from(t.as_bytes().to_vec())),
            (Values::Bytes(v), Cell::Json(j)) => {
                v.push(ByteArray::from(j.to_string().into_bytes()))
            }
            _ => return Err(wrong()),
        }
        self.defined.push(1);
        Ok(())
    }
}

impl<W: Write + Send> super::Table for Parquet<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        for (b, c) in self.buffers.iter_mut().zip(cells) {
            b.push(c)?;
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, _truncated: bool) -> Result<(), ExportError> {
        self.flush()?;
        self.out.close()?;
        Ok(())
    }
}
