//! The HEALPix-indexed on-disk catalogue store and its cone search.
//!
//! A store is a directory: `catalogues.txt` lists catalogue names in index order, and each
//! catalogue has its own sub-directory with `description.toml` (as given to [`Store::add`]),
//! `manifest.toml` (row count, index depth, load time) and the three files described in
//! [`format`], written by [`build`] from a stream of rows in bounded memory. Opening a store memory-maps those files; nothing is read until a cone search
//! touches its cells, so opening costs the same for 10 rows or 10⁹.
//!
//! Files are never modified in place: `add` writes a new directory and renames it over the
//! old one. That is what makes the memory maps sound (a replaced file stays mapped, intact,
//! until its `Store` drops it). One process should write a store at a time.

mod build;
mod footprint;
mod format;

use std::f64::consts::PI;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cdshealpix::compass_point::MainWind;
use memmap2::Mmap;
use serde::Deserialize;

use crate::load::{self, LoadReport, RowOut};
use crate::sky::separation_arcsec;
use crate::{CatalogueError, CatalogueRow, Description};
use build::Builder;
pub use build::{Limits, Progress};
pub use footprint::{changed_cells, Footprint, FOOTPRINT_DEPTH};
use format::{f64_at, u64_at, CELL_BYTES, POS_BYTES};

const LIST: &str = "catalogues.txt";
const FORMAT_VERSION: u32 = 2;

/// How [`Store::add_with`] loads: its memory and checkpoint limits, and where progress goes.
pub struct AddOptions {
    pub limits: Limits,
    /// Called every few seconds during a load.
    pub progress: Box<dyn FnMut(&Progress) + Send>,
}

impl Default for AddOptions {
    fn default() -> Self {
        AddOptions {
            limits: Limits::default(),
            progress: Box::new(|_| {}),
        }
    }
}

/// Catalogues on disk, searchable by cone.
pub struct Store {
    dir: PathBuf,
    descriptions: Vec<Description>,
    tables: Vec<Table>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    format: u32,
    rows: u64,
    depth: u8,
    loaded_unix_ns: i64,
    /// Movers' table only: the fastest proper motion in it.
    #[serde(default)]
    max_pm_mas_yr: Option<f64>,
}

/// Rows whose proper motion is faster than this (mas/yr) are also kept in the catalogue's
/// `movers/` table, searched with their own margin.
pub const MOVER_MAS_YR: f64 = 100.0;

/// Total proper motion of a row, mas/yr (0 without one).
pub(crate) fn total_pm(row: &CatalogueRow) -> f64 {
    match (row.pm_ra_mas_yr, row.pm_dec_mas_yr) {
        (Some(a), Some(d)) => a.hypot(d),
        (Some(v), None) | (None, Some(v)) => v.abs(),
        (None, None) => 0.0,
    }
}

fn is_mover(row: &CatalogueRow) -> bool {
    total_pm(row) > MOVER_MAS_YR
}

/// Moves a row by its proper motion over `dt` Julian years, along the great circle its
/// motion starts on (unit vector plus the motion in the local east and north directions,
/// normalised: right at the poles too, where RA and Dec rates are not).
fn move_to(row: &mut CatalogueRow, dt: f64) {
    let (mu_a, mu_d) = (
        row.pm_ra_mas_yr.unwrap_or(0.0),
        row.pm_dec_mas_yr.unwrap_or(0.0),
    );
    if mu_a == 0.0 && mu_d == 0.0 {
        return;
    }
    let mas = std::f64::consts::PI / (180.0 * 3_600_000.0);
    let (sa, ca) = row.ra.to_radians().sin_cos();
    let (sd, cd) = row.dec.to_radians().sin_cos();
    let p = [cd * ca, cd * sa, sd];
    let east = [-sa, ca, 0.0];
    let north = [-sd * ca, -sd * sa, cd];
    let (a, d) = (mu_a * mas * dt, mu_d * mas * dt);
    let v: Vec<f64> = (0..3).map(|i| p[i] + a * east[i] + d * north[i]).collect();
    let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    row.ra = v[1].atan2(v[0]).to_degrees().rem_euclid(360.0);
    row.dec = (v[2] / norm).clamp(-1.0, 1.0).asin().to_degrees();
}

