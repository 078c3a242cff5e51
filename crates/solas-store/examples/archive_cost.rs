//! What the archive costs per source: the shared alerts written to a fresh lightcurve store
//! (SQLite, and PostgreSQL when a URL is given), then per table the rows, the raw Avro
//! bytes of their records, the bytes on disk (table, indexes, overflow), and the stored
//! record bytes of the rows compressed against a dictionary against their raw bytes.
//! Then the same alerts without their records (typed rows only, as the store was before
//! the archive) to a second store: the difference is what the archive adds per source.
//!
//! ```sh
//! cargo run --release -p solas-store --example archive_cost -- \
//!     --schema-dir ../shared/data/lsst/schema --train-after 100 \
//!     [--postgres "host=127.0.0.1 user=postgres dbname=solas_cost"] \
//!     ../shared/data/ztf/alerts ../shared/data/lsst/real
//! ```
//!
//! `--train-after N` trains each record schema's dictionary after N records instead of
//! the default 1,000, so a few hundred alerts show the steady state; the N raw records of
//! each schema stay in the figures.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use solas_core::{Alert, Survey};
use solas_store::postgres::PgLightcurves;
use solas_store::records::{Selection, SourceKind};
use solas_store::sqlite::SqliteLightcurves;
use solas_store::LightcurveStore;

const TABLES: [(SourceKind, &str); 3] = [
    (SourceKind::Detections, "detections"),
    (SourceKind::NonDetections, "non_detections"),
    (SourceKind::Forced, "forced_photometry"),
];

