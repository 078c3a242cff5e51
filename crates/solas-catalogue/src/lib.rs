//! Catalogues for context classification.
//!
//! - [`description`]: the TOML file that describes a catalogue: where its rows are, which
//!   columns hold what, what kind of object it lists and how the classifier searches it.
//! - [`load`]: reading CSV, fixed-width text, Parquet and FITS binary tables into rows,
//!   counting bad rows;
//! - [`store`]: the HEALPix-indexed on-disk store and its cone search;
//! - [`separation_arcsec`]: great-circle separations, accurate far below 1 mas.
//!
//! The classifier (`solas-context`) only needs [`CatalogueRow`]s around a position and
//! each catalogue's [`description::SearchRules`].

pub mod description;
mod error;
pub mod load;
mod sky;
pub mod store;

pub use description::{Description, ObjectKind, SearchRules};
pub use error::CatalogueError;
pub use load::{load_description, LoadReport};
pub use sky::separation_arcsec;
pub use store::Store;

/// One catalogue source near a position, as the cone search returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueRow {
    /// Index of the catalogue in the store's list (see `Store::catalogues`).
    pub catalogue: usize,
    /// The catalogue's own id or name for the source (e.g. "NGC7814", "HIP 1234").
    pub id: String,
    /// Degrees, ICRS (J2000).
    pub ra: f64,
    pub dec: f64,
    /// The catalogue's type for the source (e.g. OpenNGC "G", GCVS "RRAB"), if it has one.
    pub object_type: Option<String>,
    /// The first available magnitude in the description's preference order, and its filter.
    pub mag: Option<f64>,
    pub mag_filter: Option<String>,
    pub mag_err: Option<f64>,
    /// Spectroscopic redshift.
    pub z: Option<f64>,
    pub photoz: Option<f64>,
    pub photoz_err: Option<f64>,
    /// Redshift-independent distance, Mpc.
    pub distance_mpc: Option<f64>,
    /// Semi-major axis, arcsec.
    pub semi_major_axis_arcsec: Option<f64>,
    /// Proper motion, mas/yr: μα·cos δ and μδ. `ra`/`dec` are at the catalogue's epoch
    /// until a search at another epoch moves them.
    pub pm_ra_mas_yr: Option<f64>,
    pub pm_dec_mas_yr: Option<f64>,
    /// Parallax, mas (kept as published; the classifier's rules do not use it).
    pub parallax_mas: Option<f64>,
}

impl CatalogueRow {
    /// A row of catalogue 0 at (ra, dec) with no id and no other values, to fill in.
    pub fn at(ra: f64, dec: f64) -> CatalogueRow {
        CatalogueRow {
            catalogue: 0,
            id: String::new(),
            ra,
            dec,
            object_type: None,
            mag: None,
            mag_filter: None,
            mag_err: None,
            z: None,
            photoz: None,
            photoz_err: None,
            distance_mpc: None,
            semi_major_axis_arcsec: None,
            pm_ra_mas_yr: None,
            pm_dec_mas_yr: None,
            parallax_mas: None,
        }
    }
}
