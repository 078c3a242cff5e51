//! The cleaned, time-ordered detection list every LSST feature starts from.

use solas_core::{Band, Detection};

/// One usable detection: finite time and flux.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    pub source_id: i64,
    pub mjd: f64,
    pub band: Band,
    pub ra: f64,
    pub dec: f64,
    /// Difference flux, nJy (not extinction-corrected).
    pub flux: f64,
    pub flux_err: Option<f64>,
    pub reliability: Option<f64>,
}

/// Detections with a flux, sorted by time, each source once (Lasair drops null psfFlux and
/// sorts by midpointMjdTai; the store may hand rows over in any order).
pub fn clean(detections: &[Detection]) -> Vec<Obs> {
    let mut out: Vec<Obs> = detections
        .iter()
        .filter_map(|d| {
            let flux = d.flux.filter(|f| f.is_finite())?;
            d.mjd.is_finite().then_some(Obs {
                source_id: d.source_id,
                mjd: d.mjd,
                band: d.band,
                ra: d.ra,
                dec: d.dec,
                flux,
                flux_err: d.flux_err.filter(|e| e.is_finite()),
                reliability: d.reliability.filter(|r| r.is_finite()),
            })
        })
        .collect();
    out.sort_by(|a, b| a.mjd.total_cmp(&b.mjd).then(a.source_id.cmp(&b.source_id)));
    out.dedup_by_key(|o| o.source_id);
    out
}