fn avro_files(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            avro_files(&e, out)?;
        }
    } else if path.extension().is_some_and(|e| e == "avro") {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Per table: rows, raw record bytes (read back through the store, so decompressed).
fn raw_bytes(store: &mut dyn LightcurveStore, kind: SourceKind) -> anyhow::Result<(u64, u64)> {
    let (mut rows, mut bytes) = (0u64, 0u64);
    for survey in [Survey::Ztf, Survey::Lsst] {
        store.each_source(survey, kind, &Selection::default(), &mut |_, r| {
            rows += 1;
            bytes += r.body.len() as u64;
            std::ops::ControlFlow::Continue(())
        })?;
    }
    Ok((rows, bytes))
}

struct Figures {
    rows: u64,
    raw: u64,
    disk: u64,
    /// Rows stored raw (before their schema's dictionary) and their bytes.
    raw_rows: u64,
    raw_rows_bytes: u64,
    /// Stored bytes of the compressed rows.
    packed_bytes: u64,
}

fn print(backend: &str, table: &str, f: &Figures) {
    let per = |b: u64, n: u64| if n == 0 { 0.0 } else { b as f64 / n as f64 };
    let packed_rows = f.rows - f.raw_rows;
    let packed_raw = f.raw - f.raw_rows_bytes;
    println!(
        "{backend:<10} {table:<17} {:>7} rows  raw {:>6.0} B/row  on disk {:>6.0} B/row  ratio {:.2}  \
         compressed rows {:>6}: {:>5.0} of {:>5.0} B ({:.2})",
        f.rows,
        per(f.raw, f.rows),
        per(f.disk, f.rows),
        per(f.disk, f.raw),
        packed_rows,
        per(f.packed_bytes, packed_rows),
        per(packed_raw, packed_rows),
        per(f.packed_bytes, packed_raw),
    );
}

/// The bytes the archive adds to a table per row (against the same rows typed only), as a
/// fraction of the raw records.
fn added(backend: &str, table: &str, f: &Figures, typed: u64) {
    let per = |b: f64| if f.rows == 0 { 0.0 } else { b / f.rows as f64 };
    let added = f.disk as f64 - typed as f64;
    println!(
        "{backend:<10} {table:<17} typed rows only {:>6.0} B/row; the records add {:>6.0} B/row ({:.2} of raw)",
        per(typed as f64),
        per(added),
        added / f.raw.max(1) as f64,
    );
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut schema_dir, mut train_after, mut pg_url, mut inputs) = (None, None, None, vec![]);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--schema-dir" => schema_dir = args.next().map(PathBuf::from),
            "--train-after" => train_after = Some(args.next().context("N")?.parse()?),
            "--postgres" => pg_url = args.next(),
            _ if a.starts_with("--") => bail!("unknown option {a}"),
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    let mut files = Vec::new();
    for i in &inputs {
        avro_files(i, &mut files)?;
    }
    let decoder = solas_decode::Decoder::configured(schema_dir.as_deref(), None)?;
    let mut alerts: Vec<Alert> = Vec::new();
    for f in &files {
        for (_, a) in decoder.decode(&std::fs::read(f)?)?.records {
            match a {
                Ok(a) => alerts.push(a),
                Err(e) => eprintln!("{}: {e}", f.display()),
            }
        }
    }
    println!("{} alerts from {} files", alerts.len(), files.len());
    let refs: Vec<&Alert> = alerts.iter().collect();
    let mut typed_only = alerts.clone();
    typed_only.iter_mut().for_each(Alert::drop_records);
    let typed_refs: Vec<&Alert> = typed_only.iter().collect();

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("lightcurves.db");
    let mut sqlite = SqliteLightcurves::open(&path)?;
    if let Some(n) = train_after {
        sqlite.train_dictionaries_after(n);
    }
    for chunk in refs.chunks(100) {
        sqlite.write(chunk)?;
    }
    let conn = rusqlite::Connection::open(&path)?;
    let typed_path = dir.path().join("typed-only.db");
    let mut typed = SqliteLightcurves::open(&typed_path)?;
    for chunk in typed_refs.chunks(100) {
        typed.write(chunk)?;
    }
    drop(typed);
    let typed_conn = rusqlite::Connection::open(&typed_path)?;
    for (kind, table) in TABLES {
        let (rows, raw) = raw_bytes(&mut sqlite, kind)?;
        // The typed table and the record table beside it.
        let pages = |conn: &rusqlite::Connection| -> rusqlite::Result<i64> {
            conn.query_row(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (?1, ?1 || '_records')",
                [table],
                |r| r.get(0),
            )
        };
        let disk = pages(&conn)?;
        let typed_disk = pages(&typed_conn)?;
        let (raw_rows, raw_rows_bytes, packed_bytes): (i64, i64, i64) = conn.query_row(
            &format!(
                "SELECT count(*) FILTER (WHERE record_dictionary IS NULL),
                 coalesce(sum(length(record)) FILTER (WHERE record_dictionary IS NULL), 0),
                 coalesce(sum(length(record)) FILTER (WHERE record_dictionary IS NOT NULL), 0)
                 FROM {table}_with_record WHERE record IS NOT NULL"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let figures = Figures {
            rows,
            raw,
            disk: disk as u64,
            raw_rows: raw_rows as u64,
            raw_rows_bytes: raw_rows_bytes as u64,
            packed_bytes: packed_bytes as u64,
        };
        print("SQLite", table, &figures);
        added("SQLite", table, &figures, typed_disk as u64);
    }

    if let Some(url) = pg_url {
        let mut pg = PgLightcurves::open(&url)?;
        if let Some(n) = train_after {
            pg.train_dictionaries_after(n);
        }
        for chunk in refs.chunks(100) {
            pg.write(chunk)?;
        }
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        // A few thousand rows in 16 partitions are mostly half-empty pages: the heap
        // tuples themselves (with their 4-byte line pointers) are the cost at scale.
        let tuple = |client: &mut postgres::Client, table: &str| -> anyhow::Result<f64> {
            Ok(client
                .query_one(
                    &format!(
                        "SELECT coalesce(avg(pg_column_size(t.*)), 0)::float8 + 4 FROM {table} t"
                    ),
                    &[],
                )?
                .get(0))
        };
        let mut tuples = Vec::new();
        for (kind, table) in TABLES {
            let (rows, raw) = raw_bytes(&mut pg, kind)?;
            let disk: i64 = client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint
                     FROM pg_inherits i WHERE i.inhparent = $1::text::regclass",
                    &[&table],
                )?
                .get(0);
            let row = client.query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE record_dictionary IS NULL),
                     coalesce(sum(length(record)) FILTER (WHERE record_dictionary IS NULL), 0)::bigint,
                     coalesce(sum(length(record)) FILTER (WHERE record_dictionary IS NOT NULL), 0)::bigint
                     FROM {table} WHERE record IS NOT NULL"
                ),
                &[],
            )?;
            let figures = Figures {
                rows,
                raw,
                disk: disk as u64,
                raw_rows: row.get::<_, i64>(0) as u64,
                raw_rows_bytes: row.get::<_, i64>(1) as u64,
                packed_bytes: row.get::<_, i64>(2) as u64,
            };
            print("PostgreSQL", table, &figures);
            let with = tuple(&mut client, table)?;
            println!(
                "PostgreSQL {table:<17} heap tuple {with:.0} B/row ({:.2} of raw)",
                with * rows as f64 / raw.max(1) as f64
            );
            tuples.push((table, rows, raw, with));
        }
        // The same alerts typed only, in the same database emptied.
        client.batch_execute(&format!(
            "TRUNCATE {}, object_records, alerts",
            TABLES.map(|(_, t)| t).join(", ")
        ))?;
        let mut typed = PgLightcurves::open(&url)?;
        for chunk in typed_refs.chunks(100) {
            typed.write(chunk)?;
        }
        for (table, rows, raw, with) in tuples {
            let without = tuple(&mut client, table)?;
            println!(
                "PostgreSQL {table:<17} typed rows only: heap tuple {without:.0} B/row; the records add {:.0} B/row ({:.2} of raw)",
                with - without,
                (with - without) * rows as f64 / raw.max(1) as f64
            );
        }
    }
    Ok(())
}
