//! SFD (Schlegel, Finkbeiner & Davis 1998) E(B−V) from the two Lambert-projection maps.
//!
//! Each hemisphere is a square image in a zenithal equal-area projection about its galactic
//! pole: pixel (x, y) = CRPIX − 1 + LAM_SCAL·sqrt(1 − n sin b)·(cos l, −n sin l), n = +1 for
//! the north map, −1 for the south. Values are bilinearly interpolated, as the `dustmaps`
//! package Lasair uses does by default.

use std::path::{Path, PathBuf};

use crate::sky::equatorial_to_galactic;

#[derive(Debug, thiserror::Error)]
pub enum DustError {
    #[error("SFD map {path} could not be read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SFD map {path} is not a usable FITS image: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

/// One hemisphere's map.
struct Hemisphere {
    nx: usize,
    ny: usize,
    /// 0-based pixel coordinates of the pole.
    cx: f64,
    cy: f64,
    scale: f64,
    data: Vec<f32>,
}

/// SFD E(B−V) lookup over both galactic hemispheres.
pub struct DustMap {
    north: Hemisphere,
    south: Hemisphere,
}

impl std::fmt::Debug for DustMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DustMap {{ north: {}x{}, south: {}x{} }}",
            self.north.nx, self.north.ny, self.south.nx, self.south.ny
        )
    }
}

pub const NORTH_FILE: &str = "SFD_dust_4096_ngp.fits";
pub const SOUTH_FILE: &str = "SFD_dust_4096_sgp.fits";

impl DustMap {
    /// Load `SFD_dust_4096_ngp.fits` and `SFD_dust_4096_sgp.fits` from `dir`.
    pub fn open(dir: &Path) -> Result<DustMap, DustError> {
        Ok(DustMap {
            north: read_hemisphere(&dir.join(NORTH_FILE))?,
            south: read_hemisphere(&dir.join(SOUTH_FILE))?,
        })
    }

    /// E(B−V) at an equatorial position (degrees). NaN for a non-finite position.
    pub fn ebv(&self, ra_deg: f64, dec_deg: f64) -> f64 {
        if !(ra_deg.is_finite() && dec_deg.is_finite()) {
            return f64::NAN;
        }
        let (l, b) = equatorial_to_galactic(ra_deg, dec_deg);
        let (l, b) = (l.to_radians(), b.to_radians());
        let (map, n) = if b >= 0.0 {
            (&self.north, 1.0)
        } else {
            (&self.south, -1.0)
        };
        let r = (1.0 - n * b.sin()).max(0.0).sqrt();
        let x = map.cx + map.scale * r * l.cos();
        let y = map.cy - n * map.scale * r * l.sin();
        map.bilinear(x, y)
    }
}

impl Hemisphere {
    fn pixel(&self, x: usize, y: usize) -> f64 {
        f64::from(self.data[y * self.nx + x])
    }

    /// Bilinear interpolation at 0-based pixel coordinates, clamped to the image.
    fn bilinear(&self, x: f64, y: f64) -> f64 {
        let x = x.clamp(0.0, (self.nx - 1) as f64);
        let y = y.clamp(0.0, (self.ny - 1) as f64);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.nx - 1), (y0 + 1).min(self.ny - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let top = self.pixel(x0, y0) * (1.0 - fx) + self.pixel(x1, y0) * fx;
        let bottom = self.pixel(x0, y1) * (1.0 - fx) + self.pixel(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

fn read_hemisphere(path: &Path) -> Result<Hemisphere, DustError> {
    let bytes = std::fs::read(path).map_err(|source| DustError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_fits_image(&bytes).map_err(|reason| DustError::Malformed {
        path: path.to_path_buf(),
        reason,
    })
}

/// The image size of a dust-map hemisphere file's bytes, or why it is not one: the parser
/// [`DustMap::open`] uses, for the fuzz target (`fuzz/fuzz_targets/dust_fits.rs`).
#[doc(hidden)]
pub fn fits_image_size(bytes: &[u8]) -> Result<(usize, usize), solas_fits::FitsError> {
    parse_fits_image(bytes)
        .map(|h| (h.nx, h.ny))
        .map_err(solas_fits::FitsError::Unusable)
}

/// A primary 2-D float image (BITPIX −32 or −64, read by `solas-fits`) with its Lambert
/// keywords.
fn parse_fits_image(bytes: &[u8]) -> Result<Hemisphere, String> {
    let hdus = solas_fits::hdus(bytes).map_err(|e| e.to_string())?;
    let primary = hdus.first().ok_or("no HDU")?;
    let image = solas_fits::ImageHdu::of(primary)
        .map_err(|e| e.to_string())?
        .ok_or("the primary HDU holds no 2-D image")?;
    if primary.header.get_i64("NAXIS") != Some(2) {
        return Err("NAXIS is not 2".into());
    }
    if !matches!(image.bitpix(), -32 | -64) {
        return Err(format!("BITPIX {} (want -32 or -64)", image.bitpix()));
    }
    let (nx, ny) = (image.width, image.height);
    if nx < 2 || ny < 2 || nx > 1 << 16 || ny > 1 << 16 {
        return Err(format!("unreasonable image size {nx}x{ny}"));
    }
    let data: Vec<f32> = image.values().map(|v| v as f32).collect();
    let float = |k: &str| primary.header.get_f64(k);
    // SFD writes CRPIX = N/2 + 0.5 (1-based) and LAM_SCAL = N/2; derive them when absent so
    // maps of other sizes work.
    let crpix1 = float("CRPIX1").unwrap_or((nx as f64 + 1.0) / 2.0);
    let crpix2 = float("CRPIX2").unwrap_or((ny as f64 + 1.0) / 2.0);
    let scale = float("LAM_SCAL").unwrap_or(nx as f64 / 2.0);
    Ok(Hemisphere {
        nx,
        ny,
        cx: crpix1 - 1.0,
        cy: crpix2 - 1.0,
        scale,
        data,
    })
}

/// Write a minimal BITPIX −32 FITS image (for tests and tools that need a small map).
pub fn write_test_fits(nx: usize, ny: usize, pixels: &[f32]) -> Vec<u8> {
    let cards = [
        "SIMPLE  =                    T".to_string(),
        "BITPIX  =                  -32".to_string(),
        "NAXIS   =                    2".to_string(),
        format!("NAXIS1  = {nx:>20}"),
        format!("NAXIS2  = {ny:>20}"),
        "END".to_string(),
    ];
    let mut out = Vec::new();
    for c in cards {
        out.extend_from_slice(format!("{c:<80}").as_bytes());
    }
    out.resize(
        out.len().div_ceil(solas_fits::BLOCK) * solas_fits::BLOCK,
        b' ',
    );
    for p in pixels {
        out.extend_from_slice(&p.to_be_bytes());
    }
    out.resize(out.len().div_ceil(solas_fits::BLOCK) * solas_fits::BLOCK, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing_errors_are_clear() {
        assert!(parse_fits_image(b"garbage").is_err());
        let mut f = write_test_fits(4, 4, &[0.0; 16]);
        f.truncate(2880 + 10);
        let err = parse_fits_image(&f).err().unwrap_or_default();
        assert!(err.contains("truncated"), "{err}");
    }
}
