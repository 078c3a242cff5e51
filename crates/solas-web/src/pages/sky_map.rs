//! A whole-sky map drawn as inline SVG on the server (no script, no tiles): the Hammer
//! equal-area projection of right ascension and declination, east to the left and 180°
//! in the middle as on most sky maps, with a coordinate grid, the Galactic plane, and one
//! linked dot per object.

use maud::{html, Markup, PreEscaped};

/// Half-width and half-height of the projection (√2·2 by √2).
const HALF_W: f64 = 2.0 * std::f64::consts::SQRT_2;
const HALF_H: f64 = std::f64::consts::SQRT_2;
/// SVG units per projection unit.
const SCALE: f64 = 100.0;

/// The Hammer projection of (RA, Dec) in degrees, in SVG units (y down, east left).
pub(crate) fn project(ra: f64, dec: f64) -> (f64, f64) {
    // Longitude from the map's centre (RA 180°), increasing eastwards = leftwards.
    let lon = (180.0 - ra.rem_euclid(360.0)).to_radians();
    let lat = dec.clamp(-90.0, 90.0).to_radians();
    let d = (1.0 + lat.cos() * (lon / 2.0).cos()).sqrt();
    let x = HALF_W * lat.cos() * (lon / 2.0).sin() / d;
    let y = HALF_H * lat.sin() / d;
    ((x + HALF_W) * SCALE, (HALF_H - y) * SCALE)
}

/// An SVG path through `points` (RA, Dec), broken where it jumps across the map's edge.
fn path(points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    let mut last: Option<(f64, f64)> = None;
    for (ra, dec) in points {
        let (x, y) = project(ra, dec);
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

/// The map, `caption` under it.
pub(crate) fn sky_map(layers: &[Layer], caption: &str) -> Markup {
    let (w, h) = (2.0 * HALF_W * SCALE, 2.0 * HALF_H * SCALE);
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
                path.sky-grid d=(grid) {}
                path.sky-plane d=(plane) {}
                @for (label, ra) in [("0h", 0.0001), ("12h", 180.0), ("24h", 359.9999)] {
                    @let (x, y) = project(ra, 0.0);
                    text.sky-label x=(format!("{x:.0}")) y=(format!("{:.0}", y - 4.0))
                        text-anchor=(if ra < 1.0 { "end" } else if ra > 359.0 { "start" } else { "middle" }) { (label) }
                }
                @for layer in layers {
                    g class=(layer.class) {
                        @for (id, ra, dec) in &layer.objects {
                            @let (x, y) = project(*ra, *dec);
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
    use super::project;

    #[test]
    fn the_centre_is_ra_180_and_east_is_left() {
        let (cx, cy) = project(180.0, 0.0);
        assert!((cx - super::HALF_W * super::SCALE).abs() < 1e-9);
        assert!((cy - super::HALF_H * super::SCALE).abs() < 1e-9);
        // RA grows to the east: a larger RA is further left.
        assert!(project(200.0, 0.0).0 < project(160.0, 0.0).0);
        // North is up.
        assert!(project(180.0, 45.0).1 < cy);
        // The poles are the top and bottom points.
        assert!(project(0.0, 90.0).1.abs() < 1e-9);
    }
}
