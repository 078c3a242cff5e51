//! HATS catalogues (Hierarchical Adaptive Tiling Scheme: LSDB's format, in which the survey
//! archives publish Gaia, 2MASS, ZTF and others): a directory whose
//! `dataset/Norder=K/Dir=D/Npix=N.parquet` files each hold the rows of HEALPix pixel N at
//! order K (nested). `Npix=N.parquet` may also be a directory of Parquet files (HATS ≥ 0.5
//! allows it). Each file is an ordinary Parquet file read by [`super::parquet`]; this
//! module finds them and puts them in sky order (a pixel's place at order 29), so a load
//! reads the catalogue as it is laid out on disk.
//!
//! Only the directory layout is read, not `_metadata` or `partition_info.csv` (they repeat
//! it). A partition file that is cut short or corrupt fails the whole load with the Parquet
//! reader's error and the file's name.

use std::fs;
use std::path::{Path, PathBuf};

use crate::CatalogueError;

/// The partition files of the HATS catalogue at `dir`, in sky order.
pub(crate) fn partitions(dir: &Path) -> Result<Vec<PathBuf>, CatalogueError> {
    let dataset = dir.join("dataset");
    if !dataset.is_dir() {
        return Err(CatalogueError::format(
            dir,
            "not a HATS catalogue: no dataset/ directory",
        ));
    }
    let mut found: Vec<(u64, u8, PathBuf)> = Vec::new();
    for order_dir in read_dir(&dataset)? {
        let Some(order) = key(&order_dir, "Norder=").and_then(|o| u8::try_from(o).ok()) else {
            continue; // _metadata, _common_metadata and the like
        };
        if order > 29 {
            return Err(CatalogueError::format(&order_dir, "HEALPix order above 29"));
        }
        for dir_dir in read_dir(&order_dir)? {
            if key(&dir_dir, "Dir=").is_none() {
                continue;
            }
            for file in read_dir(&dir_dir)? {
                let Some(pixel) = key(&file, "Npix=") else {
                    continue;
                };
                let start = pixel
                    .checked_mul(1u64 << (2 * (29 - u32::from(order))))
                    .filter(|_| pixel < 12 << (2 * u32::from(order)))
                    .ok_or_else(|| {
                        CatalogueError::format(&file, format!("no pixel {pixel} at order {order}"))
                    })?;
                if file.is_dir() {
                    let mut parts: Vec<PathBuf> = read_dir(&file)?
                        .into_iter()
                        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                        .collect();
                    parts.sort();
                    found.extend(parts.into_iter().map(|p| (start, order, p)));
                } else {
                    found.push((start, order, file));
                }
            }
        }
    }
    if found.is_empty() {
        return Err(CatalogueError::format(
            &dataset,
            "no Norder=*/Dir=*/Npix=* partitions in the HATS catalogue",
        ));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}

/// `Norder=1/Dir=0/Npix=12.parquet`: a partition as bad-row reports name it.
pub(crate) fn label(path: &Path) -> String {
    let parts: Vec<_> = path
        .components()
        .rev()
        .take_while(|c| c.as_os_str() != "dataset")
        .collect();
    parts
        .iter()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The number after `prefix` in a path's file name (`Npix=12.parquet` → 12).
fn key(path: &Path, prefix: &str) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix(prefix)?;
    let digits = rest.split('.').next()?;
    digits.parse().ok()
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, CatalogueError> {
    let mut v = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| CatalogueError::io(dir, e))? {
        v.push(entry.map_err(|e| CatalogueError::io(dir, e))?.path());
    }
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_labels() {
        assert_eq!(key(Path::new("a/Npix=12.parquet"), "Npix="), Some(12));
        assert_eq!(key(Path::new("a/Norder=3"), "Norder="), Some(3));
        assert_eq!(key(Path::new("a/_metadata"), "Norder="), None);
        assert_eq!(
            label(Path::new("/x/gaia/dataset/Norder=1/Dir=0/Npix=12.parquet")),
            "Norder=1/Dir=0/Npix=12.parquet"
        );
    }
}