/// One opened catalogue: its maps and what the cone search needs to read them.
struct Table {
    name: String,
    manifest: Manifest,
    pos: Option<Mmap>,
    attrs: Option<Mmap>,
    cells: Option<Mmap>,
    mag_filters: Vec<String>,
    /// Below this radius (rad) a cone lies inside its centre cell and the 8 neighbours.
    safe_radius: f64,
    /// The positions' epoch (Julian year), for catalogues with proper motions.
    epoch: Option<f64>,
    /// The rows moving faster than [`MOVER_MAS_YR`], indexed again on their own.
    movers: Option<Box<Table>>,
}

impl Store {
    /// Opens the store in `dir`, creating an empty one if the directory does not exist.
    pub fn open(dir: &Path) -> Result<Store, CatalogueError> {
        fs::create_dir_all(dir).map_err(|e| CatalogueError::io(dir, e))?;
        let list = dir.join(LIST);
        let names = match fs::read_to_string(&list) {
            Ok(text) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(CatalogueError::io(&list, e)),
        };
        let mut store = Store {
            dir: dir.to_path_buf(),
            descriptions: Vec::new(),
            tables: Vec::new(),
        };
        for name in names {
            let (d, t) = open_table(&dir.join(&name), &name)?;
            store.descriptions.push(d);
            store.tables.push(t);
        }
        Ok(store)
    }

    /// Loads the catalogue described by `description_toml`, indexes and persists it,
    /// replacing a catalogue of the same name (which keeps its index).
    pub fn add(&mut self, description_toml: &Path) -> Result<LoadReport, CatalogueError> {
        self.add_with(description_toml, AddOptions::default())
    }

    /// [`Store::add`], streaming: rows go through an external sort on disk ([`build`]), so
    /// memory stays bounded whatever the catalogue's size. A load that was killed resumes
    /// from its last checkpoint when run again with the same description and input files
    /// (its work is in `<store>/.build-<name>`). Until the new files are complete the
    /// catalogue's previous version stays in service, in this store and any other open one.
    pub fn add_with(
        &mut self,
        description_toml: &Path,
        options: AddOptions,
    ) -> Result<LoadReport, CatalogueError> {
        let text = fs::read_to_string(description_toml)
            .map_err(|e| CatalogueError::io(description_toml, e))?;
        let description = load::parse_description(description_toml, &text)?;
        let base = description_toml.parent().unwrap_or(Path::new("."));
        let files = load::input_files(&description, base)?;
        let fingerprint = fingerprint(&text, &files)?;
        self.build(
            &text,
            &description,
            &fingerprint,
            options,
            |builder, resume| {
                let (mut report, seen) = if resume.partitioned {
                    (resume.report, resume.seen)
                } else {
                    load::load_into(&description, base, builder, resume.seen, resume.report)?
                };
                report.files = files;
                Ok((report, seen))
            },
        )
    }

    /// Loads a catalogue from rows a program makes (a generated catalogue for benchmarks,
    /// rows converted from another store). `description` is the catalogue's TOML text (its
    /// `[source]` is kept but not read); `rows(k)` must give the same rows every time it
    /// is called, from the k-th on, so that a killed load can resume.
    pub fn add_rows<I: Iterator<Item = CatalogueRow>>(
        &mut self,
        description: &str,
        rows: impl FnOnce(u64) -> I,
        options: AddOptions,
    ) -> Result<LoadReport, CatalogueError> {
        let parsed = load::parse_description(Path::new("(rows)"), description)?;
        let fingerprint = fingerprint(description, &[])?;
        self.build(
            description,
            &parsed,
            &fingerprint,
            options,
            |builder, resume| {
                let mut report = resume.report;
                let mut seen = resume.seen;
                if !resume.partitioned {
                    for row in rows(seen) {
                        seen += 1;
                        builder.push(&row)?;
                        report.rows_loaded += 1;
                        builder.tick(seen, &report)?;
                    }
                }
                Ok((report, seen))
            },
        )
    }

