//! Spherical geometry shared by loading, the store and its users.

pub use solas_core::sky::separation_arcsec;

/// Unit vector of a position in degrees; the store pre-filters rows with dot products.
pub(crate) fn unit_vector(ra_deg: f64, dec_deg: f64) -> [f64; 3] {
    let (sr, cr) = ra_deg.to_radians().sin_cos();
    let (sd, cd) = dec_deg.to_radians().sin_cos();
    [cd * cr, cd * sr, sd]
}
