//! Whole-sky maps drawn on the server (no script, no tiles): the Mollweide equal-area
//! projection (`mapproj`, as the `moc` crate draws MOCs and as LIGO draws skymaps) of
//! right ascension and declination, 12 h in the middle and east to the left, with a
//! coordinate grid, the Galactic plane, one linked dot per object, and optionally regions
//! (watchmaps, a GW event's credible regions) rasterised to a PNG beneath.

use mapproj::pseudocyl::mol::Mol;
use mapproj::{CanonicalProjection, LonLat, ProjXY};
use maud::{html, Markup, PreEscaped};

/// Half-width and half-height of the projection (√2·2 by √2).
const HALF_W: f64 = 2.0 * std::f64::consts::SQRT_2;
const HALF_H: f64 = std::f64::consts::SQRT_2;
/// SVG units (and PNG pixels) per projection unit.
const SCALE: f64 = 100.0;

/// The map's size in SVG units and in the region PNG's pixels.
pub(crate) const WIDTH: u32 = (2.0 * HALF_W * SCALE) as u32;
pub(crate) const HEIGHT: u32 = (2.0 * HALF_H * SCALE) as u32;

/// (RA, Dec) in degrees to the map (y down, east left); `None` off the projection.
pub(crate) fn project(ra: f64, dec: f64) -> Option<(f64, f64)> {
    // Longitude from the map's centre (RA 180°), increasing eastwards = leftwards.
    let lon = (180.0 - ra.rem_euclid(360.0)).to_radians();
    let lat = dec.clamp(-90.0, 90.0).to_radians();
    let xy = Mol::new().proj(&LonLat::new(lon, lat).to_xyz())?;
    Some(((xy.x() + HALF_W) * SCALE, (HALF_H - xy.y()) * SCALE))
}

/// The map's point (x, y) back to (RA, Dec) in degrees; `None` outside the sky.
pub(crate) fn unproject(x: f64, y: f64) -> Option<(f64, f64)> {
    let xyz = Mol::new().unproj(&ProjXY::new(x / SCALE - HALF_W, HALF_H - y / SCALE))?;
    let lon = xyz.y().atan2(xyz.x()).to_degrees();
    let dec = xyz.z().clamp(-1.0, 1.0).asin().to_degrees();
    Some(((180.0 - lon).rem_euclid(360.0), dec))
}

/// A region to fill: whether a position (RA, Dec in degrees) is in it, and its RGBA colour.
pub(crate) type Region<'a> = (&'a dyn Fn(f64, f64) -> bool, [u8; 4]);

/// A PNG of the whole map with each region filled in its colour (later regions over
/// earlier ones), the rest of the sky dark and outside it transparent: `inside(ra, dec)`
/// says whether a position is in a region.
pub(crate) fn regions_png(regions: &[Region]) -> Vec<u8> {
    raster_png(WIDTH, HEIGHT, unproject, regions)
}

/// A `width` × `height` PNG with each region filled in its colour (later regions over
/// earlier ones), the rest of the sky dark and places `at` finds no position for
/// transparent; `at` gives a pixel centre's (RA, Dec).
pub(crate) fn raster_png(
    width: u32,
    height: u32,
    at: impl Fn(f64, f64) -> Option<(f64, f64)>,
    regions: &[Region],
) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut rgba = vec![0u8; w * h * 4];
    for py in 0..h {
        for px in 0..w {
            let Some((ra, dec)) = at(px as f64 + 0.5, py as f64 + 0.5) else {
                continue;
            };
            let mut colour = [13, 27, 42, 255];
            for (inside, c) in regions {
                if inside(ra, dec) {
                    colour = *c;
                }
            }
            rgba[(py * w + px) * 4..][..4].copy_from_slice(&colour);
        }
    }
    encode_png(width, height, &rgba)
}

/// An RGBA image as PNG.
fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    // Writing to a Vec cannot fail.
    if let Ok(mut w) = enc.write_header() {
        let _ = w.write_image_data(rgba);
    }
    out
}

/// An SVG path through `points` (RA, Dec), broken where it jumps across the map's edge.
fn path(points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    let mut last: Option<(f64, f64)> = None;
    for (ra, dec) in points {
        let Some((x, y)) = project(ra, dec) else {
            last = None;
            continue;
        };
        let jump = last.is_none_or(|(lx, _)| (x - lx).abs() > HALF_W * SCALE);
        d.push_str(&format!("{}{x:.1},{y:.1} ", if jump { "M" } else { "L" }));
        last = Some((x, y));
    }
    d
}

