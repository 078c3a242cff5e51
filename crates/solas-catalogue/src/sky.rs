//! Spherical geometry shared by loading, the store and its users.

pub use solas_core::sky::separation_arcsec;
