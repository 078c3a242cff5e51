//! Cutouts as images for the object page: the first image HDU of a stored FITS cutout
//! (BITPIX 8, 16, 32, 64, -32 or -64, with BSCALE/BZERO), turned north up and east left,
//! stretched (linear between the 0.5th and 99.5th percentiles, IRAF's zscale, or asinh),
//! written as 8-bit greyscale PNG; and an SVG that shows that PNG with a compass and a
//! scale bar.
//!
//! Orientation: a stamp with a celestial WCS (Rubin's PC or CD matrix) is resampled through
//! it (bilinear; Rubin's are rotated about 28°). ZTF's stamps carry no WCS: their pixel x
//! runs west and y runs south (the review of 2026-12 measured it on five supernova–host
//! pairs), so they are flipped top to bottom, pixel for pixel.

use solas_core::Survey;

/// A FITS image: `width × height` values, row 0 at the bottom.
#[derive(Debug)]
pub(crate) struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f64>,
    /// How its pixels lie on the sky, when the header says (a WCS).
    pub wcs: Option<Linear>,
}

/// The linear part of a stamp's WCS: (east, north) arcseconds per pixel step along x and y.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Linear {
    /// [[east per x, east per y], [north per x, north per y]].
    pub m: [[f64; 2]; 2],
}

impl Linear {
    /// ZTF's stamps: x west, y south, 1.012″ a pixel (ZTF's plate scale).
    pub const ZTF: Linear = Linear {
        m: [[-1.012, 0.0], [0.0, -1.012]],
    };

    /// Arcseconds a pixel (the square root of the area a pixel covers).
    pub fn scale(&self) -> f64 {
        self.det().abs().sqrt()
    }

    fn det(&self) -> f64 {
        self.m[0][0] * self.m[1][1] - self.m[0][1] * self.m[1][0]
    }

    /// The pixel step that moves by (east, north) arcseconds.
    fn inverse(&self, east: f64, north: f64) -> (f64, f64) {
        let d = self.det();
        let [[a, b], [c, e]] = self.m;
        ((e * east - b * north) / d, (-c * east + a * north) / d)
    }

    /// The WCS of a header: CDi_j, or PCi_j × CDELTi (degrees), as arcseconds. None
    /// without one, or when it is singular or not finite.
    fn of(h: &solas_fits::Header) -> Option<Linear> {
        let cd = |i: usize, j: usize| h.get_f64(&format!("CD{i}_{j}"));
        let m = if let Some(c11) = cd(1, 1) {
            [
                [c11, cd(1, 2).unwrap_or(0.0)],
                [cd(2, 1).unwrap_or(0.0), cd(2, 2)?],
            ]
        } else {
            let pc = |i: usize, j: usize| {
                h.get_f64(&format!("PC{i}_{j}"))
                    .unwrap_or(if i == j { 1.0 } else { 0.0 })
            };
            let d1 = h.get_f64("CDELT1");
            let d2 = h.get_f64("CDELT2");
            if d1.is_none() && h.get_f64("PC1_1").is_none() {
                return None;
            }
            let (d1, d2) = (d1.unwrap_or(1.0), d2.unwrap_or(1.0));
            [
                [pc(1, 1) * d1, pc(1, 2) * d1],
                [pc(2, 1) * d2, pc(2, 2) * d2],
            ]
        };
        let l = Linear {
            m: m.map(|r| r.map(|v| v * 3600.0)),
        };
        (l.det().is_finite() && l.det() != 0.0).then_some(l)
    }
}

/// Largest side drawn: a cutout is tens of pixels across.
const MAX_SIDE: usize = 8192;

/// The first HDU holding a 2-D image (read by `solas-fits`), with its WCS if any.
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
        wcs: Linear::of(img.header),
    })
}

/// An image north up and east left: `width × height` values, top row first; NaN where
/// no pixel of the stamp falls.
#[derive(Debug)]
pub(crate) struct Oriented {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f64>,
    /// Arcseconds a pixel.
    pub scale: f64,
    /// How the orientation was known, for the page: "WCS" or "ZTF".
    pub from: &'static str,
}

/// The stamp turned north up, east left, at its own pixel scale, about its centre.
pub(crate) fn orient(img: &Image, survey: Survey) -> Oriented {
    let (wcs, from) = match (img.wcs, survey) {
        (Some(w), _) => (w, "WCS"),
        (None, Survey::Ztf) => (Linear::ZTF, "ZTF"),
        // No WCS and no known layout: FITS's usual one (east left, north up).
        (None, Survey::Lsst) => (
            Linear {
                m: [[-1.0, 0.0], [0.0, 1.0]],
            },
            "FITS",
        ),
    };
    let s = wcs.scale();
    let (w, h) = (img.width, img.height);
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let at = |x: usize, y: usize| img.pixels[y * w + x];
    let mut pixels = Vec::with_capacity(w * h);
    for j in 0..h {
        for i in 0..w {
            // Output right is west, up is north.
            let (west, north) = ((i as f64 - cx) * s, (cy - j as f64) * s);
            let (dx, dy) = wcs.inverse(-west, north);
            pixels.push(bilinear(cx + dx, cy + dy, w, h, &at));
        }
    }
    Oriented {
        width: w,
        height: h,
        pixels,
        scale: s,
        from,
    }
}

