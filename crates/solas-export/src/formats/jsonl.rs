//! JSON lines: one object per row with every column (null where the record has no value;
//! JSON has no NaN, so NaN and infinities are null too). 64-bit ids are exact integers.

use std::io::{BufWriter, Write};

use crate::columns::{Cell, Columns};
use crate::ExportError;

pub(crate) struct JsonLines<W: Write> {
    /// Each column's name, already as a JSON string.
    keys: Vec<String>,
    out: BufWriter<W>,
}

impl<W: Write> JsonLines<W> {
    pub(crate) fn new(columns: &Columns, out: W) -> Self {
        JsonLines {
            keys: columns
                .list
                .iter()
                .map(|c| serde_json::Value::String(c.name.clone()).to_string())
                .collect(),
            out: BufWriter::new(out),
        }
    }
}

impl<W: Write> super::Table for JsonLines<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        self.out.write_all(b"{")?;
        for (i, (key, cell)) in self.keys.iter().zip(cells).enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            self.out.write_all(key.as_bytes())?;
            self.out.write_all(b":")?;
            serde_json::to_writer(&mut self.out, &cell.json()).map_err(std::io::Error::from)?;
        }
        self.out.write_all(b"}\n")?;
        Ok(())
    }

    fn finish(mut self: Box<Self>, _truncated: bool) -> Result<(), ExportError> {
        self.out.flush()?;
        Ok(())
    }
}
