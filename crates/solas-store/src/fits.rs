//! A cutout trimmed to its image: Rubin's stamps carry mask, variance and PSF extensions
//! the broker never shows; ZTF's come gzipped. Both are stored as the first HDU that holds
//! data (read by `solas-fits`), byte for byte.

use crate::StoreError;

#[cfg(test)]
const BLOCK: usize = solas_fits::BLOCK;

/// A real stamp is tens of KB (ZTF 63×63, Rubin's with its extensions ~100 KB); 16 MB
/// would hold a 2000×2000 float image. An HDU larger, or a gzip stream inflating past it
/// (refused while it inflates), is bad input: three alerts whose cutouts inflated to 512 MB each took a run to 1.17 GB
/// (audit finding F11).
pub const MAX_CUTOUT_BYTES: u64 = 16 * 1024 * 1024;

/// Gunzip if needed, then return the bytes of the first HDU with data (or the primary HDU).
pub fn trim_to_image(input: &[u8]) -> Result<Vec<u8>, StoreError> {
    let bad = |e: solas_fits::FitsError| StoreError::NotFits(e.to_string());
    let fits = solas_fits::maybe_gunzip(input, MAX_CUTOUT_BYTES).map_err(bad)?;
    // Read up to the first HDU with data, and no further: a stamp's later extensions (mask,
    // variance, PSF) are not kept, so they need not be whole.
    let mut primary = None;
    for hdu in solas_fits::HduIter::new(&fits) {
        let hdu = hdu.map_err(bad)?;
        if hdu.data.len() as u64 > MAX_CUTOUT_BYTES {
            return Err(StoreError::NotFits(format!(
                "an HDU of {} bytes is larger than a cutout ({MAX_CUTOUT_BYTES})",
                hdu.data.len()
            )));
        }
        if !hdu.data.is_empty() {
            return Ok(fits[hdu.start..hdu.end].to_vec());
        }
        primary.get_or_insert((hdu.start, hdu.end));
    }
    let (start, end) = primary.ok_or_else(|| StoreError::NotFits("no HDU".into()))?;
    Ok(fits[start..end].to_vec())
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

    /// A stamp whose later extension is cut short (the mask, variance or PSF the broker
    /// never shows) is still stored: only the image must be whole.
    #[test]
    fn a_stamp_with_a_broken_later_extension_keeps_its_image() {
        let primary = image_hdu(true, 30);
        let mut file = primary.clone();
        let mut ext = image_hdu(false, 30);
        ext.truncate(BLOCK + 100);
        file.extend(ext);
        assert_eq!(trim_to_image(&file).unwrap(), primary);
    }

    /// Axes whose product overflows (a cutout edited to NAXIS1 = 2^63 − 1) are bad input,
    /// not a panic: found by mutating real cutouts.
    #[test]
    fn a_cutout_whose_axes_overflow_is_refused_not_a_panic() {
        let mut f = image_hdu(true, 30);
        f[3 * 80..4 * 80].copy_from_slice(&card("NAXIS1  =  9223372036854775807"));
        let e = trim_to_image(&f).expect_err("overflow");
        assert_eq!(e.kind(), crate::ErrorKind::BadInput);
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
