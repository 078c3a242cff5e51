//! Rubin's per-band diaObject summary fields, gathered by band so the LSST row can be
//! filled in a loop (the record keeps Rubin's flat `g_psfFluxMean`-style names).

use solas_core::survey::lsst::DiaObject;
use solas_core::Band;

/// The diaObject columns Lasair copies for one band.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BandSummary {
    pub psf_flux_mean: Option<f32>,
    pub psf_flux_mean_err: Option<f32>,
    pub psf_flux_sigma: Option<f32>,
    pub psf_flux_ndata: Option<i32>,
    pub fp_flux_mean: Option<f32>,
    pub fp_flux_mean_err: Option<f32>,
    pub science_flux_mean: Option<f32>,
    pub science_flux_mean_err: Option<f32>,
    pub psf_flux_min: Option<f32>,
    pub psf_flux_max: Option<f32>,
    pub psf_flux_max_slope: Option<f32>,
    pub psf_flux_err_mean: Option<f32>,
}

/// Lasair's column suffix for each field, in the order the `objects` table lists them.
pub const SUFFIXES: [&str; 12] = [
    "psfFluxMean",
    "psfFluxMeanErr",
    "psfFluxSigma",
    "psfFluxNdata",
    "fpFluxMean",
    "fpFluxMeanErr",
    "scienceFluxMean",
    "scienceFluxMeanErr",
    "psfFluxMin",
    "psfFluxMax",
    "psfFluxMaxSlope",
    "psfFluxErrMean",
];

impl BandSummary {
    /// The fields in [`SUFFIXES`] order (ints widened to f64 for uniform handling).
    pub fn values(&self) -> [Option<f64>; 12] {
        [
            self.psf_flux_mean.map(f64::from),
            self.psf_flux_mean_err.map(f64::from),
            self.psf_flux_sigma.map(f64::from),
            self.psf_flux_ndata.map(f64::from),
            self.fp_flux_mean.map(f64::from),
            self.fp_flux_mean_err.map(f64::from),
            self.science_flux_mean.map(f64::from),
            self.science_flux_mean_err.map(f64::from),
            self.psf_flux_min.map(f64::from),
            self.psf_flux_max.map(f64::from),
            self.psf_flux_max_slope.map(f64::from),
            self.psf_flux_err_mean.map(f64::from),
        ]
    }
}

/// The summary of `band` in a diaObject.
pub fn band_summary(o: &DiaObject, band: Band) -> BandSummary {
    match band {
        Band::U => BandSummary {
            psf_flux_mean: o.u_psfFluxMean,
            psf_flux_mean_err: o.u_psfFluxMeanErr,
            psf_flux_sigma: o.u_psfFluxSigma,
            psf_flux_ndata: o.u_psfFluxNdata,
            fp_flux_mean: o.u_fpFluxMean,
            fp_flux_mean_err: o.u_fpFluxMeanErr,
            science_flux_mean: o.u_scienceFluxMean,
            science_flux_mean_err: o.u_scienceFluxMeanErr,
            psf_flux_min: o.u_psfFluxMin,
            psf_flux_max: o.u_psfFluxMax,
            psf_flux_max_slope: o.u_psfFluxMaxSlope,
            psf_flux_err_mean: o.u_psfFluxErrMean,
        },
        Band::G => BandSummary {
            psf_flux_mean: o.g_psfFluxMean,
            psf_flux_mean_err: o.g_psfFluxMeanErr,
            psf_flux_sigma: o.g_psfFluxSigma,
            psf_flux_ndata: o.g_psfFluxNdata,
            fp_flux_mean: o.g_fpFluxMean,
            fp_flux_mean_err: o.g_fpFluxMeanErr,
            science_flux_mean: o.g_scienceFluxMean,
            science_flux_mean_err: o.g_scienceFluxMeanErr,
            psf_flux_min: o.g_psfFluxMin,
            psf_flux_max: o.g_psfFluxMax,
            psf_flux_max_slope: o.g_psfFluxMaxSlope,
            psf_flux_err_mean: o.g_psfFluxErrMean,
        },
        Band::R => BandSummary {
            psf_flux_mean: o.r_psfFluxMean,
            psf_flux_mean_err: o.r_psfFluxMeanErr,
            psf_flux_sigma: o.r_psfFluxSigma,
            psf_flux_ndata: o.r_psfFluxNdata,
            fp_flux_mean: o.r_fpFluxMean,
            fp_flux_mean_err: o.r_fpFluxMeanErr,
            science_flux_mean: o.r_scienceFluxMean,
            science_flux_mean_err: o.r_scienceFluxMeanErr,
            psf_flux_min: o.r_psfFluxMin,
            psf_flux_max: o.r_psfFluxMax,
            psf_flux_max_slope: o.r_psfFluxMaxSlope,
            psf_flux_err_mean: o.r_psfFluxErrMean,
        },
        Band::I => BandSummary {
            psf_flux_mean: o.i_psfFluxMean,
            psf_flux_mean_err: o.i_psfFluxMeanErr,
            psf_flux_sigma: o.i_psfFluxSigma,
            psf_flux_ndata: o.i_psfFluxNdata,
            fp_flux_mean: o.i_fpFluxMean,
            fp_flux_mean_err: o.i_fpFluxMeanErr,
            science_flux_mean: o.i_scienceFluxMean,
            science_flux_mean_err: o.i_scienceFluxMeanErr,
            psf_flux_min: o.i_psfFluxMin,
            psf_flux_max: o.i_psfFluxMax,
            psf_flux_max_slope: o.i_psfFluxMaxSlope,
            psf_flux_err_mean: o.i_psfFluxErrMean,
        },
        Band::Z => BandSummary {
            psf_flux_mean: o.z_psfFluxMean,
            psf_flux_mean_err: o.z_psfFluxMeanErr,
            psf_flux_sigma: o.z_psfFluxSigma,
            psf_flux_ndata: o.z_psfFluxNdata,
            fp_flux_mean: o.z_fpFluxMean,
            fp_flux_mean_err: o.z_fpFluxMeanErr,
            science_flux_mean: o.z_scienceFluxMean,
            science_flux_mean_err: o.z_scienceFluxMeanErr,
            psf_flux_min: o.z_psfFluxMin,
            psf_flux_max: o.z_psfFluxMax,
            psf_flux_max_slope: o.z_psfFluxMaxSlope,
            psf_flux_err_mean: o.z_psfFluxErrMean,
        },
        Band::Y => BandSummary {
            psf_flux_mean: o.y_psfFluxMean,
            psf_flux_mean_err: o.y_psfFluxMeanErr,
            psf_flux_sigma: o.y_psfFluxSigma,
            psf_flux_ndata: o.y_psfFluxNdata,
            fp_flux_mean: o.y_fpFluxMean,
            fp_flux_mean_err: o.y_fpFluxMeanErr,
            science_flux_mean: o.y_scienceFluxMean,
            science_flux_mean_err: o.y_scienceFluxMeanErr,
            psf_flux_min: o.y_psfFluxMin,
            psf_flux_max: o.y_psfFluxMax,
            psf_flux_max_slope: o.y_psfFluxMaxSlope,
            psf_flux_err_mean: o.y_psfFluxErrMean,
        },
    }
}
