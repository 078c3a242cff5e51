//! Writing one catalogue's files from a stream of rows, in bounded memory, resumably.
//!
//! A catalogue can be far bigger than memory (Gaia DR3: 1.8·10⁹ rows), so the rows are
//! sorted by HEALPix cell with a distribution sort on disk rather than in a `Vec`:
//!
//! 1. **Partition.** Each row goes, encoded as it will be stored, to the bucket file of its
//!    depth-3 cell (768 buckets). Nested HEALPix order keeps a cell's sub-cells together,
//!    so concatenating the buckets in order, each sorted, sorts the whole catalogue.
//! 2. **Sort.** Buckets are taken in order. One larger than the memory limit is split into
//!    its 16 sub-cells two depths down (again, until it fits or reaches the index depth);
//!    one that fits is read, sorted by cell at the index depth (stable: a cell keeps the
//!    input order), appended to `pos.bin` and `attrs.bin`, and deleted. `cells.bin` is
//!    written as the cells go by, so no array of every cell is ever held.
//!
//! Memory: 768 write buffers of 64 KiB (48 MiB), then one bucket at a time (at most
//! [`Limits::bucket_bytes`] and ~24 bytes of sort key a row). Disk: about twice the
//! catalogue's stored size at the end of partitioning, falling as buckets are consumed.
//!
//! **Resuming.** `state.toml` is rewritten at checkpoints: during partitioning every
//! [`Limits::checkpoint_rows`] input rows (with each bucket's length and the load report so
//! far), during sorting after every bucket (with the list of buckets left and the output
//! lengths). A build killed at any point restarts from its last checkpoint: files are cut
//! back to the recorded lengths and the input rows before the checkpoint are skipped.
//! Checkpoints flush to the kernel, not to the disk: they survive a killed process, not a
//! power cut (the finished files are synced before the catalogue is put in place).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::format::{self, CELL_BYTES, POS_BYTES};
use crate::load::LoadReport;
use crate::{CatalogueError, CatalogueRow};

/// Buckets are cells at this depth: 768 of them.
const BUCKET_DEPTH: u8 = 3;
const STATE: &str = "state.toml";
const BUCKETS: &str = "buckets";
/// The sub-directory of a catalogue's fast-moving rows ([`super::MOVER_MAS_YR`]).
pub(crate) const MOVERS: &str = "movers";
/// The movers as the sort finds them, before they get their own index.
const MOVERS_PART: &str = "movers.part";
/// The movers' index depth (0.9° cells): they are few, and searched with wide margins.
const MOVERS_DEPTH: u8 = 6;

/// What bounds a build's memory and how often it can be resumed from.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A bucket bigger than this is split rather than sorted in memory.
    pub bucket_bytes: u64,
    /// Input rows between two checkpoints of the partition phase.
    pub checkpoint_rows: u64,
    /// Rows (as stored) held in memory before the build goes to disk.
    pub in_memory_bytes: u64,
    /// Time between two progress reports.
    pub progress_every: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        // ~1 GiB of rows plus their sort keys stays well under the 2 GB goal.
        Limits {
            bucket_bytes: 768 << 20,
            checkpoint_rows: 10_000_000,
            in_memory_bytes: 256 << 20,
            progress_every: Duration::from_secs(5),
        }
    }
}

/// Where a build is, for progress lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// "partition" or "sort".
    pub phase: &'static str,
    /// Input rows read (partition) or rows written to the store (sort).
    pub done: u64,
    /// The expected total, when known (sort: always; partition: from the inputs' metadata).
    pub total: Option<u64>,
    /// Rows a second since the phase began (or resumed).
    pub rate: f64,
}

impl Progress {
    /// Seconds left at the current rate, when the total is known.
    pub fn eta_seconds(&self) -> Option<f64> {
        let total = self.total?;
        (self.rate > 0.0).then(|| total.saturating_sub(self.done) as f64 / self.rate)
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} rows", self.phase, self.done)?;
        if let Some(t) = self.total {
            write!(f, " of {t}")?;
        }
        write!(f, ", {:.0} rows/s", self.rate)?;
        if let Some(eta) = self.eta_seconds() {
            write!(f, ", ETA {}", hms(eta))?;
        }
        Ok(())
    }
}

