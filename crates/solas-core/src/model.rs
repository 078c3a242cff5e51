//! The survey-neutral alert model that flows between stages.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::survey::lsst;
use crate::{Band, ObjectKey};

/// Which survey produced an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Survey {
    Ztf,
    Lsst,
}

/// TAI − UTC in days, since 2017-01-01 (and until a new leap second, none announced).
pub const TAI_UTC_DAYS: f64 = 37.0 / 86400.0;

impl Survey {
    /// One of this survey's MJDs in UTC: Rubin's are TAI, ZTF's (JD − 2400000.5) UTC.
    pub fn mjd_utc(self, mjd: f64) -> f64 {
        match self {
            Survey::Lsst => mjd - TAI_UTC_DAYS,
            Survey::Ztf => mjd,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Survey::Ztf => "ztf",
            Survey::Lsst => "lsst",
        }
    }

    /// The survey [`Survey::as_str`] names (`"lsst"`, `"ztf"`), if it is one.
    pub fn parse(text: &str) -> Option<Survey> {
        match text {
            "ztf" => Some(Survey::Ztf),
            "lsst" => Some(Survey::Lsst),
            _ => None,
        }
    }
}

/// One alert: the newest detection of an object plus the history the survey sent with it.
///
/// After ingest the cutouts have gone to the blob store and `cutouts` is empty: the alert
/// that travels on through the pipeline is cutout-free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub survey: Survey,
    /// The schema the alert was written with, e.g. `"3.3"` (ZTF) or `"9.0"` (LSST).
    pub schema_version: String,
    /// candid (ZTF) or diaSourceId (LSST) of the detection that triggered the alert.
    pub alert_id: i64,
    pub object: ObjectKey,
    /// Position of the triggering detection (degrees, ICRS).
    pub ra: f64,
    pub dec: f64,
    /// MJD of the triggering detection.
    pub mjd: f64,
    /// The exposure the triggering detection came from, for the completeness ledger:
    /// Rubin's `visit`; ZTF's `field` (ZTF has no visit id: a field on a night is its unit).
    #[serde(default)]
    pub visit: Option<i64>,
    /// Detections, triggering one included, in the order the survey sent them.
    pub detections: Vec<Detection>,
    pub forced: Vec<ForcedPhot>,
    pub non_detections: Vec<NonDetection>,
    pub cutouts: Vec<Cutout>,
    /// What the survey says about the object as a whole.
    pub survey_object: SurveyObject,
    /// The object-level records as the survey wrote them (Rubin's `diaObject`,
    /// `ssObject`/`MPCORB`), for the archive, the newest kept per object. Kept by the ingest process that stores the
    /// alert, so not sent on between processes.
    #[serde(skip)]
    pub object_records: Vec<RawRecord>,
    /// Records about the triggering source itself beyond its detection (Rubin's
    /// `ssSource`), kept once per source.
    #[serde(skip)]
    pub trigger_records: Vec<RawRecord>,
    /// What the alert carried beside its records and cutouts, with its whole schema: what
    /// rebuilds it as it was sent (the archive's replay).
    #[serde(skip)]
    pub envelope: Option<Envelope>,
}

/// An alert's own fields (ZTF's `schemavsn`, `publisher`, `objectId`, `candid`; Rubin's
/// `diaSourceId`, ...) as written, as a record of their own, and the writer schema of the
/// whole alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The alert's writer schema, whole (named as the survey names it, `ztf.alert`,
    /// `lsst.v9_0.alert`).
    pub alert_schema: Arc<RecordSchema>,
    /// The alert's fields that hold neither records nor cutouts, under a schema of just
    /// those fields.
    pub fields: RawRecord,
}

impl Alert {
    /// Drop what the archive keeps of the alert as it came (every source's and object's
    /// record, the envelope), leaving the typed rows the store wrote before the archive:
    /// benchmarks measure the archive's cost against this (`solas bench --without-records`).
    pub fn drop_records(&mut self) {
        self.detections.iter_mut().for_each(|d| d.record = None);
        self.forced.iter_mut().for_each(|f| f.record = None);
        self.non_detections.iter_mut().for_each(|n| n.record = None);
        self.object_records.clear();
        self.trigger_records.clear();
        self.envelope = None;
    }

    /// The detection that triggered this alert.
    pub fn trigger(&self) -> Option<&Detection> {
        self.detections
            .iter()
            .find(|d| d.source_id == self.alert_id)
    }
}

