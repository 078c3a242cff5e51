//! The column lists of the two `objects` tables and of the context classification tables
//! (`sherlock_classifications`, in Lasair's shape), in Lasair's names and order, so the
//! store can create tables, the filter language can whitelist them, and a row can be
//! matched to its columns by position.

use crate::{Column, ColumnType};
use ColumnType::{Float, Int, Text};

const fn c(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty }
}

/// Solas's own column on the LSST `objects` table (Lasair has none): the newest time (MJD,
/// TAI) among the detections, forced measurements and limits the row was computed from, so
/// a row says which moment of the object's history it describes.
pub const LSST_NEWEST_SOURCE: &str = "newestSourceMjdTai";
/// The same on `ztf_objects`, as a Julian date like ZTF's other times.
pub const ZTF_NEWEST_SOURCE: &str = "newest_source_jd";

/// Every column of Lasair-LSST's `objects` table: the core fields, then the `ext_fields`
/// copied from the diaObject (Lasair's `timestamp` is left to the store), then Solas's own.
pub const LSST_OBJECT_COLUMNS: &[Column] = &[
    c("diaObjectId", Int),
    c("ra", Float),
    c("decl", Float),
    c("lastDiaSourceMjdTai", Float),
    c("firstDiaSourceMjdTai", Float),
    c("latest_psfFlux", Float),
    c("u_psfFlux", Float),
    c("u_latestMJD", Float),
    c("u_psfFluxMean", Float),
    c("u_psfFluxMeanErr", Float),
    c("g_psfFlux", Float),
    c("g_latestMJD", Float),
    c("g_psfFluxMean", Float),
    c("g_psfFluxMeanErr", Float),
    c("r_psfFlux", Float),
    c("r_latestMJD", Float),
    c("r_psfFluxMean", Float),
    c("r_psfFluxMeanErr", Float),
    c("i_psfFlux", Float),
    c("i_latestMJD", Float),
    c("i_psfFluxMean", Float),
    c("i_psfFluxMeanErr", Float),
    c("z_psfFlux", Float),
    c("z_latestMJD", Float),
    c("z_psfFluxMean", Float),
    c("z_psfFluxMeanErr", Float),
    c("y_psfFlux", Float),
    c("y_latestMJD", Float),
    c("y_psfFluxMean", Float),
    c("y_psfFluxMeanErr", Float),
    c("medianR", Float),
    c("latestR", Float),
    c("nDiaSources", Int),
    c("nPosDiaSources", Int),
    c("nPosDiaSourcesNights", Int),
    c("nSourcesGood", Int),
    c("nuSources", Int),
    c("ngSources", Int),
    c("nrSources", Int),
    c("niSources", Int),
    c("nzSources", Int),
    c("nySources", Int),
    c("tns_name", Text),
    c("absMag", Float),
    c("absMagMJD", Float),
    c("BBBRiseRate", Float),
    c("BBBFallRate", Float),
    c("BBBTemp", Float),
    c("BBBPeakFlux", Float),
    c("BBBPeakMJD", Float),
    c("BBBPeakAbsMag", Float),
    c("glat", Float),
    c("ebv", Float),
    c("jump1", Float),
    c("jump2", Float),
    c("latestPairMJD", Float),
    c("latestPairColourMag", Float),
    c("latestPairColourBands", Text),
    c("latestPairColourTemp", Float),
    c("penultimatePairMJD", Float),
    c("penultimatePairColourMag", Float),
    c("penultimatePairColourBands", Text),
    c("penultimatePairColourTemp", Float),
    c("htm16", Int),
    c("validityStartMjdTai", Float),
    c("raErr", Float),
    c("decErr", Float),
    c("ra_dec_Cov", Float),
    c("u_psfFluxSigma", Float),
    c("u_psfFluxNdata", Int),
    c("u_fpFluxMean", Float),
    c("u_fpFluxMeanErr", Float),
    c("g_psfFluxSigma", Float),
    c("g_psfFluxNdata", Int),
    c("g_fpFluxMean", Float),
    c("g_fpFluxMeanErr", Float),
    c("r_psfFluxSigma", Float),
    c("r_psfFluxNdata", Int),
    c("r_fpFluxMean", Float),
    c("r_fpFluxMeanErr", Float),
    c("i_psfFluxSigma", Float),
    c("i_psfFluxNdata", Int),
    c("i_fpFluxMean", Float),
    c("i_fpFluxMeanErr", Float),
    c("z_psfFluxSigma", Float),
    c("z_psfFluxNdata", Int),
    c("z_fpFluxMean", Float),
    c("z_fpFluxMeanErr", Float),
    c("y_psfFluxSigma", Float),
    c("y_psfFluxNdata", Int),
    c("y_fpFluxMean", Float),
    c("y_fpFluxMeanErr", Float),
    c("u_scienceFluxMean", Float),
    c("u_scienceFluxMeanErr", Float),
    c("g_scienceFluxMean", Float),
    c("g_scienceFluxMeanErr", Float),
    c("r_scienceFluxMean", Float),
    c("r_scienceFluxMeanErr", Float),
    c("i_scienceFluxMean", Float),
    c("i_scienceFluxMeanErr", Float),
    c("z_scienceFluxMean", Float),
    c("z_scienceFluxMeanErr", Float),
    c("y_scienceFluxMean", Float),
    c("y_scienceFluxMeanErr", Float),
    c("u_psfFluxMin", Float),
    c("u_psfFluxMax", Float),
    c("u_psfFluxMaxSlope", Float),
    c("u_psfFluxErrMean", Float),
    c("g_psfFluxMin", Float),
    c("g_psfFluxMax", Float),
    c("g_psfFluxMaxSlope", Float),
    c("g_psfFluxErrMean", Float),
    c("r_psfFluxMin", Float),
    c("r_psfFluxMax", Float),
    c("r_psfFluxMaxSlope", Float),
    c("r_psfFluxErrMean", Float),
    c("i_psfFluxMin", Float),
    c("i_psfFluxMax", Float),
    c("i_psfFluxMaxSlope", Float),
    c("i_psfFluxErrMean", Float),
    c("z_psfFluxMin", Float),
    c("z_psfFluxMax", Float),
    c("z_psfFluxMaxSlope", Float),
    c("z_psfFluxErrMean", Float),
    c("y_psfFluxMin", Float),
    c("y_psfFluxMax", Float),
    c("y_psfFluxMaxSlope", Float),
    c("y_psfFluxErrMean", Float),
    c(LSST_NEWEST_SOURCE, Float),
];