fn hms(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The checkpoint file. Lengths are bytes. Each phase writes its own fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct State {
    fingerprint: String,
    /// "partition" until every input row is in a bucket, then "sort".
    phase: String,
    /// Input rows (good, filtered and bad) behind the checkpoint.
    seen: u64,
    rows_loaded: u64,
    filtered: u64,
    bad_row_count: u64,
    /// Partition: each depth-3 bucket's length.
    bucket_lengths: Vec<u64>,
    /// Sort: buckets left, as "depth/cell", in order.
    left: Vec<String>,
    pos_len: u64,
    attrs_len: u64,
    cells_len: u64,
    depth: u8,
    #[serde(default)]
    movers_len: u64,
    #[serde(default)]
    max_pm: f64,
}

/// A resumed build tells the loader how far it got.
#[derive(Debug, Default, Clone)]
pub(crate) struct Resume {
    /// Input rows to skip.
    pub seen: u64,
    pub report: LoadReport,
    /// The partition phase is over: read nothing.
    pub partitioned: bool,
}

/// One build in its own directory (`<store>/.build-<name>`), which ends up holding the
/// catalogue's files.
pub(crate) struct Builder {
    dir: PathBuf,
    fingerprint: String,
    limits: Limits,
    /// Magnitude filter names, in the description's order (index stored per row).
    filters: Vec<String>,
    writers: Vec<Option<BufWriter<File>>>,
    lengths: Vec<u64>,
    scratch: Vec<u8>,
    /// Rows are kept here until they pass [`Limits::in_memory_bytes`]; a small catalogue
    /// never touches the buckets (nor checkpoints: it is quicker to load again).
    held: Vec<u8>,
    spilled: bool,
    started: Instant,
    seen_at_start: u64,
    last_progress: Instant,
    expected_rows: Option<u64>,
    estimated_rows: Option<u64>,
    progress: Box<dyn FnMut(&Progress) + Send>,
}

impl Builder {
    /// Opens the build in `dir`: resumes it when its checkpoint has `fingerprint` (the same
    /// description and input files), else starts afresh.
    pub(crate) fn open(
        dir: &Path,
        fingerprint: &str,
        filters: Vec<String>,
        limits: Limits,
        progress: Box<dyn FnMut(&Progress) + Send>,
    ) -> Result<(Builder, Resume), CatalogueError> {
        let state = read_state(dir).filter(|s| s.fingerprint == fingerprint);
        if state.is_none() && dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| CatalogueError::io(dir, e))?;
        }
        let buckets = dir.join(BUCKETS);
        fs::create_dir_all(&buckets).map_err(|e| CatalogueError::io(&buckets, e))?;
        let n = cdshealpix::nested::n_hash(BUCKET_DEPTH) as usize;
        let mut b = Builder {
            dir: dir.to_path_buf(),
            fingerprint: fingerprint.to_string(),
            limits,
            filters,
            writers: (0..n).map(|_| None).collect(),
            lengths: vec![0; n],
            scratch: Vec::new(),
            held: Vec::new(),
            spilled: false,
            started: Instant::now(),
            seen_at_start: 0,
            last_progress: Instant::now(),
            expected_rows: None,
            estimated_rows: None,
            progress,
        };
        let Some(state) = state else {
            return Ok((b, Resume::default()));
        };
        let resume = Resume {
            seen: state.seen,
            report: LoadReport {
                rows_loaded: state.rows_loaded,
                filtered: state.filtered,
                bad_row_count: state.bad_row_count,
                bad_rows: read_bad_rows(dir),
                files: Vec::new(),
                resumed_at: Some(state.seen),
            },
            partitioned: state.phase == "sort",
        };
        if state.phase == "partition" {
            // Cut every bucket back to the checkpoint; rows after it will come again.
            for (i, &len) in state.bucket_lengths.iter().enumerate().take(n) {
                let path = b.bucket_path(BUCKET_DEPTH, i as u64);
                if len > 0 || path.exists() {
                    truncate(&path, len)?;
                }
                b.lengths[i] = len;
            }
        }
        b.seen_at_start = state.seen;
        b.spilled = true;
        Ok((b, resume))
    }

    /// The inputs' total row count, when their metadata says it (for the ETA).
    pub(crate) fn expect_rows(&mut self, rows: u64) {
        self.expected_rows = Some(self.expected_rows.unwrap_or(0) + rows);
    }

    /// A text input's estimate of the total, revised as it is read.
    pub(crate) fn estimate_rows(&mut self, rows: u64) {
        self.estimated_rows = Some(rows);
    }

    fn bucket_path(&self, depth: u8, cell: u64) -> PathBuf {
        self.dir.join(BUCKETS).join(format!("{depth}-{cell}"))
    }

    /// Adds one row. `filter` is the index of its magnitude's filter.
    pub(crate) fn push(&mut self, row: &CatalogueRow) -> Result<(), CatalogueError> {
        self.scratch.clear();
        format::put_pos(&mut self.scratch, row.ra, row.dec);
        let filter = row
            .mag_filter
            .as_ref()
            .and_then(|f| self.filters.iter().position(|m| m == f))
            .map(|k| k.min(254) as u8);
        format::put_attrs(&mut self.scratch, row, filter);
        let cell = bucket_of(&self.scratch);
        if !self.spilled {
            self.held.extend_from_slice(&self.scratch);
            if self.held.len() as u64 <= self.limits.in_memory_bytes {
                return Ok(());
            }
            self.spilled = true;
            let held = std::mem::take(&mut self.held);
            let mut p = 0;
            while let Some(len) = row_len(&held[p..]) {
                self.scratch.clear();
                self.scratch.extend_from_slice(&held[p..p + len]);
                self.write_bucket(bucket_of(&self.scratch))?;
                p += len;
            }
            return Ok(());
        }
        self.write_bucket(cell)
    }

    /// Appends the row in `scratch` to bucket `cell`.
    fn write_bucket(&mut self, cell: usize) -> Result<(), CatalogueError> {
        if self.writers[cell].is_none() {
            let path = self.bucket_path(BUCKET_DEPTH, cell as u64);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| CatalogueError::io(&path, e))?;
            self.writers[cell] = Some(BufWriter::with_capacity(64 << 10, file));
        }
        let w = self.writers[cell].as_mut().expect("opened above");
        w.write_all(&self.scratch)
            .map_err(|e| CatalogueError::io(self.dir.join(BUCKETS), e))?;
        self.lengths[cell] += self.scratch.len() as u64;
        Ok(())
    }

    /// Called by the loader after each input row with the rows seen so far: takes a
    /// checkpoint every [`Limits::checkpoint_rows`] and reports progress every few seconds.
    pub(crate) fn tick(&mut self, seen: u64, report: &LoadReport) -> Result<(), CatalogueError> {
        if self.spilled && seen.is_multiple_of(self.limits.checkpoint_rows.max(1)) {
            self.checkpoint_partition(seen, report)?;
        }
        if seen.is_multiple_of(4096) && self.last_progress.elapsed() >= self.limits.progress_every {
            self.last_progress = Instant::now();
            let p = Progress {
                phase: "partition",
                done: seen,
                total: self.expected_rows.or(self.estimated_rows),
                rate: (seen - self.seen_at_start) as f64
                    / self.started.elapsed().as_secs_f64().max(1e-9),
            };
            (self.progress)(&p);
        }
        Ok(())
    }

    fn flush_buckets(&mut self) -> Result<(), CatalogueError> {
        for w in self.writers.iter_mut().flatten() {
            w.flush()
                .map_err(|e| CatalogueError::io(self.dir.join(BUCKETS), e))?;
        }
        Ok(())
    }

    fn checkpoint_partition(
        &mut self,
        seen: u64,
        report: &LoadReport,
    ) -> Result<(), CatalogueError> {
        self.flush_buckets()?;
        write_bad_rows(&self.dir, report)?;
        let mut s = self.state_header("partition", seen, report);
        s.push_str(&format!("bucket_lengths = {:?}\n", self.lengths));
        write_state(&self.dir, &s)
    }

    fn state_header(&self, phase: &str, seen: u64, report: &LoadReport) -> String {
        format!(
            "fingerprint = {:?}\nphase = {phase:?}\nseen = {seen}\nrows_loaded = {}\nfiltered = {}\nbad_row_count = {}\n",
            self.fingerprint, report.rows_loaded, report.filtered, report.bad_row_count
        )
    }

    /// Sorts the buckets into `pos.bin`, `attrs.bin` and `cells.bin` at the depth the row
    /// count calls for; returns that depth. `seen` and `report` are the finished load's.
    pub(crate) fn finish(
        mut self,
        seen: u64,
        report: &LoadReport,
        depth_for: impl Fn(u64) -> u8,
    ) -> Result<u8, CatalogueError> {
        if !self.spilled {
            let depth = depth_for(report.rows_loaded).max(BUCKET_DEPTH);
            let sort = Sort::new(depth, Vec::new());
            let mut out = Outputs::open(&self.dir, &sort)?;
            let all = cdshealpix::nested::n_hash(depth);
            out.rows_of(&std::mem::take(&mut self.held), &self.dir, 0, all, depth)?;
            out.finish(depth)?;
            let buckets = self.dir.join(BUCKETS);
            let _ = fs::remove_dir_all(&buckets);
            let _ = fs::remove_file(self.dir.join(MOVERS_PART));
            return Ok(depth);
        }
        let state = read_state(&self.dir).filter(|s| s.fingerprint == self.fingerprint);
        let mut sort = match state {
            Some(s) if s.phase == "sort" => Sort {
                left: s.left.iter().filter_map(|l| parse_bucket(l)).collect(),
                pos_len: s.pos_len,
                attrs_len: s.attrs_len,
                cells_len: s.cells_len,
                depth: s.depth,
                movers_len: s.movers_len,
                max_pm: s.max_pm,
            },
            _ => {
                self.flush_buckets()?;
                self.writers.iter_mut().for_each(|w| *w = None);
                write_bad_rows(&self.dir, report)?;
                let n = cdshealpix::nested::n_hash(BUCKET_DEPTH);
                Sort::new(
                    depth_for(report.rows_loaded).max(BUCKET_DEPTH),
                    (0..n)
                        .filter(|&c| self.lengths[c as usize] > 0)
                        .map(|c| (BUCKET_DEPTH, c))
                        .collect(),
                )
            }
        };
        self.save_sort(seen, report, &sort)?;
        let out = Outputs::open(&self.dir, &sort)?;
        let mut out = out;
        let total = report.rows_loaded;
        let started = Instant::now();
        let rows_at_start = sort.pos_len / POS_BYTES as u64;
        let mut last = Instant::now();
        while let Some(&(d, cell)) = sort.left.first() {
            let path = self.bucket_path(d, cell);
            let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len > self.limits.bucket_bytes && d + 2 <= sort.depth {
                let children = self.split(d, cell)?;
                sort.left.splice(0..1, children);
                self.save_sort(seen, report, &sort)?;
                fs::remove_file(&path).map_err(|e| CatalogueError::io(&path, e))?;
                continue;
            }
            out.bucket(&path, d, cell, sort.depth)?;
            sort.left.remove(0);
            (
                sort.pos_len,
                sort.attrs_len,
                sort.cells_len,
                sort.movers_len,
            ) = out.lengths()?;
            sort.max_pm = out.max_pm;
            self.save_sort(seen, report, &sort)?;
            // Only now, with the state saying the bucket is in the outputs, may it go.
            let _ = fs::remove_file(&path);
            if last.elapsed() >= self.limits.progress_every {
                last = Instant::now();
                let done = sort.pos_len / POS_BYTES as u64;
                (self.progress)(&Progress {
                    phase: "sort",
                    done,
                    total: Some(total),
                    rate: (done - rows_at_start) as f64 / started.elapsed().as_secs_f64().max(1e-9),
                });
            }
        }
        out.finish(sort.depth)?;
        let buckets = self.dir.join(BUCKETS);
        fs::remove_dir_all(&buckets).map_err(|e| CatalogueError::io(&buckets, e))?;
        for f in [STATE, "bad_rows.tsv", MOVERS_PART] {
            let _ = fs::remove_file(self.dir.join(f));
        }
        Ok(sort.depth)
    }

    fn save_sort(&self, seen: u64, report: &LoadReport, sort: &Sort) -> Result<(), CatalogueError> {
        let mut s = self.state_header("sort", seen, report);
        let left: Vec<String> = sort.left.iter().map(|(d, c)| format!("{d}/{c}")).collect();
        s.push_str(&format!(
            "left = {left:?}\npos_len = {}\nattrs_len = {}\ncells_len = {}\ndepth = {}\nmovers_len = {}\nmax_pm = {:?}\n",
            sort.pos_len, sort.attrs_len, sort.cells_len, sort.depth, sort.movers_len, sort.max_pm
        ));
        write_state(&self.dir, &s)
    }

    /// Splits bucket (`depth`, `cell`) into its 16 sub-cells two depths down; returns them
    /// in order.
    fn split(&self, depth: u8, cell: u64) -> Result<Vec<(u8, u64)>, CatalogueError> {
        let d = depth + 2;
        let first = cell << 4;
        let children: Vec<(u8, u64)> = (first..first + 16).map(|c| (d, c)).collect();
        let mut writers = Vec::with_capacity(16);
        for &(d, c) in &children {
            let path = self.bucket_path(d, c);
            let f = File::create(&path).map_err(|e| CatalogueError::io(&path, e))?;
            writers.push(BufWriter::with_capacity(256 << 10, f));
        }
        let path = self.bucket_path(depth, cell);
        let layer = cdshealpix::nested::get(d);
        each_row(&path, |rec| {
            let h = cell_at(layer, rec);
            // A row always lies in a sub-cell of its bucket; clamp rather than trust that.
            let k = h.saturating_sub(first).min(15) as usize;
            writers[k].write_all(rec)
        })
        .map_err(|e| CatalogueError::io(&path, e))?;
        for w in &mut writers {
            w.flush().map_err(|e| CatalogueError::io(&path, e))?;
        }
        Ok(children)
    }
}

