//! Reading a catalogue described by a TOML [`Description`] into [`CatalogueRow`]s.
//!
//! Each format module (`csv`, `fixed`, `parquet`, `fits`) turns its file into a header (column names)
//! and rows of [`Cell`]s; [`RowBuilder`] maps the described columns onto them, parses
//! positions and numbers, applies the type filter, and records every bad row with its line
//! or row number in the [`LoadReport`]. A malformed *file* (missing column, broken FITS
//! header) is a [`CatalogueError`]; a malformed *row* never is.

pub mod coords;
pub mod csv;
pub mod fits;
pub mod fixed;
pub mod hats;
pub mod parquet;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::description::{AngleUnit, Description, Format};
use crate::{CatalogueError, CatalogueRow};

/// At most this many bad rows are kept with their reasons; all are counted.
pub const MAX_BAD_ROWS_KEPT: usize = 1000;

/// What a load did: rows kept, rows the `[filter]` excluded, and every bad row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub rows_loaded: u64,
    /// Rows that parsed but the description's `[filter]` excluded.
    pub filtered: u64,
    /// All bad rows, including those beyond [`MAX_BAD_ROWS_KEPT`].
    pub bad_row_count: u64,
    /// (number, reason) of the first [`MAX_BAD_ROWS_KEPT`] bad rows. The number is the
    /// 1-based line in the file for CSV and fixed-width text, the 0-based row index for Parquet and FITS. With
    /// `extra_paths`, reasons for rows of the extra files start with the file name.
    pub bad_rows: Vec<(u64, String)>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// The load carried on a killed one: the input row its checkpoint had reached.
    pub resumed_at: Option<u64>,
}

impl LoadReport {
    fn bad(&mut self, number: u64, reason: String) {
        self.bad_row_count += 1;
        if self.bad_rows.len() < MAX_BAD_ROWS_KEPT {
            self.bad_rows.push((number, reason));
        }
    }
}

/// One line for logs and the CLI: counts, then the first few bad rows.
impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows loaded, {} filtered out, {} bad",
            self.rows_loaded, self.filtered, self.bad_row_count
        )?;
        if let Some(row) = self.resumed_at {
            write!(f, " (resumed at input row {row})")?;
        }
        for (n, why) in self.bad_rows.iter().take(5) {
            write!(f, "; #{n}: {why}")?;
        }
        if self.bad_row_count > 5 {
            write!(f, "; …")?;
        }
        Ok(())
    }
}

/// A catalogue read from its files.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub description: Description,
    /// The description file's text, kept by the store.
    pub description_text: String,
    /// `catalogue` is 0 in every row; the store assigns the real index on cone searches.
    pub rows: Vec<CatalogueRow>,
    pub report: LoadReport,
}

/// One field of a source row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Num(f64),
    /// An integer kept exact: a 64-bit id (Gaia's `source_id`) must not pass through f64.
    Int(i64),
}

impl Cell<'_> {
    /// Text, trimmed; None when null or blank.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Null => None,
            Cell::Text(t) => {
                let t = t.trim();
                (!t.is_empty()).then_some(Cow::Borrowed(t))
            }
            Cell::Num(v) => v.is_finite().then(|| Cow::Owned(v.to_string())),
            Cell::Int(v) => Some(Cow::Owned(v.to_string())),
        }
    }

    /// A finite number; None when null, blank or NaN; Err when text that is not a number.
    fn number(&self) -> Result<Option<f64>, String> {
        match self {
            Cell::Null => Ok(None),
            Cell::Num(v) => Ok(v.is_finite().then_some(*v)),
            Cell::Int(v) => Ok(Some(*v as f64)),
            Cell::Text(t) => {
                let t = t.trim();
                if t.is_empty() || t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("null") {
                    return Ok(None);
                }
                coords::parse_number(t)
                    .map(Some)
                    .ok_or_else(|| format!("not a number: {t:?}"))
            }
        }
    }
}

/// Where a load puts its rows: a `Vec` ([`load`]) or the store's builder.
pub(crate) trait RowOut {
    fn row(&mut self, row: CatalogueRow) -> Result<(), CatalogueError>;
    /// After each input row, with the input rows seen so far (good, filtered and bad).
    fn tick(&mut self, _seen: u64, _report: &LoadReport) -> Result<(), CatalogueError> {
        Ok(())
    }
    /// A reader knows how many rows its file has (Parquet, FITS): for progress.
    fn expect_rows(&mut self, _rows: u64) {}
    /// A text reader's guess at the load's rows, from the share of the file read so far.
    fn estimate_rows(&mut self, _rows: u64) {}
}