/// The value at (x, y) in pixel units (row 0 at the bottom), interpolated between the four
/// pixels around it; exact at whole positions, NaN outside the image.
fn bilinear(x: f64, y: f64, w: usize, h: usize, at: &impl Fn(usize, usize) -> f64) -> f64 {
    const EDGE: f64 = 1e-9;
    if !(x > -EDGE && y > -EDGE && x < w as f64 - 1.0 + EDGE && y < h as f64 - 1.0 + EDGE) {
        return f64::NAN;
    }
    let (x0, y0) = (x.floor().max(0.0) as usize, y.floor().max(0.0) as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (
        (x - x0 as f64).clamp(0.0, 1.0),
        (y - y0 as f64).clamp(0.0, 1.0),
    );
    let v = |xx, yy, wt: f64| if wt == 0.0 { 0.0 } else { at(xx, yy) * wt };
    v(x0, y0, (1.0 - fx) * (1.0 - fy))
        + v(x1, y0, fx * (1.0 - fy))
        + v(x0, y1, (1.0 - fx) * fy)
        + v(x1, y1, fx * fy)
}

/// How pixel values become grey levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stretch {
    /// Linear between the 0.5th and 99.5th percentiles.
    Linear,
    /// IRAF's zscale limits (contrast 0.25), linear between them.
    Zscale,
    /// asinh between the 0.5th and 99.5th percentiles: faint outskirts and a bright core
    /// both visible.
    Asinh,
}

impl Stretch {
    pub fn parse(name: &str) -> Option<Stretch> {
        match name {
            "linear" => Some(Stretch::Linear),
            "zscale" => Some(Stretch::Zscale),
            "asinh" => Some(Stretch::Asinh),
            _ => None,
        }
    }
}

/// The value at fraction `q` of the sorted finite pixels.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// IRAF's zscale limits on sorted values: a line fitted to the sorted values with 2.5σ
/// rejection, its slope divided by the contrast (0.25), about the median.
fn zscale(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    let (min, max) = (sorted[0], sorted[n - 1]);
    if n < 5 {
        return (min, max);
    }
    let median = percentile(sorted, 0.5);
    let centre = (n - 1) as f64 / 2.0;
    let mut keep = vec![true; n];
    let mut slope = 0.0;
    for _ in 0..5 {
        let pts: Vec<(f64, f64)> = (0..n)
            .filter(|&i| keep[i])
            .map(|i| (i as f64 - centre, sorted[i]))
            .collect();
        if pts.len() < n / 2 {
            break;
        }
        let k = pts.len() as f64;
        let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let (mx, my) = (sx / k, sy / k);
        let sxx: f64 = pts.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let intercept = my - slope * mx;
        let resid: Vec<f64> = (0..n)
            .map(|i| sorted[i] - (intercept + slope * (i as f64 - centre)))
            .collect();
        let sigma = (pts
            .iter()
            .map(|(x, y)| (y - intercept - slope * x).powi(2))
            .sum::<f64>()
            / k)
            .sqrt();
        let before = keep.iter().filter(|&&k| k).count();
        for i in 0..n {
            keep[i] = resid[i].abs() <= 2.5 * sigma;
        }
        if keep.iter().filter(|&&k| k).count() == before {
            break;
        }
    }
    let slope = slope / 0.25;
    (
        (median - centre * slope).max(min),
        (median + centre * slope).min(max),
    )
}

