//! Cutouts as PNG for the object page: the first image HDU of a stored FITS cutout
//! (BITPIX 8, 16, 32, 64, -32 or -64, with BSCALE/BZERO), stretched linearly between its
//! 0.5th and 99.5th percentiles (robust to the odd hot pixel, like ds9's and Lasair's
//! cutout views), written as 8-bit greyscale with north up (FITS rows run bottom to top).

/// A FITS image: `width × height` values, row 0 at the bottom.
#[derive(Debug)]
pub(crate) struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f64>,
}

/// Largest side drawn: a cutout is tens of pixels across.
const MAX_SIDE: usize = 8192;

/// The first HDU holding a 2-D image (read by `solas-fits`).
pub(crate) fn read_image(bytes: &[u8]) -> Result<Image, solas_fits::FitsError> {
    let hdus = solas_fits::hdus(bytes)?;
    let img = solas_fits::ImageHdu::first(&hdus)?;
    if img.width > MAX_SIDE || img.height > MAX_SIDE {
        return Err(solas_fits::FitsError::Unusable(format!(
            "{}×{} is too large for a cutout",
            img.width, img.height
        )));
    }
    Ok(Image {
        width: img.width,
        height: img.height,
        pixels: img.values().collect(),
    })
}

/// The value at fraction `q` of the sorted finite pixels.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// 8-bit grey levels, top row first, stretched between the 0.5th and 99.5th percentiles.
/// Blank (NaN) pixels are black.
pub(crate) fn stretch(img: &Image) -> Vec<u8> {
    let mut finite: Vec<f64> = img
        .pixels
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    finite.sort_by(f64::total_cmp);
    let (lo, hi) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        (percentile(&finite, 0.005), percentile(&finite, 0.995))
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut out = Vec::with_capacity(img.width * img.height);
    for row in (0..img.height).rev() {
        for v in &img.pixels[row * img.width..(row + 1) * img.width] {
            out.push(if v.is_finite() {
                (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8
            } else {
                0
            });
        }
    }
    out
}

/// A FITS cutout as PNG bytes.
pub(crate) fn fits_to_png(fits: &[u8]) -> Result<Vec<u8>, String> {
    let img = read_image(fits).map_err(|e| e.to_string())?;
    let grey = stretch(&img);
    let mut out = Vec::new();
    let w = u32::try_from(img.width).map_err(|e| e.to_string())?;
    let h = u32::try_from(img.height).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&grey).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal FITS file: one primary HDU with a `w × h` image.
    pub(crate) fn fits(bitpix: i64, w: usize, h: usize, data: &[u8]) -> Vec<u8> {
        let mut head = String::new();
        for (k, v) in [
            ("SIMPLE", "T".to_string()),
            ("BITPIX", bitpix.to_string()),
            ("NAXIS", "2".to_string()),
            ("NAXIS1", w.to_string()),
            ("NAXIS2", h.to_string()),
            ("BZERO", "10.0".to_string()),
        ] {
            head.push_str(&format!("{k:<8}= {v:>20}{:50}", ""));
        }
        head.push_str(&format!("{:<80}", "END"));
        let mut out = head.into_bytes();
        out.resize(
            out.len().div_ceil(solas_fits::BLOCK) * solas_fits::BLOCK,
            b' ',
        );
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(solas_fits::BLOCK) * solas_fits::BLOCK, 0);
        out
    }

    #[test]
    fn reads_and_stretches_float_and_int_images() {
        let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_be_bytes()).collect();
        let img = read_image(&fits(-32, 3, 2, &data)).unwrap();
        assert_eq!((img.width, img.height), (3, 2));
        assert_eq!(img.pixels[5], 15.0, "BZERO applied");
        // Top row first: the FITS row 1 (values 3..5) comes out first.
        assert_eq!(stretch(&img), vec![153, 204, 255, 0, 51, 102]);
        let data: Vec<u8> = [-5i16, 7].iter().flat_map(|v| v.to_be_bytes()).collect();
        let img = read_image(&fits(16, 2, 1, &data)).unwrap();
        assert_eq!(img.pixels, vec![5.0, 17.0]);
        let png = fits_to_png(&fits(16, 2, 1, &data)).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn refuses_broken_files() {
        assert!(read_image(b"").is_err());
        assert!(read_image(&[b' '; 2880]).is_err());
        let mut short = fits(-32, 100, 100, &[]);
        short.truncate(2880);
        assert!(read_image(&short).is_err());
        assert!(read_image(&fits(12, 1, 1, &[0, 0])).is_err());
    }
}
