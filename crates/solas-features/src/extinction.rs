//! Milky Way extinction correction and AB magnitudes for Rubin fluxes.

use solas_core::Band;

/// A_b / E(B−V) for Rubin's bands (Schlafly & Finkbeiner 2011, Table 6, R_V = 3.1), as
/// Lasair uses.
pub fn r_coefficient(band: Band) -> f64 {
    match band {
        Band::U => 4.145,
        Band::G => 3.237,
        Band::R => 2.273,
        Band::I => 1.684,
        Band::Z => 1.323,
        Band::Y => 1.088,
    }
}

/// Flux with Galactic extinction removed.
pub fn correct_flux(flux: f64, band: Band, ebv: f64) -> f64 {
    flux * 10f64.powf(ebv * r_coefficient(band) / 2.5)
}

/// AB magnitude of a flux in nJy (31.4 is the nJy zero point); None unless flux > 0.
pub fn njy_to_mag(flux: f64) -> Option<f64> {
    (flux > 0.0 && flux.is_finite()).then(|| 31.4 - 2.5 * flux.log10())
}

/// Flux in nJy of an AB magnitude (the inverse of [`njy_to_mag`]); None unless finite.
pub fn mag_to_njy(mag: f64) -> Option<f64> {
    mag.is_finite().then(|| 10f64.powf((31.4 - mag) / 2.5))
}

/// Effective wavelength (µm) of a band, as Lasair's colour and BBB code use.
pub fn wavelength_um(band: Band) -> f64 {
    match band {
        Band::U => 0.380,
        Band::G => 0.500,
        Band::R => 0.620,
        Band::I => 0.740,
        Band::Z => 0.880,
        Band::Y => 1.000,
    }
}
