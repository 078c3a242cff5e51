//! Where the tests find real data.
//!
//! The shared data set (real ZTF and Rubin alerts, schemas, catalogues, Lasair's golden
//! rows) lives beside the repository in `../shared/data`, or wherever `SOLAS_SHARED_DATA`
//! points. Tests that need it fail with a clear message when it is missing rather than
//! passing vacuously. The small permissively licensed sample kept in the repository
//! (`samples/`) is found by [`repo_samples`].

use std::path::{Path, PathBuf};

pub mod servers;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// The shared data directory (`../shared/data` beside the repo, or `$SOLAS_SHARED_DATA`).
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("SOLAS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/data"));
    assert!(
        dir.join("README.md").is_file(),
        "shared test data not found at {}: set SOLAS_SHARED_DATA to the shared/data directory",
        dir.display()
    );
    dir
}

/// Files under the shared directory matching a glob relative to it, sorted.
pub fn shared_glob(pattern: &str) -> Vec<PathBuf> {
    let full = shared().join(pattern);
    let mut files: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
        .expect("valid glob")
        .filter_map(Result::ok)
        .collect();
    files.sort();
    files
}

/// The real alert files of the shared set: 208 ZTF container files, 100 Rubin container
/// files (Fink) and one Rubin alert in Confluent wire format (BOOM).
pub fn real_alert_files() -> Vec<PathBuf> {
    let mut files = shared_glob("ztf/alerts/*/*.avro");
    files.extend(shared_glob("lsst/real/*/*.avro"));
    files
}

/// The directory of Rubin `.avsc` schemas in the shared set.
pub fn lsst_schema_dir() -> PathBuf {
    shared().join("lsst/schema")
}

/// The paths of the repository's catalogue descriptions `catalogues/<name>.toml`, as
/// arguments for `solas catalogue add`.
pub fn catalogue_descriptions(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            workspace_root()
                .join(format!("catalogues/{n}.toml"))
                .display()
                .to_string()
        })
        .collect()
}

/// The sample alerts kept in the repository for the README demo.
pub fn repo_samples() -> PathBuf {
    workspace_root().join("samples")
}

/// The repo's Python venv (`scripts/python-venv.sh`) holding `packages` (pip requirement
/// specifiers, installed the first time): its python's path.
pub fn python_with(packages: &[&str]) -> String {
    python_with_venv("", packages)
}

/// [`python_with`] in a venv of its own, `.tools/py-venv-<name>`, for packages pinned to
/// versions the main venv's packages could not share (e.g. the scikit-learn that reads a
/// model's pickle).
pub fn python_with_venv(name: &str, packages: &[&str]) -> String {
    let mut command = std::process::Command::new(workspace_root().join("scripts/python-venv.sh"));
    if !name.is_empty() {
        command.args(["--venv", name]);
    }
    let venv = command
        .args(packages)
        .output()
        .expect("scripts/python-venv.sh runs");
    assert!(
        venv.status.success(),
        "installing {packages:?} failed (needs PyPI the first time):\n{}",
        String::from_utf8_lossy(&venv.stderr)
    );
    String::from_utf8_lossy(&venv.stdout).trim().to_string()
}

/// The record dictionaries of a SQLite lightcurve store, by id (none before migration 4):
/// what tests that compare two stores' records by content decompress them with
/// (`solas_store::unpack_record`).
pub fn sqlite_record_dictionaries(
    conn: &rusqlite::Connection,
) -> std::collections::HashMap<i64, Vec<u8>> {
    conn.prepare("SELECT id, dictionary FROM record_dictionaries")
        .map(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("dictionaries read")
                .collect::<Result<_, _>>()
                .expect("dictionaries read")
        })
        .unwrap_or_default()
}

