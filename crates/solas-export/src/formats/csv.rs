//! CSV (RFC 4180 quoting by the `csv` crate): a header of column names; null is an empty
//! field, NaN `NaN`.

use std::io::Write;

use crate::columns::{Cell, Columns};
use crate::ExportError;

pub(crate) struct Csv<W: Write> {
    out: ::csv::Writer<W>,
}

impl<W: Write> Csv<W> {
    pub(crate) fn new(columns: &Columns, out: W) -> Result<Self, ExportError> {
        let mut out = ::csv::Writer::from_writer(out);
        out.write_record(columns.list.iter().map(|c| c.name.as_str()))?;
        Ok(Csv { out })
    }
}

impl<W: Write> super::Table for Csv<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        for c in cells {
            self.out
                .write_field(c.text().unwrap_or_default().as_bytes())?;
        }
        self.out.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn finish(mut self: Box<Self>, _truncated: bool) -> Result<(), ExportError> {
        self.out.flush()?;
        Ok(())
    }
}