    /// Builds a catalogue's files in `<store>/.build-<name>` with the rows `feed` gives
    /// the builder, then puts them in place of the catalogue's previous version.
    fn build(
        &mut self,
        text: &str,
        description: &Description,
        fingerprint: &str,
        options: AddOptions,
        feed: impl FnOnce(&mut Builder, build::Resume) -> Result<(LoadReport, u64), CatalogueError>,
    ) -> Result<LoadReport, CatalogueError> {
        let name = description.name.clone();
        check_name(&name)?;
        let tmp = self.dir.join(format!(".build-{name}"));
        let filters = description
            .columns
            .mags
            .iter()
            .map(|m| m.filter.clone())
            .collect();
        let (mut builder, resume) =
            Builder::open(&tmp, fingerprint, filters, options.limits, options.progress)?;
        let result = feed(&mut builder, resume).and_then(|(report, seen)| {
            let depth = builder.finish(seen, &report, index_depth)?;
            let nanos = now_ns();
            let manifest = format!(
                "format = {FORMAT_VERSION}\nrows = {}\ndepth = {depth}\nloaded_unix_ns = {nanos}\nfiltered = {}\nbad_rows = {}\n",
                report.rows_loaded, report.filtered, report.bad_row_count
            );
            write_file(&tmp.join("description.toml"), text.as_bytes())?;
            write_file(&tmp.join("manifest.toml"), manifest.as_bytes())?;
            Ok((report, nanos))
        });
        let (report, nanos) = match result {
            Ok(r) => r,
            Err(e) => {
                // Bad input will be bad again: nothing to resume. An I/O failure (a full
                // disk) keeps the work done so far for the next attempt.
                if !matches!(e, CatalogueError::Io { .. }) {
                    let _ = fs::remove_dir_all(&tmp);
                }
                return Err(e);
            }
        };
        let dest = self.dir.join(&name);
        if dest.exists() {
            // Renaming a directory over a non-empty one fails, so move the old one aside.
            let old = self.dir.join(format!(".old-{name}-{nanos}"));
            fs::rename(&dest, &old).map_err(|e| CatalogueError::io(&dest, e))?;
            fs::rename(&tmp, &dest).map_err(|e| CatalogueError::io(&dest, e))?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&tmp, &dest).map_err(|e| CatalogueError::io(&dest, e))?;
        }
        let (d, t) = open_table(&dest, &name)?;
        match self.tables.iter().position(|t| t.name == name) {
            Some(i) => {
                self.descriptions[i] = d;
                self.tables[i] = t;
            }
            None => {
                self.descriptions.push(d);
                self.tables.push(t);
            }
        }
        self.write_list()?;
        Ok(report)
    }

    /// Removes a catalogue; later catalogues move down one index. False if absent.
    pub fn remove(&mut self, name: &str) -> Result<bool, CatalogueError> {
        let Some(i) = self.tables.iter().position(|t| t.name == name) else {
            return Ok(false);
        };
        self.tables.remove(i);
        self.descriptions.remove(i);
        self.write_list()?;
        let dir = self.dir.join(name);
        fs::remove_dir_all(&dir).map_err(|e| CatalogueError::io(&dir, e))?;
        Ok(true)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// When the list of catalogues last changed: every add, replacement and removal
    /// rewrites it (last), so a reader that sees it change can open the store again and
    /// find the new version complete.
    pub fn list_modified(&self) -> Option<SystemTime> {
        Self::list_modified_in(&self.dir)
    }

    /// [`Store::list_modified`] of the store in `dir`, without opening it.
    pub fn list_modified_in(dir: &Path) -> Option<SystemTime> {
        fs::metadata(dir.join(LIST)).and_then(|m| m.modified()).ok()
    }

    /// The catalogues' descriptions; index `i` is `CatalogueRow::catalogue`.
    pub fn catalogues(&self) -> &[Description] {
        &self.descriptions
    }

    /// Rows stored for catalogue `i` (0 if there is no such catalogue).
    pub fn row_count(&self, catalogue: usize) -> u64 {
        self.tables.get(catalogue).map_or(0, |t| t.manifest.rows)
    }

    /// Changes whenever a catalogue is added, replaced or removed: a hash of the names,
    /// row counts and load times, for invalidating caches of classifications.
    pub fn version(&self) -> String {
        let mut bytes = Vec::new();
        for t in &self.tables {
            bytes.extend_from_slice(t.name.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(&t.manifest.rows.to_le_bytes());
            bytes.extend_from_slice(&t.manifest.loaded_unix_ns.to_le_bytes());
        }
        format!("{:016x}", fnv1a(&bytes))
    }

    /// Appends to `out` the rows of catalogue `catalogue` within `radius_arcsec` of
    /// (`ra_deg`, `dec_deg`), by exact great-circle separation. Bad input (NaN, |Dec| > 90,
    /// negative radius, unknown catalogue) finds nothing.
    pub fn cone(
        &self,
        catalogue: usize,
        ra_deg: f64,
        dec_deg: f64,
        radius_arcsec: f64,
        out: &mut Vec<CatalogueRow>,
    ) {
        if let Some(t) = self.tables.get(catalogue) {
            cone_in(t, catalogue, ra_deg, dec_deg, radius_arcsec, out);
        }
    }

    /// [`Store::cone`] at an epoch (Julian year, e.g. an alert's): rows with proper motions
    /// are moved from the catalogue's epoch to `epoch` before the separation is taken, and
    /// are returned at their moved positions. Catalogues without proper motions, and
    /// `epoch` None, give [`Store::cone`]'s answer.
    ///
    /// Rows moving faster than [`MOVER_MAS_YR`] are also kept apart at build time
    /// (`movers/`), so a cone reads the bulk of the catalogue with a small margin
    /// (100 mas/yr × the epoch difference: 1″ over ten years) and only the few fast movers
    /// with the margin their own speed needs (Barnard's star: 10.4″/yr).
    pub fn cone_at(
        &self,
        catalogue: usize,
        ra_deg: f64,
        dec_deg: f64,
        radius_arcsec: f64,
        epoch: Option<f64>,
        out: &mut Vec<CatalogueRow>,
    ) {
        let Some(t) = self.tables.get(catalogue) else {
            return;
        };
        let dt = match (epoch, t.epoch) {
            (Some(e), Some(c)) if e.is_finite() && e != c => e - c,
            _ => return cone_in(t, catalogue, ra_deg, dec_deg, radius_arcsec, out),
        };
        let mut near = Vec::new();
        let slack = MOVER_MAS_YR * dt.abs() / 1000.0;
        cone_in(
            t,
            catalogue,
            ra_deg,
            dec_deg,
            radius_arcsec + slack,
            &mut near,
        );
        let keep = |mut row: CatalogueRow, out: &mut Vec<CatalogueRow>| {
            move_to(&mut row, dt);
            if separation_arcsec(ra_deg, dec_deg, row.ra, row.dec) <= radius_arcsec {
                out.push(row);
            }
        };
        for row in near.drain(..) {
            if !is_mover(&row) {
                keep(row, out);
            }
        }
        if let Some(m) = &t.movers {
            let slack = m.manifest.max_pm_mas_yr.unwrap_or(0.0) * dt.abs() / 1000.0;
            cone_in(
                m,
                catalogue,
                ra_deg,
                dec_deg,
                radius_arcsec + slack,
                &mut near,
            );
            for row in near {
                keep(row, out);
            }
        }
    }
}

/// Rows of one table within the cone; see [`Store::cone`].
fn cone_in(
    t: &Table,
    catalogue: usize,
    ra_deg: f64,
    dec_deg: f64,
    radius_arcsec: f64,
    out: &mut Vec<CatalogueRow>,
) {
    {
        let (Some(pos), Some(cells), Some(attrs)) = (&t.pos, &t.cells, &t.attrs) else {
            return; // empty catalogue
        };
        if !(ra_deg.is_finite() && (-90.0..=90.0).contains(&dec_deg) && radius_arcsec >= 0.0) {
            return;
        }
        let r = (radius_arcsec / 3600.0).to_radians();
        // Pre-filter by Dec band and RA extent, slightly wider than the cone so rounding
        // never drops a row; the exact separation decides.
        let margin = 1e-9;
        let r_deg = radius_arcsec / 3600.0;
        let extent = r.sin() / dec_deg.to_radians().cos();
        let scan = Scan {
            catalogue,
            ra: ra_deg.rem_euclid(360.0),
            dec: dec_deg,
            radius_arcsec,
            max_ddec: r_deg + margin,
            // The cone's widest RA extent, asin(sin r / cos δ); none where it holds a pole.
            max_dra: (dec_deg.abs() + r_deg < 90.0 && extent < 1.0)
                .then(|| extent.asin().to_degrees() + margin),
            pos,
            cells,
            attrs,
            filters: &t.mag_filters,
        };
        let layer = cdshealpix::nested::get(t.manifest.depth);
        let (lon, lat) = (ra_deg.rem_euclid(360.0).to_radians(), dec_deg.to_radians());
        // In deep indexes a small cone touches one to four cells of the nine around its
        // centre, and dense cells hold hundreds of rows: the exact coverage pays there.
        if r <= t.safe_radius && t.manifest.depth < 11 {
            let around = layer.neighbours(layer.hash(lon, lat), true);
            for i in 0..9 {
                if let Some(&c) = around.get(MainWind::from_index(i)) {
                    scan.cell(c, out);
                }
            }
        } else if r < 1.0 {
            for c in layer.cone_coverage_approx(lon, lat, r).flat_iter() {
                scan.cell(c, out);
            }
        } else {
            // A cone over a radian wide covers much of the sky: just read everything.
            scan.range(0, t.manifest.rows as usize, 0, out);
        }
    }
}

impl Store {
    fn write_list(&self) -> Result<(), CatalogueError> {
        let text: String = self
            .tables
            .iter()
            .map(|t| format!("{}\n", t.name))
            .collect();
        write_atomic(&self.dir.join(LIST), text.as_bytes())
    }
}

struct Scan<'a> {
    catalogue: usize,
    ra: f64,
    dec: f64,
    radius_arcsec: f64,
    max_ddec: f64,
    max_dra: Option<f64>,
    pos: &'a [u8],
    cells: &'a [u8],
    attrs: &'a [u8],
    filters: &'a [String],
}

