//! Which `htm16` values can lie in a cone: the cone search reads only those index ranges of
//! the `objects` table (keyed on `htm16`, as Lasair's `coneSearchHTM` does) and then keeps
//! the rows truly within the radius.
//!
//! The mesh is the one [`super::htm_id`] numbers (JHU HTM): 8 root triangles, each split
//! into 4 per level. Walking down from the roots, a triangle whose bounding cap misses the
//! cone is dropped, one wholly inside is taken whole, and one that straddles the edge is
//! split until a level fine enough for the radius, where it is taken as it is. Taking a
//! triangle at level L means taking the contiguous range of its level-16 descendants'
//! ids. The cover may include a little outside the cone, never less than the cone.

use super::{cross, dot, midpoint, roots, unit_vector, V3};

const LEVEL: u32 = 16;

fn normalise(m: V3) -> V3 {
    let n = dot(m, m).sqrt();
    [m[0] / n, m[1] / n, m[2] / n]
}

/// The angle between two unit vectors, accurate for small angles too.
fn angle(a: V3, b: V3) -> f64 {
    let c = cross(a, b);
    dot(c, c).sqrt().atan2(dot(a, b))
}

struct Cone {
    centre: V3,
    radius: f64,
    max_level: u32,
}

/// Slack for rounding in the geometry tests: far below a level-16 triangle (~5″).
const EPS: f64 = 1e-9;

fn visit(cone: &Cone, id: i64, [v0, v1, v2]: [V3; 3], level: u32, out: &mut Vec<(i64, i64)>) {
    // The triangle lies inside the cap around its vertices' mean that reaches its farthest
    // vertex (caps under 90° are convex, and every triangle here is smaller than that).
    let middle = normalise([
        v0[0] + v1[0] + v2[0],
        v0[1] + v1[1] + v2[1],
        v0[2] + v1[2] + v2[2],
    ]);
    let reach = angle(middle, v0)
        .max(angle(middle, v1))
        .max(angle(middle, v2));
    if angle(cone.centre, middle) > cone.radius + reach + EPS {
        return;
    }
    let inside = [v0, v1, v2]
        .iter()
        .all(|v| angle(cone.centre, *v) <= cone.radius);
    if inside || level >= cone.max_level {
        let shift = 2 * (LEVEL - level);
        out.push((id << shift, ((id + 1) << shift) - 1));
        return;
    }
    let w0 = midpoint(v1, v2);
    let w1 = midpoint(v0, v2);
    let w2 = midpoint(v0, v1);
    let children = [[v0, w2, w1], [v1, w0, w2], [v2, w1, w0], [w0, w1, w2]];
    for (k, child) in children.into_iter().enumerate() {
        visit(cone, id * 4 + k as i64, child, level + 1, out);
    }
}

/// Whether the cone lies inside the counter-clockwise triangle with room to spare: its
/// centre is farther than the radius inside each edge's great circle (compared as sines,
/// `margin` = sin(radius) plus slack).
fn holds(centre: V3, [a, b, c]: &[V3; 3], margin: f64) -> bool {
    [(a, b), (b, c), (c, a)].iter().all(|(p, q)| {
        let n = cross(**p, **q);
        dot(n, centre) / dot(n, n).sqrt() >= margin
    })
}

/// The smallest mesh triangle holding the whole cone (its id, vertices and level), found
/// by walking down from the root that holds it: every triangle the cone touches lies
/// inside it, so the cover need not start from the roots. A small cone (a counterpart's
/// 1.5″) then costs a few levels' tests instead of sixteen (about a tenth). None when no
/// root holds it whole (a cone on a root's edge).
fn enclosing(cone: &Cone) -> Option<(i64, [V3; 3], u32)> {
    let margin = cone.radius.sin() + EPS;
    let (mut id, mut tri) = roots()
        .into_iter()
        .find(|(_, t)| holds(cone.centre, t, margin))?;
    let mut level = 0;
    while level < cone.max_level {
        let [v0, v1, v2] = tri;
        let w0 = midpoint(v1, v2);
        let w1 = midpoint(v0, v2);
        let w2 = midpoint(v0, v1);
        let children = [[v0, w2, w1], [v1, w0, w2], [v2, w1, w0], [w0, w1, w2]];
        let Some(k) = children.iter().position(|t| holds(cone.centre, t, margin)) else {
            break;
        };
        id = id * 4 + k as i64;
        tri = children[k];
        level += 1;
    }
    Some((id, tri, level))
}

