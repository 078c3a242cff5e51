//! Helpers shared by the integration tests: the repository's descriptions, pointed at the
//! shared data wherever `SOLAS_SHARED_DATA` says it is.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn shared() -> PathBuf {
    solas_testdata::shared()
}

pub fn repo_catalogues() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogues")
}

/// Copies `catalogues/<file>` into `dir`, rewriting its relative data path to the shared
/// directory actually in use, and returns the copy's path.
pub fn description(dir: &Path, file: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_catalogues().join(file)).expect("description exists");
    let data = shared().to_string_lossy().replace('\\', "/");
    let text = text.replace("../../shared/data", &data);
    let out = dir.join(file);
    std::fs::write(&out, text).unwrap();
    out
}

/// Every description in the repository's `catalogues/`.
pub fn all_description_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo_catalogues())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    v.sort();
    v
}
