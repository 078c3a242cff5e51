//! Images: the first two axes of an HDU's data array (BITPIX 8, 16, 32, 64, −32 or −64),
//! with BSCALE and BZERO applied. Row 0 is the bottom row, as FITS stores it.

use crate::{FitsError, Hdu, Header};

/// An HDU holding an image of at least two axes (for a cube, its first plane).
pub struct ImageHdu<'a> {
    pub header: &'a Header,
    pub width: usize,
    pub height: usize,
    bitpix: i64,
    scale: f64,
    zero: f64,
    data: &'a [u8],
}

impl<'a> ImageHdu<'a> {
    /// The image of `hdu`, or None when it holds none (a table, or no data).
    pub fn of(hdu: &'a Hdu<'a>) -> Result<Option<ImageHdu<'a>>, FitsError> {
        let h = &hdu.header;
        if h.get("XTENSION").is_some_and(|x| x != "IMAGE") {
            return Ok(None);
        }
        let naxis = h.get_i64("NAXIS").unwrap_or(0);
        if naxis < 2 {
            return Ok(None);
        }
        let axis = |i| {
            h.get_i64(&format!("NAXIS{i}"))
                .and_then(|n| usize::try_from(n).ok())
        };
        let (Some(width), Some(height)) = (axis(1), axis(2)) else {
            return Ok(None);
        };
        if width == 0 || height == 0 {
            return Ok(None);
        }
        let bitpix = h.get_i64("BITPIX").unwrap_or(0);
        let size = pixel_size(bitpix)
            .ok_or_else(|| FitsError::Unusable(format!("BITPIX {bitpix} is not a pixel type")))?;
        // `hdus` checked the whole array against the bytes present; a plane is within it.
        let need = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(size))
            .filter(|&n| n <= hdu.data.len())
            .ok_or_else(|| FitsError::Unusable("image larger than its data".into()))?;
        Ok(Some(ImageHdu {
            header: h,
            width,
            height,
            bitpix,
            scale: h.get_f64("BSCALE").unwrap_or(1.0),
            zero: h.get_f64("BZERO").unwrap_or(0.0),
            data: &hdu.data[..need],
        }))
    }

    /// The first HDU of `hdus` holding an image.
    pub fn first(hdus: &'a [Hdu<'a>]) -> Result<ImageHdu<'a>, FitsError> {
        for hdu in hdus {
            if let Some(image) = ImageHdu::of(hdu)? {
                return Ok(image);
            }
        }
        Err(FitsError::Unusable("no 2-D image in the FITS file".into()))
    }

    /// BITPIX: 8, 16, 32 or 64 for integers, −32 or −64 for floats.
    pub fn bitpix(&self) -> i64 {
        self.bitpix
    }

    /// The pixel values, row by row from the bottom, BSCALE and BZERO applied.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let size = pixel_size(self.bitpix).unwrap_or(1);
        let (bitpix, scale, zero) = (self.bitpix, self.scale, self.zero);
        self.data.chunks_exact(size).map(move |c| {
            let v = match bitpix {
                8 => f64::from(c[0]),
                16 => f64::from(i16::from_be_bytes([c[0], c[1]])),
                32 => f64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                64 => i64::from_be_bytes(b8(c)) as f64,
                -32 => f64::from(f32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                _ => f64::from_be_bytes(b8(c)),
            };
            if scale == 1.0 && zero == 0.0 {
                v
            } else {
                v * scale + zero
            }
        })
    }
}

fn pixel_size(bitpix: i64) -> Option<usize> {
    match bitpix {
        8 => Some(1),
        16 => Some(2),
        32 | -32 => Some(4),
        64 | -64 => Some(8),
        _ => None,
    }
}

fn b8(c: &[u8]) -> [u8; 8] {
    [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(bitpix: i64, extra: &[&str], w: usize, h: usize, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut card = |s: String| {
            let mut c = s.into_bytes();
            c.resize(80, b' ');
            out.extend(c);
        };
        card("SIMPLE  =                    T".into());
        card(format!("BITPIX  = {bitpix:>20}"));
        card("NAXIS   =                    2".into());
        card(format!("NAXIS1  = {w:>20}"));
        card(format!("NAXIS2  = {h:>20}"));
        for e in extra {
            card(e.to_string());
        }
        card("END".into());
        out.resize(crate::BLOCK, b' ');
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(crate::BLOCK) * crate::BLOCK, 0);
        out
    }

    #[test]
    fn reads_scaled_integer_and_float_pixels() {
        let data: Vec<u8> = [1i16, -2, 3, 4]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let f = image(
            16,
            &[
                "BSCALE  =                  2.0",
                "BZERO   =                 10.0",
            ],
            2,
            2,
            &data,
        );
        let hdus = crate::hdus(&f).unwrap();
        let img = ImageHdu::first(&hdus).unwrap();
        assert_eq!((img.width, img.height), (2, 2));
        assert_eq!(img.values().collect::<Vec<_>>(), [12.0, 6.0, 16.0, 18.0]);
        let data: Vec<u8> = [0.5f32, f32::NAN]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let f = image(-32, &[], 2, 1, &data);
        let hdus = crate::hdus(&f).unwrap();
        let v: Vec<f64> = ImageHdu::first(&hdus).unwrap().values().collect();
        assert_eq!(v[0], 0.5);
        assert!(v[1].is_nan());
    }

    #[test]
    fn a_table_or_an_empty_primary_is_no_image() {
        let f = crate::testing::bintable(&[], &[("UNIQ", "K")], 8, &[0; 8]);
        let hdus = crate::hdus(&f).unwrap();
        assert!(ImageHdu::first(&hdus).is_err());
    }
}