/// Inclusive ranges of level-16 HTM ids covering the cone, sorted and merged.
pub fn cone_ranges(ra_deg: f64, dec_deg: f64, radius_arcsec: f64) -> Vec<(i64, i64)> {
    let radius = (radius_arcsec / 3600.0).to_radians().max(0.0);
    // Split down to triangles about a quarter of the radius across (a level-L triangle is
    // roughly 90°/2^L): fine enough that little outside the cone is read, coarse enough
    // that a 1000″ cone needs only tens of ranges.
    let max_level = if radius > 0.0 {
        ((std::f64::consts::FRAC_PI_2 / radius).log2().floor() as i64 + 2).clamp(0, 16) as u32
    } else {
        LEVEL
    };
    let cone = Cone {
        centre: unit_vector(ra_deg, dec_deg),
        radius,
        max_level,
    };
    let mut out = Vec::new();
    match enclosing(&cone) {
        Some((id, tri, level)) => visit(&cone, id, tri, level, &mut out),
        None => {
            for (id, tri) in roots() {
                visit(&cone, id, tri, 0, &mut out);
            }
        }
    }
    out.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(out.len());
    for (lo, hi) in out {
        match merged.last_mut() {
            Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::htm_id;

    /// A small deterministic generator: the test must not depend on a random crate.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn covered(ranges: &[(i64, i64)], id: i64) -> bool {
        ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&id))
    }

    #[test]
    fn every_point_in_the_cone_is_in_the_cover() {
        let mut rng = Lcg(42);
        for case in 0..300 {
            let ra = rng.next() * 360.0;
            let dec = (rng.next() * 2.0 - 1.0).asin().to_degrees();
            let radius = [0.5, 1.5, 5.0, 60.0, 1000.0][case % 5];
            let ranges = cone_ranges(ra, dec, radius);
            assert!(!ranges.is_empty());
            assert!(ranges.len() < 200, "{} ranges for r={radius}", ranges.len());
            let centre = unit_vector(ra, dec);
            for _ in 0..50 {
                // A point at a random bearing and distance inside the cone.
                let r = (radius / 3600.0) * rng.next().sqrt();
                let bearing = rng.next() * std::f64::consts::TAU;
                let d = dec + r * bearing.cos();
                let a = ra + r * bearing.sin() / dec.to_radians().cos().max(1e-6);
                let (a, d) = (a.rem_euclid(360.0), d.clamp(-90.0, 90.0));
                let p = unit_vector(a, d);
                if angle(centre, p) > (radius / 3600.0).to_radians() {
                    continue;
                }
                assert!(
                    covered(&ranges, htm_id(16, a, d)),
                    "({a}, {d}) within {radius}″ of ({ra}, {dec}) not covered"
                );
            }
        }
    }

    /// Starting from the triangle that holds the cone gives no fewer ids than walking from
    /// the roots (only, at most, less of the slack outside the cone).
    #[test]
    fn the_enclosing_triangle_loses_nothing_of_the_full_walk() {
        let mut rng = Lcg(7);
        for case in 0..400 {
            let ra = rng.next() * 360.0;
            let dec = (rng.next() * 2.0 - 1.0).asin().to_degrees();
            let radius = [0.3, 1.5, 4.0, 30.0][case % 4];
            let fast = cone_ranges(ra, dec, radius);
            let cone = Cone {
                centre: unit_vector(ra, dec),
                radius: (radius / 3600.0f64).to_radians(),
                max_level: 16,
            };
            let mut full = Vec::new();
            for (id, tri) in roots() {
                visit(&cone, id, tri, 0, &mut full);
            }
            // Every id of the full walk that holds a point of the cone is in the fast cover:
            // the full walk's ids whose triangles the cone touches are the enclosing
            // triangle's descendants.
            if let Some((id, _, level)) = enclosing(&cone) {
                let shift = 2 * (LEVEL - level);
                let (lo, hi) = (id << shift, ((id + 1) << shift) - 1);
                for (a, b) in full.iter().map(|(a, b)| ((*a).max(lo), (*b).min(hi))) {
                    if a <= b {
                        assert!(
                            fast.iter().any(|(x, y)| *x <= a && b <= *y),
                            "ids {a}..={b} of ({ra}, {dec}) r={radius} lost"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn poles_and_the_ra_wrap_are_covered() {
        for (ra, dec) in [(0.0, 90.0), (0.0, -90.0), (359.9999, 0.0), (0.0001, 0.0)] {
            let ranges = cone_ranges(ra, dec, 10.0);
            assert!(covered(&ranges, htm_id(16, ra, dec)));
            assert!(covered(&ranges, htm_id(16, (ra + 0.0002) % 360.0, dec)));
        }
        let far = cone_ranges(10.0, 10.0, 5.0);
        assert!(!covered(&far, htm_id(16, 10.1, 10.0)));
    }
}
