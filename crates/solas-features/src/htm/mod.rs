//! Hierarchical Triangular Mesh ids, numbered as the JHU HTM library (and Lasair's gkhtm).
//!
//! The sphere starts as 8 triangles (ids 8..15: S0..S3, N0..N3); each level splits a
//! triangle into 4 by its edge midpoints, appending two bits (child 0..3) to the id. A
//! level-L id therefore lies in [8·4^L, 16·4^L). [`cone_ranges`] gives the ids a cone may
//! hold, for cone searches on an `htm16` column.

mod cover;

pub use cover::cone_ranges;

type V3 = [f64; 3];

fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn midpoint(a: V3, b: V3) -> V3 {
    let m = [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
    let n = dot(m, m).sqrt();
    [m[0] / n, m[1] / n, m[2] / n]
}

/// Is p inside (or on the edge of) the counter-clockwise spherical triangle (a, b, c)?
fn inside(p: V3, a: V3, b: V3, c: V3) -> bool {
    // A small negative tolerance keeps points on shared edges from falling between cells.
    const EPS: f64 = -1e-15;
    dot(cross(a, b), p) >= EPS && dot(cross(b, c), p) >= EPS && dot(cross(c, a), p) >= EPS
}

fn unit_vector(ra_deg: f64, dec_deg: f64) -> V3 {
    let (a, d) = (ra_deg.to_radians(), dec_deg.to_radians());
    [d.cos() * a.cos(), d.cos() * a.sin(), d.sin()]
}

/// The 8 root triangles in id order 8..15, vertices counter-clockwise seen from outside
/// (also what the web API's cone cover descends from).
pub fn roots() -> [(i64, [[f64; 3]; 3]); 8] {
    let v0 = [0.0, 0.0, 1.0];
    let v1 = [1.0, 0.0, 0.0];
    let v2 = [0.0, 1.0, 0.0];
    let v3 = [-1.0, 0.0, 0.0];
    let v4 = [0.0, -1.0, 0.0];
    let v5 = [0.0, 0.0, -1.0];
    [
        (8, [v1, v5, v2]),
        (9, [v2, v5, v3]),
        (10, [v3, v5, v4]),
        (11, [v4, v5, v1]),
        (12, [v1, v0, v4]),
        (13, [v4, v0, v3]),
        (14, [v3, v0, v2]),
        (15, [v2, v0, v1]),
    ]
}

/// HTM id of a position at `level` (0..=25 sensibly; higher levels are capped at 30 so the id
/// fits in an i64). Non-finite positions give 0, as Lasair stores on failure.
pub fn htm_id(level: u32, ra_deg: f64, dec_deg: f64) -> i64 {
    if !(ra_deg.is_finite() && dec_deg.is_finite()) {
        return 0;
    }
    let level = level.min(30);
    let p = unit_vector(ra_deg, dec_deg);
    let Some((mut id, [mut v0, mut v1, mut v2])) = roots()
        .into_iter()
        .find(|(_, [a, b, c])| inside(p, *a, *b, *c))
        .or_else(|| {
            // Rounding can leave a point a hair outside every root; take the closest.
            roots().into_iter().max_by(|(_, x), (_, y)| {
                let cx = dot(midpoint(midpoint(x[0], x[1]), x[2]), p);
                let cy = dot(midpoint(midpoint(y[0], y[1]), y[2]), p);
                cx.total_cmp(&cy)
            })
        })
    else {
        return 0;
    };
    for _ in 0..level {
        let w0 = midpoint(v1, v2);
        let w1 = midpoint(v0, v2);
        let w2 = midpoint(v0, v1);
        let children = [[v0, w2, w1], [v1, w0, w2], [v2, w1, w0], [w0, w1, w2]];
        // The centre triangle is the fallback: a point on no child (rounding) is nearest it.
        let k = children
            .iter()
            .position(|t| inside(p, t[0], t[1], t[2]))
            .unwrap_or(3);
        id = id * 4 + k as i64;
        [v0, v1, v2] = children[k];
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_level16() {
        assert_eq!(
            htm_id(16, 9.057050050707765, -44.117973609689805),
            38173659759
        );
    }

    #[test]
    fn level0_octants() {
        // One point in the middle of each octant; north ids 12..15, south 8..11.
        let mut ids: Vec<i64> = [45.0, 135.0, 225.0, 315.0]
            .iter()
            .flat_map(|&ra| [htm_id(0, ra, 30.0), htm_id(0, ra, -30.0)])
            .collect();
        ids.sort();
        assert_eq!(ids, (8..16).collect::<Vec<_>>());
        assert_eq!(htm_id(0, 45.0, 30.0), 15);
        assert_eq!(htm_id(0, 45.0, -30.0), 8);
    }

    #[test]
    fn ids_nest_and_neighbours_differ() {
        let (ra, dec) = (123.456, 12.345);
        let id20 = htm_id(20, ra, dec);
        let id16 = htm_id(16, ra, dec);
        assert_eq!(id20 >> 8, id16, "a deeper id extends its parent");
        assert!((8 << 32..16 << 32).contains(&id16));
        // Level-16 cells are ~5″ across: 1′ away must be another cell.
        assert_ne!(htm_id(16, ra + 1.0 / 60.0, dec), id16);
        assert_ne!(htm_id(16, ra, dec + 1.0 / 60.0), id16);
        // ... but a point 0.01″ away almost always shares it.
        assert_eq!(htm_id(16, ra + 1e-2 / 3600.0, dec), id16);
    }

    #[test]
    fn odd_input() {
        assert_eq!(htm_id(16, f64::NAN, 0.0), 0);
        for &(ra, dec) in &[
            (0.0, 90.0),
            (0.0, -90.0),
            (360.0, 0.0),
            (-10.0, 0.0),
            (90.0, 0.0),
        ] {
            let id = htm_id(16, ra, dec);
            assert!((8 << 32..16 << 32).contains(&id), "{ra},{dec} -> {id}");
        }
    }
}