impl Scan<'_> {
    fn cell(&self, c: u64, out: &mut Vec<CatalogueRow>) {
        let at = c as usize * CELL_BYTES;
        if at + 2 * CELL_BYTES > self.cells.len() {
            return;
        }
        self.range(
            u64_at(self.cells, at) as usize,
            u64_at(self.cells, at + CELL_BYTES) as usize,
            u64_at(self.cells, at + 8) as usize,
            out,
        );
    }

    /// Rows `start..end`, whose attributes begin at byte `attrs_at`.
    fn range(&self, start: usize, end: usize, attrs_at: usize, out: &mut Vec<CatalogueRow>) {
        // A corrupt index must not panic: out-of-range cells read nothing.
        let Some(block) = self
            .pos
            .get(start.saturating_mul(POS_BYTES)..end.saturating_mul(POS_BYTES))
        else {
            return;
        };
        // Positions first; a row's attributes are read only when it is in the cone, so a
        // cone that finds nothing never touches attrs.bin.
        let mut hits: Vec<(usize, f64, f64)> = Vec::new();
        for (k, rec) in block.chunks_exact(POS_BYTES).enumerate() {
            let dec = f64_at(rec, 8);
            if (dec - self.dec).abs() > self.max_ddec {
                continue;
            }
            let ra = f64_at(rec, 0);
            if let Some(max) = self.max_dra {
                let d = (ra - self.ra).rem_euclid(360.0);
                if d.min(360.0 - d) > max {
                    continue;
                }
            }
            if separation_arcsec(self.ra, self.dec, ra, dec) <= self.radius_arcsec {
                hits.push((k, ra, dec));
            }
        }
        let mut p = attrs_at;
        let mut next = 0;
        for (k, ra, dec) in hits {
            while next < k {
                if format::skip_attrs(self.attrs, &mut p).is_none() {
                    return;
                }
                next += 1;
            }
            let mut row = CatalogueRow {
                catalogue: self.catalogue,
                ..CatalogueRow::at(ra, dec)
            };
            if format::get_attrs(self.attrs, &mut p, self.filters, &mut row).is_none() {
                return;
            }
            next += 1;
            out.push(row);
        }
    }
}