impl RowOut for Vec<CatalogueRow> {
    fn row(&mut self, row: CatalogueRow) -> Result<(), CatalogueError> {
        self.push(row);
        Ok(())
    }
}

/// Reads the description at `path` and all its source files into memory. For small
/// catalogues and tests; [`crate::Store::add`] streams instead.
pub fn load_description(path: &Path) -> Result<Loaded, CatalogueError> {
    let text = std::fs::read_to_string(path).map_err(|e| CatalogueError::io(path, e))?;
    let description = parse_description(path, &text)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let (rows, report) = load(&description, base)?;
    Ok(Loaded {
        description,
        description_text: text,
        rows,
        report,
    })
}

/// Parses a description's TOML text (`path` names it in errors).
pub fn parse_description(path: &Path, text: &str) -> Result<Description, CatalogueError> {
    toml::from_str(text).map_err(|e| CatalogueError::Description {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// `${VAR}` and `${VAR:-default}` in a source path, so one description serves wherever the
/// data lives (the shipped descriptions use `${SOLAS_SHARED_DATA:-../../shared/data}`).
/// An unset variable without a default expands to nothing.
pub fn expand_env(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &rest[start + 2..start + len];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push_str(&v),
            _ => out.push_str(default.unwrap_or("")),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Loads the rows of `description` into memory, resolving relative source paths against
/// `base`.
pub fn load(
    description: &Description,
    base: &Path,
) -> Result<(Vec<CatalogueRow>, LoadReport), CatalogueError> {
    let mut rows = Vec::new();
    let (report, _) = load_into(description, base, &mut rows, 0, LoadReport::default())?;
    Ok((rows, report))
}

/// The input files of `description`, in load order (a HATS catalogue's partitions).
pub(crate) fn input_files(
    description: &Description,
    base: &Path,
) -> Result<Vec<PathBuf>, CatalogueError> {
    let src = &description.source;
    let mut files = Vec::new();
    for rel in std::iter::once(&src.path).chain(&src.extra_paths) {
        let path = base.join(expand_env(rel));
        if src.format == Format::Hats {
            files.extend(hats::partitions(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// Streams the rows of `description` into `out`. The first `skip` input rows (good,
/// filtered or bad) are passed over without being counted: a resumed load's `report`
/// already counts them. Returns the report and the input rows seen.
pub(crate) fn load_into(
    description: &Description,
    base: &Path,
    out: &mut dyn RowOut,
    skip: u64,
    mut report: LoadReport,
) -> Result<(LoadReport, u64), CatalogueError> {
    let src = &description.source;
    if src.format != Format::Fixed && !src.fields.is_empty() {
        return Err(CatalogueError::format(
            base.join(&src.path),
            "[source.fields] (byte ranges) is only for format = \"fixed\"",
        ));
    }
    let files = input_files(description, base)?;
    let mut seen = 0u64;
    for (i, path) in files.iter().enumerate() {
        let label = if src.format == Format::Hats {
            format!("{}: ", hats::label(path))
        } else if i == 0 {
            String::new()
        } else {
            format!(
                "{}: ",
                path.file_name().unwrap_or_default().to_string_lossy()
            )
        };
        let mut sink = Sink {
            description,
            out: &mut *out,
            report: &mut report,
            label,
            map: None,
            path,
            seen: &mut seen,
            skip,
        };
        match src.format {
            Format::Csv => csv::read(path, src, &mut sink)?,
            Format::Fixed => fixed::read(path, src, &mut sink)?,
            Format::Parquet | Format::Hats => parquet::read(path, &mut sink)?,
            Format::Fits => fits::read(path, src.hdu.unwrap_or(1), &mut sink)?,
        }
        report.files.push(path.clone());
    }
    Ok((report, seen))
}

/// Calls `f` with each line of a text file (0-based number, bytes without the line end),
/// reading it in blocks: a catalogue file may be larger than memory. Every 4,096 lines
/// `sink` is told what share of the file has been read, for the progress's ETA.
pub(crate) fn each_line(
    path: &Path,
    sink: &mut Sink,
    mut f: impl FnMut(&mut Sink, u64, &[u8]) -> Result<(), CatalogueError>,
) -> Result<(), CatalogueError> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| CatalogueError::io(path, e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut read = 0u64;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut no = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CatalogueError::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        read += n as u64;
        let mut l = line.strip_suffix(b"\n").unwrap_or(&line);
        l = l.strip_suffix(b"\r").unwrap_or(l);
        f(sink, no, l)?;
        no += 1;
        if no.is_multiple_of(4_096) && read > 0 && size > 0 {
            sink.estimate_total(read as f64 / size as f64);
        }
    }
}

/// Where format readers put what they read: first the header, then rows.
pub(crate) struct Sink<'a> {
    description: &'a Description,
    out: &'a mut dyn RowOut,
    report: &'a mut LoadReport,
    label: String,
    map: Option<RowBuilder>,
    path: &'a Path,
    /// Input rows seen over every file of the load.
    seen: &'a mut u64,
    skip: u64,
}

impl Sink<'_> {
    /// Column names; fails if a described column is missing. Returns which column indices
    /// the description uses, so readers may skip decoding the others.
    pub(crate) fn header(&mut self, names: &[String]) -> Result<Vec<usize>, CatalogueError> {
        let map = RowBuilder::new(self.description, names, self.path)?;
        let used = map.used();
        self.map = Some(map);
        Ok(used)
    }

    pub(crate) fn expect_rows(&mut self, rows: u64) {
        self.out.expect_rows(rows);
    }

    /// `fraction` of the current file has been read: the rows seen so far, scaled.
    fn estimate_total(&mut self, fraction: f64) {
        if fraction > 0.0 {
            self.out
                .estimate_rows((*self.seen as f64 / fraction.min(1.0)) as u64);
        }
    }

    /// Counts one input row; false while a resumed load is still passing over old ones.
    fn count(&mut self) -> bool {
        *self.seen += 1;
        *self.seen > self.skip
    }

    /// One data row. `number` is the line (CSV, fixed-width) or row index (others) for the report;
    /// `index` the 0-based data row index (the `@row` id).
    pub(crate) fn row(
        &mut self,
        number: u64,
        index: u64,
        cells: &[Cell],
    ) -> Result<(), CatalogueError> {
        if !self.count() {
            return Ok(());
        }
        let Some(map) = &self.map else { return Ok(()) };
        match map.build(self.description, index, cells) {
            Ok(Some(row)) => {
                self.out.row(row)?;
                self.report.rows_loaded += 1;
            }
            Ok(None) => self.report.filtered += 1,
            Err(reason) => self.report.bad(number, format!("{}{reason}", self.label)),
        }
        self.out.tick(*self.seen, self.report)
    }

    /// A row the reader itself could not split into cells (e.g. an unterminated quote).
    pub(crate) fn bad(&mut self, number: u64, reason: String) -> Result<(), CatalogueError> {
        if !self.count() {
            return Ok(());
        }
        self.report.bad(number, format!("{}{reason}", self.label));
        self.out.tick(*self.seen, self.report)
    }
}

/// Column indices of the described fields in one file's header.
struct RowBuilder {
    ra: usize,
    dec: usize,
    /// None: the `@row` id.
    id: Option<usize>,
    object_type: Option<usize>,
    mags: Vec<(usize, Option<usize>)>,
    z: Option<usize>,
    photoz: Option<usize>,
    photoz_err: Option<usize>,
    distance: Option<usize>,
    smaj: Option<usize>,
    pm_ra: Option<usize>,
    pm_dec: Option<usize>,
    parallax: Option<usize>,
}

impl RowBuilder {
    fn new(d: &Description, names: &[String], path: &Path) -> Result<Self, CatalogueError> {
        let find = |column: &str| -> Result<usize, CatalogueError> {
            let want = column.trim();
            names.iter().position(|n| n.trim() == want).ok_or_else(|| {
                CatalogueError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                    available: names
                        .iter()
                        .map(|n| n.trim())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })
        };
        let opt = |c: &Option<String>| c.as_deref().map(find).transpose();
        let c = &d.columns;
        if c.pm_ra.is_some() != c.pm_dec.is_some() || (c.pm_ra.is_some() && c.epoch.is_none()) {
            return Err(CatalogueError::format(
                path,
                "proper motions need pm_ra, pm_dec and the epoch of the positions (e.g. epoch = 2016.0)",
            ));
        }
        Ok(RowBuilder {
            ra: find(&c.ra)?,
            dec: find(&c.dec)?,
            id: if c.id == "@row" {
                None
            } else {
                Some(find(&c.id)?)
            },
            object_type: opt(&c.object_type)?,
            mags: c
                .mags
                .iter()
                .map(|m| Ok((find(&m.column)?, opt(&m.error)?)))
                .collect::<Result<_, CatalogueError>>()?,
            z: opt(&c.z)?,
            photoz: opt(&c.photoz)?,
            photoz_err: opt(&c.photoz_err)?,
            distance: opt(&c.distance_mpc)?,
            smaj: opt(&c.semi_major_axis)?,
            pm_ra: opt(&c.pm_ra)?,
            pm_dec: opt(&c.pm_dec)?,
            parallax: opt(&c.parallax)?,
        })
    }

    fn used(&self) -> Vec<usize> {
        let mut v = vec![self.ra, self.dec];
        v.extend(self.id);
        v.extend(
            self.mags
                .iter()
                .flat_map(|&(m, e)| std::iter::once(m).chain(e)),
        );
        for c in [
            self.object_type,
            self.z,
            self.photoz,
            self.photoz_err,
            self.distance,
            self.smaj,
            self.pm_ra,
            self.pm_dec,
            self.parallax,
        ] {
            v.extend(c);
        }
        v
    }

    /// Ok(None) when the filter excludes the row; Err(reason) when it is bad.
    fn build(
        &self,
        d: &Description,
        index: u64,
        cells: &[Cell],
    ) -> Result<Option<CatalogueRow>, String> {
        let cell = |i: usize| cells.get(i).unwrap_or(&Cell::Null);
        let object_type = self
            .object_type
            .and_then(|i| cell(i).text().map(|t| t.into_owned()));
        if let Some(f) = &d.filter {
            if !f.keeps(object_type.as_deref()) {
                return Ok(None);
            }
        }
        let ra = match cell(self.ra) {
            Cell::Num(v) => coords::ra_from_number(*v, d.columns.ra_unit),
            Cell::Int(v) => coords::ra_from_number(*v as f64, d.columns.ra_unit),
            c => coords::parse_ra(&c.text().unwrap_or_default(), d.columns.ra_unit),
        }
        .map_err(|e| e.to_string())?;
        let dec = match cell(self.dec) {
            Cell::Num(v) => coords::dec_from_number(*v),
            Cell::Int(v) => coords::dec_from_number(*v as f64),
            c => coords::parse_dec(&c.text().unwrap_or_default()),
        }
        .map_err(|e| e.to_string())?;
        let id = match self.id {
            None => index.to_string(),
            Some(i) => cell(i).text().ok_or("missing id")?.into_owned(),
        };
        let num = |col: Option<usize>, what: &str| -> Result<Option<f64>, String> {
            col.map(|i| cell(i).number().map_err(|e| format!("{what}: {e}")))
                .transpose()
                .map(Option::flatten)
        };
        let mut row = CatalogueRow {
            catalogue: 0,
            id,
            ra,
            dec,
            object_type,
            mag: None,
            mag_filter: None,
            mag_err: None,
            z: num(self.z, "z")?,
            photoz: num(self.photoz, "photoz")?,
            photoz_err: num(self.photoz_err, "photoz_err")?,
            distance_mpc: num(self.distance, "distance")?,
            semi_major_axis_arcsec: None,
            pm_ra_mas_yr: num(self.pm_ra, "pm_ra")?,
            pm_dec_mas_yr: num(self.pm_dec, "pm_dec")?,
            parallax_mas: num(self.parallax, "parallax")?,
        };
        for (k, &(m, e)) in self.mags.iter().enumerate() {
            if let Some(mag) = num(Some(m), "mag")? {
                row.mag = Some(mag);
                row.mag_filter = Some(d.columns.mags[k].filter.clone());
                row.mag_err = num(e, "mag error")?;
                break;
            }
        }
        if let Some(a) = num(self.smaj, "semi-major axis")? {
            let scale = match d.columns.semi_major_axis_unit {
                AngleUnit::Arcsec => 1.0,
                AngleUnit::Arcmin => 60.0,
                AngleUnit::Deg => 3600.0,
            };
            let half = if d.columns.semi_major_axis_is_diameter {
                0.5
            } else {
                1.0
            };
            row.semi_major_axis_arcsec = Some(a * scale * half);
        }
        Ok(Some(row))
    }
}

#[cfg(test)]
mod env_tests {
    use super::expand_env;

    #[test]
    fn expands_variables_with_defaults() {
        std::env::set_var("SOLAS_TEST_EXPAND", "/data");
        assert_eq!(expand_env("${SOLAS_TEST_EXPAND}/x.csv"), "/data/x.csv");
        assert_eq!(
            expand_env("${SOLAS_TEST_UNSET_VAR:-../d}/x.csv"),
            "../d/x.csv"
        );
        assert_eq!(
            expand_env("${SOLAS_TEST_EXPAND:-../d}/x.csv"),
            "/data/x.csv"
        );
        assert_eq!(expand_env("plain/x.csv"), "plain/x.csv");
        assert_eq!(expand_env("${unterminated"), "${unterminated");
    }
}