/// The sort phase's place.
struct Sort {
    left: Vec<(u8, u64)>,
    pos_len: u64,
    attrs_len: u64,
    cells_len: u64,
    depth: u8,
    movers_len: u64,
    max_pm: f64,
}

impl Sort {
    fn new(depth: u8, left: Vec<(u8, u64)>) -> Sort {
        Sort {
            left,
            pos_len: 0,
            attrs_len: 0,
            cells_len: 0,
            depth,
            movers_len: 0,
            max_pm: 0.0,
        }
    }
}

/// The depth-3 bucket of an encoded row.
fn bucket_of(encoded: &[u8]) -> usize {
    cell_at(cdshealpix::nested::get(BUCKET_DEPTH), encoded) as usize
}

/// The cell of `layer` holding an encoded row (its position is its first 16 bytes).
fn cell_at(layer: &cdshealpix::nested::Layer, encoded: &[u8]) -> u64 {
    let (ra, dec) = (format::f64_at(encoded, 0), format::f64_at(encoded, 8));
    layer.hash(
        ra.to_radians().rem_euclid(std::f64::consts::TAU),
        dec.to_radians(),
    )
}

fn parse_bucket(s: &str) -> Option<(u8, u64)> {
    let (d, c) = s.split_once('/')?;
    Some((d.parse().ok()?, c.parse().ok()?))
}