/// 8-bit grey levels of `img`'s pixels in its order. Blank (NaN) pixels are black.
pub(crate) fn stretch(img: &Oriented, how: Stretch) -> Vec<u8> {
    let mut finite: Vec<f64> = img
        .pixels
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    finite.sort_by(f64::total_cmp);
    let (lo, hi) = match (finite.is_empty(), how) {
        (true, _) => (0.0, 1.0),
        (false, Stretch::Zscale) => zscale(&finite),
        (false, _) => (percentile(&finite, 0.005), percentile(&finite, 0.995)),
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    // asinh's softening: the fraction of the range over which it is still linear.
    const A: f64 = 0.05;
    let level = |v: f64| {
        let x = ((v - lo) / span).clamp(0.0, 1.0);
        let y = match how {
            Stretch::Asinh => (x / A).asinh() / (1.0 / A).asinh(),
            _ => x,
        };
        (y * 255.0).round() as u8
    };
    img.pixels
        .iter()
        .map(|&v| if v.is_finite() { level(v) } else { 0 })
        .collect()
}

/// A stamp drawn: its PNG, size and scale, and how its orientation was known.
pub(crate) struct Stamp {
    pub png: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub scale: f64,
    pub from: &'static str,
}

/// A FITS cutout drawn north up, east left, with `how`.
pub(crate) fn fits_to_stamp(fits: &[u8], survey: Survey, how: Stretch) -> Result<Stamp, String> {
    let img = read_image(fits).map_err(|e| e.to_string())?;
    let oriented = orient(&img, survey);
    let grey = stretch(&oriented, how);
    let mut out = Vec::new();
    let w = u32::try_from(oriented.width).map_err(|e| e.to_string())?;
    let h = u32::try_from(oriented.height).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&grey).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(Stamp {
        png: out,
        width: oriented.width,
        height: oriented.height,
        scale: oriented.scale,
        from: oriented.from,
    })
}