/// Every column of Lasair-ZTF's `objects` table, `objectId` first, then Solas's own.
pub const ZTF_OBJECT_COLUMNS: &[Column] = &[
    c("objectId", Text),
    c("decmean", Float),
    c("decstd", Float),
    c("ramean", Float),
    c("rastd", Float),
    c("glatmean", Float),
    c("glonmean", Float),
    c("jdgmax", Float),
    c("gmag", Float),
    c("dmdt_g", Float),
    c("dmdt_g_2", Float),
    c("mag_g02", Float),
    c("mag_g08", Float),
    c("mag_g28", Float),
    c("maggmax", Float),
    c("maggmean", Float),
    c("maggmin", Float),
    c("jdrmax", Float),
    c("mag_r02", Float),
    c("mag_r08", Float),
    c("mag_r28", Float),
    c("rmag", Float),
    c("dmdt_r", Float),
    c("dmdt_r_2", Float),
    c("magrmax", Float),
    c("magrmean", Float),
    c("magrmin", Float),
    c("jdmax", Float),
    c("jdmin", Float),
    c("ncand", Int),
    c("ncandgp", Int),
    c("distpsnr1", Float),
    c("sgscore1", Float),
    c("sgmag1", Float),
    c("srmag1", Float),
    c("htm16", Int),
    c("g_minus_r", Float),
    c("jd_g_minus_r", Float),
    c("ncandgp_7", Int),
    c("ncandgp_14", Int),
    c("ssnamenr", Text),
    c("dmdt_g_err", Float),
    c("dmdt_r_err", Float),
    c(ZTF_NEWEST_SOURCE, Float),
];

macro_rules! key_and_columns {
    ($key:literal, $key_ty:ident; $($name:literal : $ty:ident),* $(,)?) => {
        &[
            Column { name: $key, ty: ColumnType::$key_ty },
            $(Column { name: $name, ty: ColumnType::$ty }),*
        ]
    };
}

/// Every column after the key, in Lasair's order.
macro_rules! sherlock_columns {
    ($key:literal, $key_ty:ident) => {
        key_and_columns!($key, $key_ty;
            "classification": Text, "association_type": Text, "catalogue_table_name": Text,
            "catalogue_object_id": Text, "catalogue_object_type": Text, "raDeg": Float,
            "decDeg": Float, "separationArcsec": Float, "northSeparationArcsec": Float,
            "eastSeparationArcsec": Float, "physical_separation_kpc": Float,
            "direct_distance": Float, "distance": Float, "best_distance": Float,
            "best_distance_flag": Text, "best_distance_source": Text, "z": Float,
            "photoZ": Float, "photoZErr": Float, "Mag": Float, "MagFilter": Text,
            "MagErr": Float, "classificationReliability": Int, "major_axis_arcsec": Float,
            "annotator": Text, "additional_output": Text, "description": Text, "summary": Text,
        )
    };
}

/// Lasair-LSST's `sherlock_classifications`, keyed on `diaObjectId`.
pub const SHERLOCK_COLUMNS: &[Column] = sherlock_columns!("diaObjectId", Int);
/// Lasair-ZTF's, keyed on `objectId`.
pub const ZTF_SHERLOCK_COLUMNS: &[Column] = sherlock_columns!("objectId", Text);