/// Calls `f` with each encoded row (position and attribute record) of a bucket file, read
/// in blocks.
fn each_row(path: &Path, mut f: impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    let mut buf = Vec::new();
    let mut start = 0;
    let mut block = vec![0u8; 4 << 20];
    loop {
        let n = file.read(&mut block)?;
        buf.drain(..start);
        start = 0;
        buf.extend_from_slice(&block[..n]);
        while let Some(len) = row_len(&buf[start..]) {
            f(&buf[start..start + len])?;
            start += len;
        }
        if n == 0 {
            if start < buf.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "bucket file ends inside a row",
                ));
            }
            return Ok(());
        }
    }
}

/// Length of the first encoded row in `b`, if it is all there.
fn row_len(b: &[u8]) -> Option<usize> {
    let mut p = POS_BYTES;
    if b.len() < p {
        return None;
    }
    format::skip_attrs(b, &mut p)?;
    Some(p)
}

/// The three files being written, and where the next cell entry goes.
struct Outputs {
    pos: BufWriter<File>,
    attrs: BufWriter<File>,
    cells: BufWriter<File>,
    /// Rows faster than [`super::MOVER_MAS_YR`], copied as they go by (in sky order).
    movers: BufWriter<File>,
    movers_len: u64,
    max_pm: f64,
    /// False for the movers' own table.
    collect_movers: bool,
    scratch: CatalogueRow,
    rows: u64,
    attr_bytes: u64,
    next_cell: u64,
    dir: PathBuf,
}

