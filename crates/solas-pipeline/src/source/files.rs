//! Alert files: paths, directories (every `*.avro` below them) and glob patterns, read in
//! sorted order. Files are never modified; their positions need no acknowledgement.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::{Source, SourceError};
use crate::message::{Origin, RawAlert};

pub struct FileSource {
    files: Vec<PathBuf>,
}

impl FileSource {
    /// Expand the inputs now, so that a typo is an error before anything runs.
    pub fn new(inputs: &[String]) -> Result<FileSource, SourceError> {
        let mut files = Vec::new();
        for input in inputs {
            let path = Path::new(input);
            if path.is_dir() {
                collect_dir(path, &mut files)?;
            } else if path.is_file() {
                files.push(path.to_path_buf());
            } else {
                let matches: Vec<PathBuf> = glob::glob(input)
                    .map_err(|e| SourceError::Input(format!("{input}: bad pattern: {e}")))?
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect();
                if matches.is_empty() {
                    return Err(SourceError::Input(format!(
                        "{input}: no such file, directory or matching files"
                    )));
                }
                files.extend(matches);
            }
        }
        files.sort();
        files.dedup();
        Ok(FileSource { files })
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SourceError::Input(format!("{}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "avro") {
            out.push(path);
        }
    }
    Ok(())
}

impl Source for FileSource {
    fn run(
        &mut self,
        out: Sender<RawAlert>,
        acks: Receiver<crate::stage::Ack>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        // Nothing to commit: with the receiver gone the stages' acknowledgements go nowhere
        // (kept unread, they piled up: ~300 bytes an alert, 1.4 GB over 10M alerts).
        drop(acks);
        for path in &self.files {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let payload = std::fs::read(path)
                .map_err(|e| SourceError::Input(format!("{}: {e}", path.display())))?;
            let origin = Origin::File {
                path: path.display().to_string(),
            };
            if out.send(RawAlert::new(origin, payload)).is_err() {
                break;
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("{} files", self.files.len())
    }
}