/// A detection on a difference image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// candid (ZTF) or diaSourceId (LSST): unique per detection.
    pub source_id: i64,
    /// MJD (TAI for Rubin; ZTF's JD − 2400000.5).
    pub mjd: f64,
    pub band: Band,
    pub ra: f64,
    pub dec: f64,
    /// Difference-image flux in nJy (Rubin psfFlux; for ZTF derived from magpsf and isdiffpos).
    pub flux: Option<f64>,
    pub flux_err: Option<f64>,
    /// Difference magnitude, AB (ZTF magpsf; for Rubin derived from |flux|).
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    /// True when the science image is brighter than the template (ZTF isdiffpos 't'/'1').
    pub positive: bool,
    /// Rubin `reliability`; ZTF `drb` where present, else `rb`.
    pub reliability: Option<f64>,
    /// ZTF real-bogus score `rb` (None for Rubin).
    pub rb: Option<f64>,
    /// ZTF night id (None for Rubin).
    pub nid: Option<i64>,
    /// The whole record as the survey wrote it, for the archive (not sent on between
    /// processes: the ingest process that stores the alert keeps it).
    #[serde(skip)]
    pub record: Option<RawRecord>,
}

/// A forced-photometry measurement at the object's position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForcedPhot {
    /// diaForcedSourceId (LSST) or the exposure's pid (ZTF): unique within the object.
    pub source_id: i64,
    pub mjd: f64,
    pub band: Band,
    /// Forced difference flux in nJy.
    pub flux: Option<f64>,
    pub flux_err: Option<f64>,
    /// The whole record as the survey wrote it, for the archive (not sent on between
    /// processes: the ingest process that stores the alert keeps it).
    #[serde(skip)]
    pub record: Option<RawRecord>,
}

/// An epoch where the object was looked for and not detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NonDetection {
    pub mjd: f64,
    pub band: Band,
    /// 5-sigma limiting magnitude (ZTF diffmaglim).
    pub limiting_mag: Option<f64>,
    /// Noise in nJy (Rubin diaNoise).
    pub noise_flux: Option<f64>,
    /// The whole record as the survey wrote it, for the archive (not sent on between
    /// processes: the ingest process that stores the alert keeps it).
    #[serde(skip)]
    pub record: Option<RawRecord>,
}

/// One record exactly as the survey wrote it: its Avro bytes and the writer schema of its
/// record type. The archive keeps it beside the typed columns, so that no field is lost
/// and a field that a new schema adds is kept with no code change.
#[derive(Clone, PartialEq)]
pub struct RawRecord {
    pub schema: Arc<RecordSchema>,
    /// The record's Avro encoding under `schema` (the bytes of the alert it came in).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRecord")
            .field("schema", &self.schema.name)
            .field("bytes", &self.body.len())
            .finish()
    }
}

/// A record type's writer schema, standalone, and its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordSchema {
    /// The record type's name in the alert schema: `diaSource`, `prv_candidate`, ...
    pub name: String,
    /// The Rabin fingerprint (CRC-64-AVRO) of the schema's canonical form, as an i64.
    pub fingerprint: i64,
    /// The schema as Avro JSON.
    pub json: String,
}

/// Which of the three postage stamps a cutout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CutoutKind {
    Science,
    Template,
    Difference,
}

impl CutoutKind {
    pub const ALL: [CutoutKind; 3] = [
        CutoutKind::Science,
        CutoutKind::Template,
        CutoutKind::Difference,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CutoutKind::Science => "science",
            CutoutKind::Template => "template",
            CutoutKind::Difference => "difference",
        }
    }

    pub fn parse(s: &str) -> Option<CutoutKind> {
        CutoutKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A cutout image as the survey sent it: FITS, possibly gzipped (ZTF).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Cutout {
    pub kind: CutoutKind,
    /// Source the stamp belongs to (the alert's triggering detection).
    pub source_id: i64,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Cutout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cutout")
            .field("kind", &self.kind)
            .field("source_id", &self.source_id)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// Object-level facts that only one survey provides, copied through to the features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SurveyObject {
    Ztf(ZtfContext),
    /// Rubin's DIA object summary (absent for solar-system-only alerts).
    Lsst(Option<Box<lsst::DiaObject>>),
}

/// What a ZTF candidate says about its neighbourhood (PS1 nearest star, known asteroid).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ZtfContext {
    pub sgscore1: Option<f64>,
    pub distpsnr1: Option<f64>,
    pub sgmag1: Option<f64>,
    pub srmag1: Option<f64>,
    pub ssnamenr: Option<String>,
    /// Detections of this position at 3σ so far, all ZTF programmes (the classifiers' cuts).
    #[serde(default)]
    pub ndethist: Option<i32>,
    /// JD (UTC) of the first of those detections.
    #[serde(default)]
    pub jdstarthist: Option<f64>,
}
