//! What leaves the archive: sources as files (`solas export`, `/api/export/`, the object
//! page's download links), every field of the detections, forced measurements or
//! non-detections of the objects a selection picks, as CSV, JSON lines, VOTable or
//! Parquet; and whole alerts again in the surveys' framings, for a replay ([`replay`]).
//!
//! The store streams the records in (object, time) order and each row is written as it
//! comes, so memory stays bounded whatever the selection (a Parquet row group at most).
//! The columns are the object's id, then the union of the fields of every schema the
//! selected records were written with (the store names those schemas before the first
//! row); a field one schema lacks is null in its rows.

pub mod columns;
mod formats;
pub mod replay;
pub mod select;

use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;

use solas_core::{RawRecord, Survey};
use solas_decode::value::{RecordReader, Value};
use solas_store::{LightcurveStore, StoreError};

pub use columns::{Column, ColumnType, Columns};
pub use solas_store::records::{Selection, SourceKind};

/// The file formats an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON object per line (NaN and infinities become null: JSON has neither).
    JsonLines,
    /// VOTable 1.4, TABLEDATA serialisation, each field's Avro doc as its DESCRIPTION.
    VoTable,
    /// Parquet, Snappy-compressed, every column optional.
    Parquet,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Csv,
        Format::JsonLines,
        Format::VoTable,
        Format::Parquet,
    ];

    /// By the name a user gives (`csv`, `jsonl`, `votable`, `parquet`).
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "json" | "ndjson" => Some(Format::JsonLines),
            "votable" | "vot" | "xml" => Some(Format::VoTable),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::VoTable => "votable",
            Format::Parquet => "parquet",
        }
    }

    /// The usual file name ending.
    pub fn extension(self) -> &'static str {
        match self {
            Format::VoTable => "vot",
            other => other.name(),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson",
            Format::VoTable => "application/x-votable+xml",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the archive: {0}")]
    Store(#[from] StoreError),
    #[error("a stored {schema} record cannot be read: {source}")]
    Record {
        schema: String,
        source: solas_decode::DecodeError,
    },
    #[error("column {column}: {problem}")]
    Column { column: String, problem: String },
    #[error("choosing the objects: {0}")]
    Selection(String),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// What to export.
#[derive(Debug, Clone)]
pub struct Export {
    pub survey: Survey,
    pub kind: SourceKind,
    pub selection: Selection,
    pub format: Format,
    /// Rows at most; past it the file ends (a VOTable says `OVERFLOW`) and
    /// [`Written::truncated`] is set.
    pub row_limit: Option<u64>,
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub objects: u64,
    pub columns: usize,
    /// The row limit cut the export short.
    pub truncated: bool,
}

/// Write `export` to `out`, streaming from `store`.
pub fn write<W: Write + Send>(
    store: &mut dyn LightcurveStore,
    export: &Export,
    out: W,
) -> Result<Written, ExportError> {
    let schemas = store.source_schemas(export.survey, export.kind, &export.selection)?;
    let columns = Columns::new(export.survey, &schemas)?;
    let mut table = formats::open(export.format, &columns, export, out)?;
    let mut rows = Rows {
        columns: &columns,
        survey: export.survey,
        reader: RecordReader::default(),
        places: HashMap::new(),
    };
    let mut written = Written {
        columns: columns.list.len(),
        ..Written::default()
    };
    let mut last_object = None;
    let mut failure = None;
    store.each_source(
        export.survey,
        export.kind,
        &export.selection,
        &mut |object, record| {
            if export.row_limit.is_some_and(|limit| written.rows >= limit) {
                written.truncated = true;
                return ControlFlow::Break(());
            }
            match rows.write(object, &record, &mut *table) {
                Ok(()) => {
                    written.rows += 1;
                    if last_object != Some(object) {
                        written.objects += 1;
                        last_object = Some(object);
                    }
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    )?;
    if let Some(e) = failure {
        return Err(e);
    }
    table.finish(written.truncated)?;
    Ok(written)
}

/// Turns records into rows of the export's columns.
struct Rows<'c> {
    columns: &'c Columns,
    survey: Survey,
    reader: RecordReader,
    /// For each schema (by fingerprint), the column of each of its fields in order.
    places: HashMap<i64, Vec<usize>>,
}

impl Rows<'_> {
    fn write(
        &mut self,
        object: i64,
        record: &RawRecord,
        table: &mut dyn formats::Table,
    ) -> Result<(), ExportError> {
        let value = self
            .reader
            .read(record)
            .map_err(|source| ExportError::Record {
                schema: record.schema.name.clone(),
                source,
            })?;
        let Value::Record(fields) = value else {
            return Err(ExportError::Record {
                schema: record.schema.name.clone(),
                source: solas_decode::DecodeError::BadSchema("not a record".into()),
            });
        };
        let columns = self.columns;
        let places = match self.places.entry(record.schema.fingerprint) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                fields
                    .iter()
                    .map(|(name, _)| {
                        columns.place(name).ok_or_else(|| ExportError::Column {
                            column: name.clone(),
                            problem: format!("not in {}'s columns", record.schema.name),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let key = match self.survey {
            Survey::Lsst => Value::Long(object),
            // A key that is no packed name (the benchmark's made-up objects) as its number.
            Survey::Ztf => Value::String(
                solas_core::ids::unpack_ztf_id(object).unwrap_or_else(|_| object.to_string()),
            ),
        };
        let mut cells: Vec<Option<&Value>> = vec![None; columns.list.len()];
        for (&place, (_, v)) in places.iter().zip(&fields) {
            cells[place] = Some(v);
        }
        // The object's key leads; a field of the same name (Rubin's diaObjectId) fills it
        // where it has a value.
        if matches!(cells[0], None | Some(Value::Null)) {
            cells[0] = Some(&key);
        }
        let typed = cells
            .iter()
            .zip(&columns.list)
            .map(|(v, c)| columns::cell(*v, c))
            .collect::<Result<Vec<_>, _>>()?;
        table.row(&typed)
    }
}