/// One survey's dots: a label, a CSS class for the colour, and (id, RA, Dec) per object.
pub(crate) struct Layer<'a> {
    pub label: &'a str,
    pub class: &'a str,
    pub objects: Vec<(String, f64, f64)>,
}

/// The map, `caption` under it, over the region PNG at `regions` if given.
pub(crate) fn sky_map(layers: &[Layer], caption: &str, regions: Option<&str>) -> Markup {
    let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
    let outline = path(
        (0..=180)
            .map(|i| (0.0001, 90.0 - f64::from(i)))
            .chain((0..=180).map(|i| (359.9999, f64::from(i) - 90.0))),
    );
    let mut grid = String::new();
    for dec in [-60.0, -30.0, 0.0, 30.0, 60.0] {
        grid.push_str(&path((0..=360).map(|i| (f64::from(i).min(359.9999), dec))));
    }
    for ra in [60.0, 120.0, 180.0, 240.0, 300.0] {
        grid.push_str(&path((0..=180).map(|i| (ra, f64::from(i) - 90.0))));
    }
    // The Galactic plane (b = 0), sampled in Galactic longitude and sorted by RA so the
    // path breaks only at the map's edge.
    let mut plane: Vec<(f64, f64)> = (0..720)
        .map(|i| solas_features::sky::galactic_to_equatorial(f64::from(i) / 2.0, 0.0))
        .collect();
    plane.sort_by(|a, b| a.0.total_cmp(&b.0));
    let plane = path(plane.into_iter());
    html! {
        figure.sky-map {
            svg viewBox=(format!("-4 -4 {} {}", w + 8.0, h + 8.0)) role="img"
                aria-label=(caption) {
                path.sky-outline d=(outline) {}
                @if let Some(href) = regions {
                    image href=(href) x="0" y="0" width=(WIDTH) height=(HEIGHT) {}
                }
                path.sky-grid d=(grid) {}
                path.sky-plane d=(plane) {}
                @for (label, ra) in [("0h", 0.0001), ("12h", 180.0), ("24h", 359.9999)] {
                    @let (x, y) = project(ra, 0.0).unwrap_or_default();
                    text.sky-label x=(format!("{x:.0}")) y=(format!("{:.0}", y - 4.0))
                        text-anchor=(if ra < 1.0 { "end" } else if ra > 359.0 { "start" } else { "middle" }) { (label) }
                }
                @for layer in layers {
                    g class=(layer.class) {
                        @for (id, ra, dec) in &layer.objects {
                            @let (x, y) = project(*ra, *dec).unwrap_or_default();
                            a href={ "/objects/" (id) } {
                                circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3.5" {
                                    title { (layer.label) " " (id) }
                                }
                            }
                        }
                    }
                }
            }
            figcaption {
                @for layer in layers {
                    span class={ "key " (layer.class) } { (PreEscaped("&#9679;")) " " (layer.label) " (" (layer.objects.len()) ")" } " "
                }
                span.note { (caption) " Grid every 30° in declination and 4 h in right ascension; the curve is the Galactic plane." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{project, unproject};

    #[test]
    fn the_centre_is_ra_180_east_is_left_and_the_map_inverts() {
        let (cx, cy) = project(180.0, 0.0).unwrap();
        assert!((cx - super::HALF_W * super::SCALE).abs() < 1e-9);
        assert!((cy - super::HALF_H * super::SCALE).abs() < 1e-9);
        // RA grows to the east: a larger RA is further left.
        assert!(project(200.0, 0.0).unwrap().0 < project(160.0, 0.0).unwrap().0);
        // North is up.
        assert!(project(180.0, 45.0).unwrap().1 < cy);
        for (ra, dec) in [(10.0, 20.0), (266.4, -29.0), (359.0, 80.0), (0.5, -85.0)] {
            let (x, y) = project(ra, dec).unwrap();
            let (r, d) = unproject(x, y).unwrap();
            assert!(
                (r - ra).abs() < 1e-6 && (d - dec).abs() < 1e-6,
                "{ra} {dec}: {r} {d}"
            );
        }
        assert!(unproject(1.0, 1.0).is_none(), "a corner is off the sky");
    }
}