impl Outputs {
    fn open(dir: &Path, sort: &Sort) -> Result<Outputs, CatalogueError> {
        let open = |name: &str, len: u64| -> Result<BufWriter<File>, CatalogueError> {
            let path = dir.join(name);
            let mut f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| CatalogueError::io(&path, e))?;
            f.set_len(len).map_err(|e| CatalogueError::io(&path, e))?;
            f.seek(SeekFrom::End(0))
                .map_err(|e| CatalogueError::io(&path, e))?;
            Ok(BufWriter::with_capacity(1 << 20, f))
        };
        Ok(Outputs {
            pos: open("pos.bin", sort.pos_len)?,
            attrs: open("attrs.bin", sort.attrs_len)?,
            cells: open("cells.bin", sort.cells_len)?,
            movers: open(MOVERS_PART, sort.movers_len)?,
            movers_len: sort.movers_len,
            max_pm: sort.max_pm,
            collect_movers: true,
            scratch: CatalogueRow::at(0.0, 0.0),
            rows: sort.pos_len / POS_BYTES as u64,
            attr_bytes: sort.attrs_len,
            next_cell: sort.cells_len / CELL_BYTES as u64,
            dir: dir.to_path_buf(),
        })
    }

    fn io(&self, name: &str, e: std::io::Error) -> CatalogueError {
        CatalogueError::io(self.dir.join(name), e)
    }

    /// Writes cell entries up to (not including) `cell`.
    fn cells_to(&mut self, cell: u64) -> Result<(), CatalogueError> {
        while self.next_cell < cell {
            let mut e = [0u8; CELL_BYTES];
            e[..8].copy_from_slice(&self.rows.to_le_bytes());
            e[8..].copy_from_slice(&self.attr_bytes.to_le_bytes());
            self.cells
                .write_all(&e)
                .map_err(|e| self.io("cells.bin", e))?;
            self.next_cell += 1;
        }
        Ok(())
    }

    /// Sorts bucket (`d`, `cell`) in memory by cell at `depth` and appends it.
    fn bucket(&mut self, path: &Path, d: u8, cell: u64, depth: u8) -> Result<(), CatalogueError> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| CatalogueError::io(path, e))?;
        let shift = 2 * u32::from(depth - d);
        self.rows_of(&bytes, path, cell << shift, (cell + 1) << shift, depth)
    }

    /// Sorts encoded rows lying in cells `first..end` at `depth` and appends them.
    fn rows_of(
        &mut self,
        bytes: &[u8],
        path: &Path,
        first: u64,
        end: u64,
        depth: u8,
    ) -> Result<(), CatalogueError> {
        let layer = cdshealpix::nested::get(depth);
        let mut keys: Vec<(u64, usize, usize)> = Vec::new();
        let mut p = 0;
        while p < bytes.len() {
            let len = row_len(&bytes[p..])
                .ok_or_else(|| CatalogueError::format(path, "bucket file ends inside a row"))?;
            keys.push((cell_at(layer, &bytes[p..]), p, len));
            p += len;
        }
        keys.sort_by_key(|k| k.0); // stable: a cell keeps the input order
        for (h, p, len) in keys {
            let h = h.clamp(first, end - 1);
            self.cells_to(h + 1)?;
            // The entry for cell h was written before its first row: fix nothing, rows
            // simply follow it (entries hold each cell's *first* row).
            self.pos
                .write_all(&bytes[p..p + POS_BYTES])
                .map_err(|e| self.io("pos.bin", e))?;
            self.attrs
                .write_all(&bytes[p + POS_BYTES..p + len])
                .map_err(|e| self.io("attrs.bin", e))?;
            self.rows += 1;
            self.attr_bytes += (len - POS_BYTES) as u64;
            self.keep_mover(&bytes[p..p + len])?;
        }
        self.cells_to(end)
    }

    /// Copies an encoded row to the movers when its proper motion is fast.
    fn keep_mover(&mut self, encoded: &[u8]) -> Result<(), CatalogueError> {
        if !self.collect_movers || !format::has_proper_motion(&encoded[POS_BYTES..]) {
            return Ok(());
        }
        let mut p = POS_BYTES;
        if format::get_attrs(encoded, &mut p, &[], &mut self.scratch).is_none() {
            return Ok(());
        }
        let pm = super::total_pm(&self.scratch);
        if pm > super::MOVER_MAS_YR {
            self.max_pm = self.max_pm.max(pm);
            self.movers
                .write_all(encoded)
                .map_err(|e| self.io(MOVERS_PART, e))?;
            self.movers_len += encoded.len() as u64;
        }
        Ok(())
    }

    /// Flushes and returns the files' lengths (positions, attributes, cells, movers).
    fn lengths(&mut self) -> Result<(u64, u64, u64, u64), CatalogueError> {
        self.pos.flush().map_err(|e| self.io("pos.bin", e))?;
        self.attrs.flush().map_err(|e| self.io("attrs.bin", e))?;
        self.cells.flush().map_err(|e| self.io("cells.bin", e))?;
        self.movers.flush().map_err(|e| self.io(MOVERS_PART, e))?;
        Ok((
            self.rows * POS_BYTES as u64,
            self.attr_bytes,
            self.next_cell * CELL_BYTES as u64,
            self.movers_len,
        ))
    }

    /// Writes the remaining cells and the totals entry, indexes the movers on their own
    /// (`movers/`, with a manifest of its own), and syncs the files.
    fn finish(mut self, depth: u8) -> Result<(), CatalogueError> {
        self.cells_to(cdshealpix::nested::n_hash(depth) + 1)?;
        self.lengths()?;
        let part = self.dir.join(MOVERS_PART);
        if self.movers_len > 0 {
            let bytes = fs::read(&part).map_err(|e| CatalogueError::io(&part, e))?;
            let dir = self.dir.join(MOVERS);
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).map_err(|e| CatalogueError::io(&dir, e))?;
            let d = MOVERS_DEPTH.min(depth);
            let mut out = Outputs::open(&dir, &Sort::new(d, Vec::new()))?;
            out.collect_movers = false;
            out.rows_of(&bytes, &part, 0, cdshealpix::nested::n_hash(d), d)?;
            let rows = out.rows;
            out.finish(d)?;
            let _ = fs::remove_file(dir.join(MOVERS_PART)); // the movers' own, empty
            let manifest = format!(
                "format = {}\nrows = {rows}\ndepth = {d}\nloaded_unix_ns = 0\nmax_pm_mas_yr = {:?}\n",
                super::FORMAT_VERSION,
                self.max_pm
            );
            fs::write(dir.join("manifest.toml"), manifest)
                .map_err(|e| CatalogueError::io(&dir, e))?;
        }
        // movers.part stays until the checkpoint is gone (Builder::finish): a build killed
        // before then rebuilds movers/ from it.
        drop(self.movers);
        for (name, w) in [
            ("pos.bin", self.pos),
            ("attrs.bin", self.attrs),
            ("cells.bin", self.cells),
        ] {
            let f = w
                .into_inner()
                .map_err(|e| CatalogueError::io(self.dir.join(name), e.into_error()))?;
            f.sync_all()
                .map_err(|e| CatalogueError::io(self.dir.join(name), e))?;
        }
        Ok(())
    }
}

