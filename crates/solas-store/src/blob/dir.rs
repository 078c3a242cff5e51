//! Cutouts as files: `<root>/<survey>/<last 3 digits of source id>/<source id>_<kind>.fits.lz4`.
//!
//! Each file is the stamp's image HDU, LZ4-frame compressed (readable with the `lz4` tool).
//! Files are written to a temporary name and renamed, so a reader never sees half a file;
//! durability is per batch ([`BlobStore::sync`] flushes the file system once) rather than
//! one fsync per file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use solas_core::{CutoutKind, Survey};

use crate::{fits, BlobStore, StoreError};

pub struct DirBlobStore {
    root: PathBuf,
}

impl DirBlobStore {
    pub fn open(root: &Path) -> Result<DirBlobStore, StoreError> {
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
        Ok(DirBlobStore {
            root: root.to_path_buf(),
        })
    }

    /// Where a cutout lives.
    pub fn path(&self, survey: Survey, source_id: i64, kind: CutoutKind) -> PathBuf {
        self.root
            .join(survey.as_str())
            .join(format!("{:03}", source_id.rem_euclid(1000)))
            .join(format!("{source_id}_{}.fits.lz4", kind.as_str()))
    }
}

impl BlobStore for DirBlobStore {
    fn put_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        let image = fits::trim_to_image(data)?;
        let path = self.path(survey, source_id, kind);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(image.len() / 2));
        encoder
            .write_all(&image)
            .map_err(|e| StoreError::io(&path, e))?;
        let compressed = encoder
            .finish()
            .map_err(|e| StoreError::Invalid(format!("lz4: {e}")))?;
        let tmp = path.with_extension("lz4.tmp");
        std::fs::write(&tmp, &compressed).map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        Ok(compressed.len() as u64)
    }

    fn get_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(survey, source_id, kind);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let mut out = Vec::new();
        lz4_flex::frame::FrameDecoder::new(std::io::BufReader::new(file))
            .read_to_end(&mut out)
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(Some(out))
    }

    fn sync(&self) -> Result<(), StoreError> {
        sync_filesystem(&self.root)
    }
}

/// One flush of the file system that holds `root` (Linux `syncfs`), instead of an fsync
/// per cutout file.
#[cfg(target_os = "linux")]
fn sync_filesystem(root: &Path) -> Result<(), StoreError> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(root).map_err(|e| StoreError::io(root, e))?;
    // SAFETY: syncfs only reads the descriptor, which `dir` keeps open for the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(StoreError::io(root, std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(root: &Path) -> Result<(), StoreError> {
    // Elsewhere: fsync the root directory; file data is flushed by the OS on close.
    std::fs::File::open(root)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(root, e))
}
