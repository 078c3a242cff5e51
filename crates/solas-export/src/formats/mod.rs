//! One writer per file format, each taking rows of cells in the export's columns.

mod csv;
mod jsonl;
mod parquet;
mod votable;

use std::io::Write;

use crate::columns::{Cell, Columns};
use crate::{Export, ExportError, Format};

/// A table being written, row by row.
pub(crate) trait Table {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError>;
    /// Ends the file; `truncated` when a row limit cut it short.
    fn finish(self: Box<Self>, truncated: bool) -> Result<(), ExportError>;
}

/// A writer of `export.format` with `columns`' header written.
pub(crate) fn open<'w, W: Write + Send + 'w>(
    format: Format,
    columns: &Columns,
    export: &Export,
    out: W,
) -> Result<Box<dyn Table + 'w>, ExportError> {
    Ok(match format {
        Format::Csv => Box::new(csv::Csv::new(columns, out)?),
        Format::JsonLines => Box::new(jsonl::JsonLines::new(columns, out)),
        Format::VoTable => Box::new(votable::VoTable::new(columns, export, out)?),
        Format::Parquet => Box::new(parquet::Parquet::new(columns, out)?),
    })
}
