//! The HEALPix-indexed on-disk catalogue store and its cone search.
//!
//! A store is a directory: `catalogues.txt` lists catalogue names in index order, and each
//! catalogue has its own sub-directory with `description.toml` (as given to [`Store::add`]),
//! `manifest.toml` (row count, index depth, load time) and the three files described in
//! [`format`]. Opening a store memory-maps those files; nothing is read until a cone search
//! touches its cells, so opening costs the same for 10 rows or 10⁹.
//!
//! Files are never modified in place: `add` writes a new directory and renames it over the
//! old one. That is what makes the memory maps sound (a replaced file stays mapped, intact,
//! until its `Store` drops it). One process should write a store at a time.

mod format;

use std::f64::consts::PI;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cdshealpix::compass_point::MainWind;
use memmap2::Mmap;
use serde::Deserialize;

use crate::load::{self, LoadReport};
use crate::sky::{separation_arcsec, unit_vector};
use crate::{CatalogueError, CatalogueRow, Description};
use format::{f64_at, u64_at, ROW_BYTES};

const LIST: &str = "catalogues.txt";
const FORMAT_VERSION: u32 = 1;

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
}

/// One opened catalogue: its maps and what the cone search needs to read them.
struct Table {
    name: String,
    manifest: Manifest,
    rows: Option<Mmap>,
    attrs: Option<Mmap>,
    cells: Option<Mmap>,
    mag_filters: Vec<String>,
    /// Below this radius (rad) a cone lies inside its centre cell and the 8 neighbours.
    safe_radius: f64,
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
        let loaded = load::load_description(description_toml)?;
        let name = loaded.description.name.clone();
        check_name(&name)?;
        let nanos = now_ns();
        let tmp = self
            .dir
            .join(format!(".tmp-{name}-{}-{nanos}", std::process::id()));
        let result = write_table(&tmp, &loaded, nanos);
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
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
        Ok(loaded.report)
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
        // FNV-1a: stable across processes and Rust versions, unlike DefaultHasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for t in &self.tables {
            eat(t.name.as_bytes());
            eat(&[0]);
            eat(&t.manifest.rows.to_le_bytes());
            eat(&t.manifest.loaded_unix_ns.to_le_bytes());
        }
        format!("{h:016x}")
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
        let Some(t) = self.tables.get(catalogue) else {
            return;
        };
        let (Some(rows), Some(cells), Some(attrs)) = (&t.rows, &t.cells, &t.attrs) else {
            return; // empty catalogue
        };
        if !(ra_deg.is_finite() && (-90.0..=90.0).contains(&dec_deg) && radius_arcsec >= 0.0) {
            return;
        }
        let r = (radius_arcsec / 3600.0).to_radians();
        let scan = Scan {
            catalogue,
            ra: ra_deg,
            dec: dec_deg,
            radius_arcsec,
            q: unit_vector(ra_deg, dec_deg),
            // Pre-filter slightly wider than the cone so rounding never drops a row; the
            // exact separation decides.
            cos_r: (r + 1e-9).min(PI).cos(),
            rows,
            cells,
            attrs,
            filters: &t.mag_filters,
        };
        let layer = cdshealpix::nested::get(t.manifest.depth);
        let (lon, lat) = (ra_deg.rem_euclid(360.0).to_radians(), dec_deg.to_radians());
        if r <= t.safe_radius {
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
            scan.range(0, t.manifest.rows as usize, out);
        }
    }

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
    q: [f64; 3],
    cos_r: f64,
    rows: &'a [u8],
    cells: &'a [u8],
    attrs: &'a [u8],
    filters: &'a [String],
}

impl Scan<'_> {
    fn cell(&self, c: u64, out: &mut Vec<CatalogueRow>) {
        let at = c as usize * 8;
        if at + 16 > self.cells.len() {
            return;
        }
        self.range(
            u64_at(self.cells, at) as usize,
            u64_at(self.cells, at + 8) as usize,
            out,
        );
    }

    fn range(&self, start: usize, end: usize, out: &mut Vec<CatalogueRow>) {
        // A corrupt index must not panic: out-of-range cells read nothing.
        let Some(block) = self
            .rows
            .get(start * ROW_BYTES..end.saturating_mul(ROW_BYTES))
        else {
            return;
        };
        for rec in block.chunks_exact(ROW_BYTES) {
            let dot = self.q[0] * f64_at(rec, 0)
                + self.q[1] * f64_at(rec, 8)
                + self.q[2] * f64_at(rec, 16);
            if dot < self.cos_r {
                continue;
            }
            let (ra, dec) = (f64_at(rec, 24), f64_at(rec, 32));
            if separation_arcsec(self.ra, self.dec, ra, dec) > self.radius_arcsec {
                continue;
            }
            let mut row = CatalogueRow {
                catalogue: self.catalogue,
                id: String::new(),
                ra,
                dec,
                object_type: None,
                mag: None,
                mag_filter: None,
                mag_err: None,
                z: None,
                photoz: None,
                photoz_err: None,
                distance_mpc: None,
                semi_major_axis_arcsec: None,
            };
            if format::get_attrs(self.attrs, u64_at(rec, 40) as usize, self.filters, &mut row)
                .is_some()
            {
                out.push(row);
            }
        }
    }
}