/// The statement reading every row of a SQLite table in the columns PostgreSQL has: SQLite
/// keeps a lightcurve row's record beside it (`<table>_records`, by `record_id`), so the
/// record is joined back into the row's own record columns and `record_id` left out. Other
/// tables are read as they are. For tests that compare stores row by row.
pub fn sqlite_rows_select(conn: &rusqlite::Connection, table: &str) -> String {
    let names: Vec<String> = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    if !names.iter().any(|n| n == "record_id") {
        return format!("SELECT * FROM \"{table}\"");
    }
    let columns: Vec<String> = names
        .iter()
        .filter(|n| *n != "record_id")
        .map(|n| match n.as_str() {
            "record_schema" | "record_dictionary" | "record" => {
                format!("CASE WHEN t.record IS NOT NULL THEN t.{n} ELSE r.{n} END AS {n}")
            }
            _ => format!("t.{n}"),
        })
        .collect();
    format!(
        "SELECT {} FROM \"{table}\" t LEFT JOIN \"{table}_records\" r ON r.id = t.record_id",
        columns.join(", ")
    )
}

/// The GCN notice schemas (nasa-gcn/gcn-schema, npm package `@nasa-gcn/schema` 7.2.3):
/// the folder holding `gcn/notices/...`, fetched from the npm registry once into
/// `.tools/downloads` (a second run uses the copy).
pub fn gcn_schema_dir() -> PathBuf {
    const VERSION: &str = "7.2.3";
    let downloads = workspace_root().join(".tools/downloads");
    let dir = downloads.join(format!("gcn-schema-{VERSION}"));
    if dir.join("package/gcn/notices").is_dir() {
        return dir.join("package");
    }
    std::fs::create_dir_all(&downloads).expect(".tools/downloads");
    // Unpacked beside, then renamed: a second test process never sees a half-made copy.
    let part = tempfile_dir_in(&downloads);
    let packed = std::process::Command::new("npm")
        .args(["pack", "--silent", &format!("@nasa-gcn/schema@{VERSION}")])
        .current_dir(&part)
        .output()
        .expect("npm runs");
    assert!(
        packed.status.success(),
        "npm pack @nasa-gcn/schema@{VERSION} failed (needs the npm registry the first time):\n{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let tarball = String::from_utf8_lossy(&packed.stdout).trim().to_string();
    let unpacked = std::process::Command::new("tar")
        .args(["xzf", &tarball])
        .current_dir(&part)
        .status()
        .expect("tar runs");
    assert!(unpacked.success(), "unpacking {tarball}");
    if std::fs::rename(&part, &dir).is_err() {
        // Another process got there first.
        let _ = std::fs::remove_dir_all(&part);
    }
    dir.join("package")
}

fn tempfile_dir_in(parent: &Path) -> PathBuf {
    let dir = parent.join(format!(
        ".part-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder in .tools/downloads");
    dir
}

/// Validates JSON documents (one per line of `docs`) against the GCN notice schema `id`
/// (its `$id`, e.g. `.../v7.2.3/gcn/notices/boom/alert.schema.json`) with Python's
/// jsonschema (Draft 2020-12, references resolved among the package's schemas): per
/// document `ok` or its errors.
pub fn validate_gcn_notices(id: &str, docs: &[String]) -> Vec<String> {
    let python = python_with_venv("gcn", &["jsonschema==4.23.0"]);
    let dir = gcn_schema_dir();
    let input = std::env::temp_dir().join(format!("solas-gcn-{}.jsonl", std::process::id()));
    std::fs::write(&input, docs.join("\n") + "\n").expect("a temporary file");
    let out = std::process::Command::new(python)
        .args(["-c", VALIDATE_GCN])
        .arg(&dir)
        .arg(id)
        .arg(&input)
        .output()
        .expect("python runs");
    let _ = std::fs::remove_file(&input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

const VALIDATE_GCN: &str = r#"
import json, pathlib, sys
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
root, schema_id, docs = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
resources = []
for p in root.rglob("*.schema.json"):
    d = json.loads(p.read_text())
    resources.append((d["$id"], Resource.from_contents(d)))
registry = Registry().with_resources(resources)
validator = Draft202012Validator(registry[schema_id].contents, registry=registry)
for line in open(docs):
    if line.strip():
        errors = [e.message for e in validator.iter_errors(json.loads(line))]
        print("ok" if not errors else "; ".join(errors[:3]))
"#;