fn truncate(path: &Path, len: u64) -> Result<(), CatalogueError> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)
        .and_then(|f| f.set_len(len))
        .map_err(|e| CatalogueError::io(path, e))
}

fn read_state(dir: &Path) -> Option<State> {
    toml::from_str(&fs::read_to_string(dir.join(STATE)).ok()?).ok()
}

fn write_state(dir: &Path, text: &str) -> Result<(), CatalogueError> {
    let path = dir.join(STATE);
    let tmp = dir.join("state.toml.tmp");
    fs::write(&tmp, text).map_err(|e| CatalogueError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| CatalogueError::io(&path, e))
}

/// The kept bad rows (at most [`crate::load::MAX_BAD_ROWS_KEPT`]), one per line.
fn write_bad_rows(dir: &Path, report: &LoadReport) -> Result<(), CatalogueError> {
    let text: String = report
        .bad_rows
        .iter()
        .map(|(n, why)| format!("{n}\t{}\n", why.replace(['\n', '\t'], " ")))
        .collect();
    let path = dir.join("bad_rows.tsv");
    fs::write(&path, text).map_err(|e| CatalogueError::io(&path, e))
}

fn read_bad_rows(dir: &Path) -> Vec<(u64, String)> {
    fs::read_to_string(dir.join("bad_rows.tsv"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (n, why) = l.split_once('\t')?;
            Some((n.parse().ok()?, why.to_string()))
        })
        .collect()
}