/// HEALPix depth of a catalogue's index: about 8 rows per cell on average, so a small cone
/// reads a few dozen rows; at least depth 4 (3.7° cells) so the 9-cell shortcut serves
/// every radius the classifier uses (≤ 0.9°), at most depth 10 (dense index of 100 MB).
fn index_depth(rows: u64) -> u8 {
    let mut d = 4;
    while d < 10 && 12 * 4u64.pow(d as u32) * 8 < rows {
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

fn write_table(tmp: &Path, loaded: &load::Loaded, nanos: i64) -> Result<(), CatalogueError> {
    fs::create_dir_all(tmp).map_err(|e| CatalogueError::io(tmp, e))?;
    let rows = &loaded.rows;
    let depth = index_depth(rows.len() as u64);
    let layer = cdshealpix::nested::get(depth);
    let mut keyed: Vec<(u64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (layer.hash(r.ra.to_radians(), r.dec.to_radians()), i))
        .collect();
    keyed.sort_unstable();

    let filters = &loaded.description.columns.mags;
    let mut row_bytes = Vec::with_capacity(rows.len() * ROW_BYTES);
    let mut attr_bytes = Vec::new();
    let mut cells = vec![0u64; layer.n_hash() as usize + 1];
    for &(cell, i) in &keyed {
        let r = &rows[i];
        cells[cell as usize + 1] += 1;
        format::put_row(
            &mut row_bytes,
            unit_vector(r.ra, r.dec),
            r.ra,
            r.dec,
            attr_bytes.len() as u64,
        );
        let filter = r
            .mag_filter
            .as_ref()
            .and_then(|f| filters.iter().position(|m| &m.filter == f));
        format::put_attrs(&mut attr_bytes, r, filter.map(|k| k.min(254) as u8));
    }
    for c in 1..cells.len() {
        cells[c] += cells[c - 1];
    }
    let cell_bytes: Vec<u8> = cells.iter().flat_map(|c| c.to_le_bytes()).collect();
    let manifest = format!(
        "format = {FORMAT_VERSION}\nrows = {}\ndepth = {depth}\nloaded_unix_ns = {nanos}\nfiltered = {}\nbad_rows = {}\n",
        rows.len(),
        loaded.report.filtered,
        loaded.report.bad_row_count
    );
    for (file, bytes) in [
        ("rows.bin", row_bytes.as_slice()),
        ("attrs.bin", &attr_bytes),
        ("cells.bin", &cell_bytes),
        ("description.toml", loaded.description_text.as_bytes()),
        ("manifest.toml", manifest.as_bytes()),
    ] {
        write_file(&tmp.join(file), bytes)?;
    }
    Ok(())
}

fn open_table(dir: &Path, name: &str) -> Result<(Description, Table), CatalogueError> {
    let read = |f: &str| {
        let p = dir.join(f);
        fs::read_to_string(&p).map_err(|e| CatalogueError::io(&p, e))
    };
    let desc_path = dir.join("description.toml");
    let description = load::parse_description(&desc_path, &read("description.toml")?)?;
    let manifest_path = dir.join("manifest.toml");
    let manifest: Manifest =
        toml::from_str(&read("manifest.toml")?).map_err(|e| CatalogueError::Description {
            path: manifest_path.clone(),
            source: Box::new(e),
        })?;
    let bad = |message: String| CatalogueError::Store {
        path: dir.to_path_buf(),
        message,
    };
    if manifest.format != FORMAT_VERSION || manifest.depth > 20 {
        return Err(bad(format!(
            "unsupported format {} / depth {}",
            manifest.format, manifest.depth
        )));
    }
    let rows = map(&dir.join("rows.bin"))?;
    let attrs = map(&dir.join("attrs.bin"))?;
    let cells = map(&dir.join("cells.bin"))?;
    let len = |m: &Option<Mmap>| m.as_ref().map_or(0, |m| m.len());
    if len(&rows) as u64 != manifest.rows * ROW_BYTES as u64 {
        return Err(bad(format!(
            "rows.bin has {} bytes for {} rows",
            len(&rows),
            manifest.rows
        )));
    }
    let n_cells = cdshealpix::nested::n_hash(manifest.depth);
    if manifest.rows > 0 && len(&cells) as u64 != (n_cells + 1) * 8 {
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
    Ok((
        description,
        Table {
            name: name.to_string(),
            manifest,
            rows,
            attrs,
            cells,
            mag_filters,
            safe_radius: safe,
        },
    ))
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
    Ok(Some(m))
}

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
        assert_eq!(index_depth(1_000_000_000), 10);
    }
}