/// Changes when the description or any input file does (size or modification time): a
/// build's checkpoint is only resumed for the same inputs.
fn fingerprint(description: &str, files: &[PathBuf]) -> Result<String, CatalogueError> {
    let mut text = String::from(description);
    for f in files {
        let m = fs::metadata(f).map_err(|e| CatalogueError::io(f, e))?;
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        text.push_str(&format!("\n{} {} {mtime}", f.display(), m.len()));
    }
    Ok(format!("{:016x}", fnv1a(text.as_bytes())))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    // FNV-1a: stable across processes and Rust versions, unlike DefaultHasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The loader's rows go straight to the build.
impl RowOut for Builder {
    fn row(&mut self, row: CatalogueRow) -> Result<(), CatalogueError> {
        self.push(&row)
    }

    fn tick(&mut self, seen: u64, report: &LoadReport) -> Result<(), CatalogueError> {
        Builder::tick(self, seen, report)
    }

    fn expect_rows(&mut self, rows: u64) {
        Builder::expect_rows(self, rows)
    }

    fn estimate_rows(&mut self, rows: u64) {
        Builder::estimate_rows(self, rows)
    }
}

/// HEALPix depth of a catalogue's index: about 8 rows per cell on average, so a small cone
/// reads a few dozen rows; at least depth 4 (3.7° cells) so the 9-cell shortcut serves
/// every radius the classifier uses (≤ 0.9°), at most depth 12 (52″ cells; an index of
/// 3.2 GB, 3 bytes a row at 10⁹ rows). At depth 10 a 10⁹-row catalogue put ~5,000 rows in
/// each cell of the Galactic bulge and a 2″ cone read 9 of them (p99 5 ms, cached).
fn index_depth(rows: u64) -> u8 {
    let mut d = 4;
    while d < 12 && 12 * 4u64.pow(d as u32) * 8 < rows {
        d += 1;
    }
    d
}

/// A quarter of the mean cell size at `depth`. A circle that small around a point of a
/// cell stays within that cell and its neighbours (checked by the brute-force tests,
/// including poles and base-cell corners).
fn safe_radius(depth: u8) -> f64 {
    let cells = 12.0 * 4f64.powi(depth as i32);
    (4.0 * PI / cells).sqrt() / 4.0
}

fn open_table(dir: &Path, name: &str) -> Result<(Description, Table), CatalogueError> {
    let desc_path = dir.join("description.toml");
    let text = fs::read_to_string(&desc_path).map_err(|e| CatalogueError::io(&desc_path, e))?;
    let description = load::parse_description(&desc_path, &text)?;
    let mut table = open_table_files(dir, name, &description)?;
    let movers_dir = dir.join(build::MOVERS);
    if movers_dir.join("manifest.toml").exists() {
        let movers = open_table_files(&movers_dir, name, &description)?;
        table.movers = Some(Box::new(movers));
    }
    Ok((description, table))
}

/// The manifest and the three mapped files of one table (a catalogue's or its movers').
fn open_table_files(
    dir: &Path,
    name: &str,
    description: &Description,
) -> Result<Table, CatalogueError> {
    let manifest_path = dir.join("manifest.toml");
    let text =
        fs::read_to_string(&manifest_path).map_err(|e| CatalogueError::io(&manifest_path, e))?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| CatalogueError::Description {
        path: manifest_path.clone(),
        source: Box::new(e),
    })?;
    let bad = |message: String| CatalogueError::Store {
        path: dir.to_path_buf(),
        message,
    };
    if manifest.format == 1 {
        return Err(bad(format!(
            "written by an older Solas (store format 1): load it again with `solas catalogue add` on {}",
            dir.join("description.toml").display()
        )));
    }
    if manifest.format != FORMAT_VERSION || manifest.depth > 20 {
        return Err(bad(format!(
            "unsupported format {} / depth {}",
            manifest.format, manifest.depth
        )));
    }
    let pos = map(&dir.join("pos.bin"))?;
    let attrs = map(&dir.join("attrs.bin"))?;
    let cells = map(&dir.join("cells.bin"))?;
    let len = |m: &Option<Mmap>| m.as_ref().map_or(0, |m| m.len());
    if len(&pos) as u64 != manifest.rows * POS_BYTES as u64 {
        return Err(bad(format!(
            "pos.bin has {} bytes for {} rows",
            len(&pos),
            manifest.rows
        )));
    }
    let n_cells = cdshealpix::nested::n_hash(manifest.depth);
    if manifest.rows > 0 && len(&cells) as u64 != (n_cells + 1) * CELL_BYTES as u64 {
        return Err(bad(format!(
            "cells.bin has {} bytes for depth {}",
            len(&cells),
            manifest.depth
        )));
    }
    let mag_filters = description
        .columns
        .mags
        .iter()
        .map(|m| m.filter.clone())
        .collect();
    let safe = safe_radius(manifest.depth);
    Ok(Table {
        name: name.to_string(),
        manifest,
        pos,
        attrs,
        cells,
        mag_filters,
        safe_radius: safe,
        epoch: description.columns.epoch,
        movers: None,
    })
}

