//! Positions on the sky: validation, great-circle separation and HEALPix helpers shared by
//! the indexes.
//!
//! Separations are solas-core's (Vincenty's formula).

use std::f64::consts::FRAC_PI_2;

pub use solas_core::sky::{separation_arcsec, separation_rad};

/// A position checked for use with HEALPix: finite, declination within ±90°, right
/// ascension wrapped into [0, 360). Returns (lon, lat) in radians.
///
/// cdshealpix panics on a latitude outside ±π/2, so every position from outside the crate
/// passes through here first.
pub(crate) fn lonlat(ra: f64, dec: f64) -> Option<(f64, f64)> {
    if !ra.is_finite() || !dec.is_finite() || !(-90.0..=90.0).contains(&dec) {
        return None;
    }
    let lon = ra.rem_euclid(360.0).to_radians();
    // to_radians of ±90 can round a hair past π/2.
    let lat = dec.to_radians().clamp(-FRAC_PI_2, FRAC_PI_2);
    Some((lon, lat))
}

/// The HEALPix NESTED cell at `depth` holding a checked position.
#[inline]
pub(crate) fn hash(depth: u8, lon: f64, lat: f64) -> u64 {
    cdshealpix::nested::get(depth).hash(lon, lat)
}

/// Deepest HEALPix order: MOC ranges and pixel lookups are expressed at this depth.
pub(crate) const DEPTH_29: u8 = 29;

/// Number of cells at `depth`.
#[inline]
pub(crate) fn n_cells(depth: u8) -> u64 {
    12u64 << (2 * depth as u32)
}

/// Solid angle, in steradians, of one cell at `depth`.
#[inline]
pub(crate) fn cell_area_sr(depth: u8) -> f64 {
    4.0 * std::f64::consts::PI / n_cells(depth) as f64
}

/// Square degrees in one steradian.
pub(crate) const DEG2_PER_SR: f64 = (180.0 / std::f64::consts::PI) * (180.0 / std::f64::consts::PI);

/// The depth-29 range `[start, end)` covered by cell `hash` at `depth`.
#[inline]
pub(crate) fn range29(depth: u8, hash: u64) -> (u64, u64) {
    let shift = 2 * (DEPTH_29 - depth) as u32;
    (hash << shift, (hash + 1) << shift)
}

/// The cells to search at `depth` for anything within `radius_rad` of a point in cell
/// `hash`: the cell itself and its neighbours. Valid only when `radius_rad` is below
/// the smallest cell width at that depth (see [`cdshealpix::best_starting_depth`]), which
/// bounds a cone to its centre cell and the 8 (or 7) around it.
pub(crate) fn cell_and_neighbours(depth: u8, hash: u64, out: &mut Vec<u64>) {
    out.clear();
    out.push(hash);
    cdshealpix::nested::get(depth).append_bulk_neighbours(hash, out);
}

/// The depth at which a cone of `radius_rad` overlaps at most a cell and its neighbours, or
/// `None` for cones too large for that (over ~48°).
pub(crate) fn neighbour_depth(radius_rad: f64) -> Option<u8> {
    if cdshealpix::has_best_starting_depth(radius_rad) {
        Some(cdshealpix::best_starting_depth(radius_rad))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lonlat_checks() {
        assert!(lonlat(f64::NAN, 0.0).is_none());
        assert!(lonlat(0.0, 90.0001).is_none());
        assert!(lonlat(0.0, f64::INFINITY).is_none());
        let (lon, lat) = lonlat(-10.0, 90.0).unwrap();
        assert!((lon.to_degrees() - 350.0).abs() < 1e-9);
        assert!(lat <= FRAC_PI_2);
        // The pole hashes without panicking.
        hash(29, lon, lat);
    }
}