/// The stamp as SVG: the PNG (pixels kept sharp) with a compass (N up, E left) and a scale
/// bar of a round number of arcseconds, about a third of the width.
pub(crate) fn stamp_svg(stamp: &Stamp) -> String {
    use base64::Engine;
    let (w, h) = (stamp.width as f64, stamp.height as f64);
    let data = base64::engine::general_purpose::STANDARD.encode(&stamp.png);
    let u = w / 40.0; // one drawing unit: 1/40 of the width
    let bar_arcsec = [60.0, 30.0, 20.0, 10.0, 5.0, 2.0, 1.0, 0.5]
        .into_iter()
        .find(|a| a / stamp.scale <= w / 3.0)
        .unwrap_or(0.5);
    let bar = bar_arcsec / stamp.scale;
    let (bx, by) = (w - 2.0 * u - bar, h - 2.5 * u);
    // The compass's corner, with room on its left for the "E".
    let (cx, cy, arm) = (14.0 * u, h - 2.5 * u, 8.0 * u);
    let label = if bar_arcsec >= 60.0 {
        format!("{}′", bar_arcsec / 60.0)
    } else {
        format!("{bar_arcsec}″")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w8}" height="{h8}">
<image href="data:image/png;base64,{data}" width="{w}" height="{h}" style="image-rendering:pixelated"/>
<g stroke="#ffd54f" stroke-width="{sw}" fill="none" stroke-linecap="round">
<path d="M{cx} {cy} V{ny} l{mu} {u2} M{cx} {ny} l{u} {u2} M{cx} {cy} H{ex} l{u2} {mu} M{ex} {cy} l{u2} {u}"/>
<path d="M{bx} {by} H{bx2}"/>
</g>
<g fill="#ffd54f" font-family="sans-serif" font-size="{fs}" font-weight="bold">
<text x="{cx}" y="{nty}" text-anchor="middle">N</text>
<text x="{etx}" y="{ety}" text-anchor="end">E</text>
<text x="{lx}" y="{ly}" text-anchor="middle">{label}</text>
</g>
</svg>"##,
        w8 = w * 8.0,
        mu = -u,
        u2 = 2.0 * u,
        h8 = h * 8.0,
        sw = u * 0.6,
        ny = cy - arm,
        ex = cx - arm,
        bx2 = bx + bar,
        fs = u * 3.5,
        nty = cy - arm - u * 0.8,
        etx = cx - arm - u * 0.8,
        ety = cy + u * 1.2,
        lx = bx + bar / 2.0,
        ly = by - u * 1.2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal FITS file: one primary HDU with a `w × h` image and extra cards.
    pub(crate) fn fits(
        bitpix: i64,
        w: usize,
        h: usize,
        data: &[u8],
        extra: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut head = String::new();
        let mut cards = vec![
            ("SIMPLE", "T".to_string()),
            ("BITPIX", bitpix.to_string()),
            ("NAXIS", "2".to_string()),
            ("NAXIS1", w.to_string()),
            ("NAXIS2", h.to_string()),
            ("BZERO", "10.0".to_string()),
        ];
        cards.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        for (k, v) in cards {
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

    fn oriented(img: &Image, survey: Survey) -> Vec<f64> {
        orient(img, survey).pixels
    }

    #[test]
    fn reads_and_stretches_float_and_int_images() {
        let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_be_bytes()).collect();
        let img = read_image(&fits(-32, 3, 2, &data, &[])).unwrap();
        assert_eq!((img.width, img.height), (3, 2));
        assert_eq!(img.pixels[5], 15.0, "BZERO applied");
        assert_eq!(img.wcs, None);
        let data: Vec<u8> = [-5i16, 7].iter().flat_map(|v| v.to_be_bytes()).collect();
        let img = read_image(&fits(16, 2, 1, &data, &[])).unwrap();
        assert_eq!(img.pixels, vec![5.0, 17.0]);
        let stamp = fits_to_stamp(&fits(16, 2, 1, &data, &[]), Survey::Ztf, Stretch::Linear);
        assert_eq!(&stamp.unwrap().png[1..4], b"PNG");
    }

    /// ZTF's y runs south, so FITS row 0 is the northernmost and comes out on top, pixel
    /// for pixel.
    #[test]
    fn ztf_stamps_are_flipped_top_to_bottom_exactly() {
        let img = Image {
            width: 3,
            height: 2,
            pixels: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            wcs: None,
        };
        assert_eq!(
            oriented(&img, Survey::Ztf),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        // A stamp with FITS's usual layout (y north, x west-to-east reversed: east left)
        // keeps its last row on top.
        let usual = Image {
            wcs: Some(Linear {
                m: [[-1.0, 0.0], [0.0, 1.0]],
            }),
            ..img
        };
        assert_eq!(
            oriented(&usual, Survey::Ztf),
            vec![3.0, 4.0, 5.0, 0.0, 1.0, 2.0]
        );
    }

    /// A WCS rotated by 90° (east along +y, north along +x) is turned back: the pixel
    /// north of the centre comes out above it.
    #[test]
    fn a_rotated_wcs_is_turned_north_up_east_left() {
        let rotated = [
            ("CD1_1", "0.0"),
            ("CD1_2", "2.7777777777778E-04"),
            ("CD2_1", "2.7777777777778E-04"),
            ("CD2_2", "0.0"),
        ];
        // 3×3, one bright pixel one step along +x from the centre: north of it.
        let mut px = [0f32; 9];
        px[5] = 100.0;
        let data: Vec<u8> = px.iter().flat_map(|v| v.to_be_bytes()).collect();
        let img = read_image(&fits(-32, 3, 3, &data, &rotated)).unwrap();
        let wcs = img.wcs.expect("a WCS");
        assert!((wcs.scale() - 1.0).abs() < 1e-6, "1″ a pixel");
        let out = orient(&img, Survey::Lsst);
        assert_eq!(out.from, "WCS");
        // Top row, middle column: north of the centre.
        let top_middle = out.pixels[1];
        assert!((top_middle - 110.0).abs() < 1e-6, "{:?}", out.pixels);
        // PC × CDELT is read as CD.
        let pc = [
            ("PC1_1", "-4.8E-05"),
            ("PC1_2", "-2.7E-05"),
            ("PC2_1", "-2.7E-05"),
            ("PC2_2", "4.8E-05"),
            ("CDELT1", "1.0"),
            ("CDELT2", "1.0"),
        ];
        let img = read_image(&fits(-32, 3, 3, &data, &pc)).unwrap();
        assert!((img.wcs.unwrap().scale() - 0.198).abs() < 0.001);
    }

    #[test]
    fn stretches_order_levels_and_zscale_ignores_outliers() {
        let pixels: Vec<f64> = (0..100).map(f64::from).chain([1e6]).collect();
        let img = Oriented {
            width: 101,
            height: 1,
            pixels,
            scale: 1.0,
            from: "WCS",
        };
        for how in [Stretch::Linear, Stretch::Zscale, Stretch::Asinh] {
            let g = stretch(&img, how);
            assert!(g.windows(2).all(|p| p[0] <= p[1]), "{how:?} monotonic");
            assert_eq!(g[100], 255, "{how:?}");
        }
        // The outlier does not flatten the rest under zscale (IRAF's contrast 0.25 spreads
        // the ramp over 0–250), as it does the percentiles of 101 values.
        let z = stretch(&img, Stretch::Zscale);
        assert!(z[50] > 40 && z[50] < 60, "{}", z[50]);
        let ramp = Oriented {
            width: 100,
            pixels: (0..100).map(f64::from).collect(),
            ..img
        };
        let a = stretch(&ramp, Stretch::Asinh);
        let l = stretch(&ramp, Stretch::Linear);
        assert!(
            a[10] > l[10] + 50,
            "asinh lifts the faint end: {} {}",
            a[10],
            l[10]
        );
    }

    #[test]
    fn refuses_broken_files() {
        assert!(read_image(b"").is_err());
        assert!(read_image(&[b' '; 2880]).is_err());
        let mut short = fits(-32, 100, 100, &[], &[]);
        short.truncate(2880);
        assert!(read_image(&short).is_err());
        assert!(read_image(&fits(12, 1, 1, &[0, 0], &[])).is_err());
    }
}
