//! Just enough FITS to trim a cutout to its image: the header-data units are 2880-byte
//! blocks, the header ends at the `END` card, and the data length follows from BITPIX and
//! NAXISn. Rubin's stamps carry mask, variance and PSF extensions the broker never shows;
//! ZTF's come gzipped. Both are stored as the first HDU that holds an image.

use std::io::Read;

use crate::StoreError;

const BLOCK: usize = 2880;
const CARD: usize = 80;
/// A real stamp is tens of KB (ZTF 63×63, Rubin's with its extensions ~100 KB); 16 MB
/// would hold a 2000×2000 float image. A header claiming more, or a gzip stream inflating
/// past it, is refused: three alerts whose cutouts inflated to 512 MB each took a run to
/// 1.17 GB (audit finding F11).
pub const MAX_CUTOUT_BYTES: u64 = 16 * 1024 * 1024;
const MAX_DATA_BYTES: u64 = MAX_CUTOUT_BYTES;

/// Gunzip if needed, then return the bytes of the first HDU with data (or the primary HDU).
pub fn trim_to_image(input: &[u8]) -> Result<Vec<u8>, StoreError> {
    let raw;
    let fits: &[u8] = if input.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(input.len() * 4);
        // Counted while inflating: one byte past the cap is enough to refuse.
        flate2::read::MultiGzDecoder::new(input)
            .take(MAX_CUTOUT_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| StoreError::NotFits(format!("gzip: {e}")))?;
        if out.len() as u64 > MAX_CUTOUT_BYTES {
            return Err(StoreError::NotFits(format!(
                "gzip stream inflates past {MAX_CUTOUT_BYTES} bytes"
            )));
        }
        raw = out;
        &raw
    } else {
        input
    };
    if !fits.starts_with(b"SIMPLE  =") {
        return Err(StoreError::NotFits("does not start with SIMPLE".into()));
    }
    let mut start = 0;
    let mut first_end = None;
    while start < fits.len() {
        let (end, has_data) = hdu_end(fits, start)?;
        first_end.get_or_insert(end);
        if has_data {
            let hdu = fits.get(start..end).ok_or_else(|| {
                StoreError::NotFits(format!(
                    "data truncated: HDU needs {end} bytes, file has {}",
                    fits.len()
                ))
            })?;
            return Ok(hdu.to_vec());
        }
        start = end;
    }
    let end = first_end.unwrap_or(fits.len()).min(fits.len());
    Ok(fits[..end].to_vec())
}

/// End offset of the HDU starting at `start`, and whether it holds data.
fn hdu_end(fits: &[u8], start: usize) -> Result<(usize, bool), StoreError> {
    let mut bitpix: Option<i64> = None;
    let mut naxis: Option<usize> = None;
    let mut axes: Vec<u64> = Vec::new();
    let (mut pcount, mut gcount) = (0u64, 1u64);
    let mut pos = start;
    loop {
        let card = fits.get(pos..pos + CARD).ok_or_else(|| {
            StoreError::NotFits(format!("header at byte {start} has no END card"))
        })?;
        pos += CARD;
        let key = std::str::from_utf8(&card[..8]).unwrap_or("").trim_end();
        if key == "END" {
            break;
        }
        let value = || -> Option<i64> {
            let text = std::str::from_utf8(&card[10..]).ok()?;
            text.split('/').next()?.trim().parse().ok()
        };
        match key {
            "BITPIX" => bitpix = value(),
            "NAXIS" => naxis = value().and_then(|v| usize::try_from(v).ok()),
            "PCOUNT" => pcount = value().and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
            "GCOUNT" => gcount = value().and_then(|v| u64::try_from(v).ok()).unwrap_or(1),
            k if k.starts_with("NAXIS") => {
                if let Some(v) = value().and_then(|v| u64::try_from(v).ok()) {
                    axes.push(v);
                }
            }
            _ => {}
        }
    }
    let header_end = pos.div_ceil(BLOCK) * BLOCK;
    let bitpix = bitpix.ok_or_else(|| StoreError::NotFits("no BITPIX".into()))?;
    let naxis = naxis.ok_or_else(|| StoreError::NotFits("no NAXIS".into()))?;
    let pixels: u64 = if naxis == 0 {
        0
    } else {
        axes.iter().take(naxis).product()
    };
    let data = (bitpix.unsigned_abs() / 8)
        .checked_mul(gcount.saturating_mul(pcount.saturating_add(pixels)))
        .filter(|&d| d <= MAX_DATA_BYTES)
        .ok_or_else(|| StoreError::NotFits("data size overflows".into()))?;
    let end = header_end + (data as usize).div_ceil(BLOCK) * BLOCK;
    Ok((end, data > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> Vec<u8> {
        format!("{text:<80}").into_bytes()
    }

    fn image_hdu(primary: bool, n: usize) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(card(if primary {
            "SIMPLE  =                    T"
        } else {
            "XTENSION= 'IMAGE   '"
        }));
        h.extend(card("BITPIX  =                  -32"));
        h.extend(card("NAXIS   =                    2"));
        h.extend(card(&format!("NAXIS1  = {n:>20}")));
        h.extend(card(&format!("NAXIS2  = {n:>20}")));
        h.extend(card("END"));
        h.resize(BLOCK, b' ');
        let data = n * n * 4;
        h.extend((0..data).map(|i| (i % 251) as u8));
        h.resize(BLOCK + data.div_ceil(BLOCK) * BLOCK, 0);
        h
    }

    #[test]
    fn trims_extensions_and_keeps_the_image_exactly() {
        let primary = image_hdu(true, 30);
        let mut file = primary.clone();
        file.extend(image_hdu(false, 30));
        assert_eq!(trim_to_image(&file).unwrap(), primary);
        // Gzipped input gives the same bytes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &file).unwrap();
        assert_eq!(trim_to_image(&gz.finish().unwrap()).unwrap(), primary);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(trim_to_image(b"not fits").is_err());
        assert!(trim_to_image(&[0x1f, 0x8b, 1, 2, 3]).is_err());
        let mut truncated = image_hdu(true, 30);
        truncated.truncate(100);
        assert!(trim_to_image(&truncated).is_err());
        let mut short_data = image_hdu(true, 30);
        short_data.truncate(BLOCK + 100);
        assert!(trim_to_image(&short_data).is_err());
    }

    /// Audit finding F11: a gzipped cutout inflating to hundreds of MB is refused as bad
    /// input while it inflates, without holding more than the cap.
    #[test]
    fn f11_a_cutout_gzip_bomb_is_refused_at_the_cap() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut file = image_hdu(true, 30);
        file.resize(MAX_CUTOUT_BYTES as usize + BLOCK * 4, 0);
        std::io::Write::write_all(&mut gz, &file).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
        let e = trim_to_image(&bomb).expect_err("past the cap");
        assert!(matches!(e, StoreError::NotFits(_)), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::BadInput);
        // A header claiming a 4 GB image is refused too.
        let mut huge = image_hdu(true, 30);
        huge[3 * 80..4 * 80].copy_from_slice(&card("NAXIS1  =                32768"));
        huge[4 * 80..5 * 80].copy_from_slice(&card("NAXIS2  =                32768"));
        assert!(trim_to_image(&huge).is_err());
    }
}