/// Maps a file read-only; None when it is empty (an empty map is not portable).
fn map(path: &Path) -> Result<Option<Mmap>, CatalogueError> {
    let file = File::open(path).map_err(|e| CatalogueError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| CatalogueError::io(path, e))?
        .len();
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: store files are written once into a fresh directory and then only renamed
    // or deleted, never modified in place, so the mapped bytes cannot change under us.
    let m = unsafe { Mmap::map(&file) }.map_err(|e| CatalogueError::io(path, e))?;
    if len > BIG_FILE {
        // Cones touch a few pages here and there: the kernel's read-around of 128 KiB per
        // fault would read 32 times what a cone needs and push out the pages that matter.
        // Best effort: a kernel that refuses the advice still reads correctly.
        let _ = m.advise(memmap2::Advice::Random);
    }
    Ok(Some(m))
}

/// Files larger than this are read at random by cones (see [`map`]).
const BIG_FILE: u64 = 256 << 20;

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CatalogueError> {
    let mut f = File::create(path).map_err(|e| CatalogueError::io(path, e))?;
    f.write_all(bytes)
        .map_err(|e| CatalogueError::io(path, e))?;
    f.sync_all().map_err(|e| CatalogueError::io(path, e))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CatalogueError> {
    let tmp = path.with_extension("tmp");
    write_file(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|e| CatalogueError::io(path, e))
}

fn check_name(name: &str) -> Result<(), CatalogueError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name != LIST
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CatalogueError::BadName(name.to_string()))
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths() {
        assert_eq!(index_depth(0), 4);
        assert_eq!(index_depth(60_000), 5);
        assert_eq!(index_depth(1_000_000_000), 12);
    }
}
