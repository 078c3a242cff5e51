//! Cutout blob stores: append-only pack files in a directory (the embedded default) or an
//! S3-compatible object store (scale-out). Both keep each cutout as its image HDU in an LZ4
//! frame (readable with the `lz4` tool) and give back the same bytes.

mod pack;
mod s3;

pub use pack::PackBlobStore;
pub use s3::S3BlobStore;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::{fits, BlobStore, StoreError};

/// The configured cutout store: `s3://bucket[/prefix]` with its options when given, else
/// pack files under `pack_dir`.
pub fn open(
    s3_url: Option<&str>,
    s3_options: &[(String, String)],
    pack_dir: &Path,
) -> Result<Arc<dyn BlobStore>, StoreError> {
    Ok(match s3_url {
        Some(url) => {
            let options: Vec<(&str, &str)> = s3_options
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Arc::new(S3BlobStore::open(url, &options)?)
        }
        None => Arc::new(PackBlobStore::open(pack_dir)?),
    })
}

/// A cutout as stored: trimmed to its image HDU, LZ4-framed.
pub(crate) fn encode(fits_bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let image = fits::trim_to_image(fits_bytes)?;
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(image.len() / 2));
    encoder
        .write_all(&image)
        .and_then(|_| encoder.try_finish().map_err(std::io::Error::other))
        .map_err(|e| StoreError::Invalid(format!("lz4: {e}")))?;
    Ok(encoder.into_inner())
}

/// The FITS bytes of a stored cutout.
pub(crate) fn decode(stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    lz4_flex::frame::FrameDecoder::new(stored)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Invalid(format!("stored cutout is not an LZ4 frame: {e}")))?;
    Ok(out)
}
