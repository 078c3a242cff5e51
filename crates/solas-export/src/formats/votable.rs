//! VOTable 1.4 in the TABLEDATA serialisation: a FIELD per column with its type and its
//! Avro documentation, a row per source. Null is an empty cell (allowed for every type
//! since VOTable 1.3), NaN is `NaN`. A row limit that cut the table short is said with
//! `<INFO name="QUERY_STATUS" value="OVERFLOW"/>`, as DALI services do.

use std::io::{BufWriter, Write};

use quick_xml::escape::escape;

use crate::columns::{Cell, ColumnType, Columns};
use crate::{Export, ExportError, SourceKind};

pub(crate) struct VoTable<W: Write> {
    out: BufWriter<W>,
}

/// Text for XML 1.0, which cannot carry most control characters even escaped.
fn xml_text(s: &str) -> std::borrow::Cow<'_, str> {
    let ok = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if s.chars().all(ok) {
        escape(s)
    } else {
        let cleaned: String = s
            .chars()
            .map(|c| if ok(c) { c } else { '\u{FFFD}' })
            .collect();
        std::borrow::Cow::Owned(escape(&cleaned).into_owned())
    }
}

impl<W: Write> VoTable<W> {
    pub(crate) fn new(columns: &Columns, export: &Export, out: W) -> Result<Self, ExportError> {
        let mut out = BufWriter::new(out);
        let table = match export.kind {
            SourceKind::Detections => "sources",
            SourceKind::Forced => "forced_sources",
            SourceKind::NonDetections => "non_detections",
        };
        write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
             <RESOURCE type=\"results\">\n\
             <DESCRIPTION>Every field of the {survey} {table} chosen, from the Solas archive.</DESCRIPTION>\n\
             <TABLE name=\"{table}\">\n",
            survey = export.survey.as_str(),
        )?;
        for c in &columns.list {
            let datatype = match c.ty {
                ColumnType::Bool => "boolean",
                ColumnType::Int => "int",
                ColumnType::Long => "long",
                ColumnType::Float => "float",
                ColumnType::Double => "double",
                ColumnType::Text | ColumnType::Bytes | ColumnType::Json => "char",
            };
            let size = if datatype == "char" {
                " arraysize=\"*\""
            } else {
                ""
            };
            write!(
                out,
                "<FIELD name=\"{}\" datatype=\"{datatype}\"{size}>",
                xml_text(&c.name)
            )?;
            if let Some(doc) = &c.doc {
                write!(out, "<DESCRIPTION>{}</DESCRIPTION>", xml_text(doc))?;
            }
            out.write_all(b"</FIELD>\n")?;
        }
        out.write_all(b"<DATA><TABLEDATA>\n")?;
        Ok(VoTable { out })
    }
}

impl<W: Write> super::Table for VoTable<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportError> {
        self.out.write_all(b"<TR>")?;
        for c in cells {
            match c.text() {
                Some(t) => write!(self.out, "<TD>{}</TD>", xml_text(&t))?,
                None => self.out.write_all(b"<TD/>")?,
            }
        }
        self.out.write_all(b"</TR>\n")?;
        Ok(())
    }

    fn finish(mut self: Box<Self>, truncated: bool) -> Result<(), ExportError> {
        self.out.write_all(b"</TABLEDATA></DATA>\n</TABLE>\n")?;
        let status = if truncated { "OVERFLOW" } else { "OK" };
        writeln!(self.out, "<INFO name=\"QUERY_STATUS\" value=\"{status}\"/>")?;
        self.out.write_all(b"</RESOURCE>\n</VOTABLE>\n")?;
        self.out.flush()?;
        Ok(())
    }
}
