//! The ZTF adapter: a ZTF alert packet (schemas 3.2–4.02) → [`solas_core::Alert`].

use serde::Deserialize;
use serde_bytes::ByteBuf;
use solas_core::survey::ztf::{Candidate, FpHist, PrvCandidate};
use solas_core::{
    Alert, Band, Cutout, CutoutKind, Detection, ForcedPhot, NonDetection, ObjectKey, RawRecord,
    Survey, SurveyObject, ZtfContext,
};

use crate::records::{with_records, Records};
use crate::DecodeError;

/// JD − MJD.
const MJD_OFFSET: f64 = 2_400_000.5;
/// AB zero point for fluxes in nJy: m = 31.4 − 2.5 log10(f).
const NJY_ZP: f64 = 31.4;
/// ZTF's "no value" for forced-photometry fluxes.
const FP_NULL: f32 = -99_999.0;

/// The top-level ZTF alert record.
#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
pub struct ZtfPacket {
    #[serde(default)]
    pub schemavsn: Option<String>,
    pub objectId: String,
    pub candid: i64,
    pub candidate: Candidate,
    #[serde(default)]
    pub prv_candidates: Option<Vec<PrvCandidate>>,
    #[serde(default)]
    pub fp_hists: Option<Vec<FpHist>>,
    #[serde(default)]
    pub cutoutScience: Option<ZtfCutout>,
    #[serde(default)]
    pub cutoutTemplate: Option<ZtfCutout>,
    #[serde(default)]
    pub cutoutDifference: Option<ZtfCutout>,
}

/// A ZTF stamp: gzipped FITS.
#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
pub struct ZtfCutout {
    #[serde(default)]
    pub fileName: Option<String>,
    pub stampData: ByteBuf,
}

impl ZtfPacket {
    /// `records` are the packet's records as written, which the typed rows carry on to
    /// the archive.
    pub fn into_alert(self, mut records: Records) -> Result<Alert, DecodeError> {
        let object =
            ObjectKey::ztf(&self.objectId).map_err(|e| DecodeError::Content(e.to_string()))?;
        let c = &self.candidate;
        let field = c.field;
        let mut trigger = detection(
            self.candid,
            c.jd,
            c.fid,
            (c.ra, c.dec),
            (c.magpsf, c.sigmapsf),
            c.isdiffpos.as_deref(),
            (c.rb, c.drb),
            c.nid,
        )
        .ok_or_else(|| {
            DecodeError::Content(format!(
                "candidate {} lacks jd, fid (1-3) or position",
                self.candid
            ))
        })?;
        let context = context(c);
        let (ra, dec, mjd) = (trigger.ra, trigger.dec, trigger.mjd);
        trigger.record = records.take("candidate").pop();

        let mut detections = vec![trigger];
        let mut non_detections = Vec::new();
        let prv = self.prv_candidates.unwrap_or_default();
        for (p, record) in with_records(prv.iter(), records.take("prv_candidates")) {
            match p.candid {
                Some(candid) => detections.extend(
                    detection(
                        candid,
                        p.jd,
                        p.fid,
                        (p.ra, p.dec),
                        (p.magpsf, p.sigmapsf),
                        p.isdiffpos.as_deref(),
                        (p.rb, None),
                        p.nid,
                    )
                    .map(|d| Detection { record, ..d }),
                ),
                None => {
                    if let (Some(jd), Some(band)) = (p.jd, p.fid.and_then(Band::from_ztf_fid)) {
                        non_detections.push(NonDetection {
                            mjd: jd - MJD_OFFSET,
                            band,
                            limiting_mag: p.diffmaglim.map(f64::from),
                            noise_flux: None,
                            record,
                        });
                    }
                }
            }
        }
        let fp_hists = self.fp_hists.unwrap_or_default();
        let forced = with_records(fp_hists.iter(), records.take("fp_hists"))
            .filter_map(|(fp, record)| forced_phot(fp).map(|f| ForcedPhot { record, ..f }))
            .collect();
        let cutouts = [
            (CutoutKind::Science, self.cutoutScience),
            (CutoutKind::Template, self.cutoutTemplate),
            (CutoutKind::Difference, self.cutoutDifference),
        ]
        .into_iter()
        .filter_map(|(kind, c)| {
            c.map(|c| Cutout {
                kind,
                source_id: self.candid,
                data: c.stampData.into_vec(),
            })
        })
        .collect();
        let envelope = records.take_envelope();
        Ok(Alert {
            survey: Survey::Ztf,
            schema_version: self.schemavsn.unwrap_or_default(),
            alert_id: self.candid,
            object,
            ra,
            dec,
            mjd,
            visit: field.map(i64::from),
            detections,
            forced,
            non_detections,
            cutouts,
            survey_object: SurveyObject::Ztf(context),
            object_records: records.rest(),
            trigger_records: Vec::new(),
            envelope,
        })
    }
}

/// What a candidate says about its neighbourhood: the object-level ZTF columns.
fn context(c: &Candidate) -> ZtfContext {
    ZtfContext {
        sgscore1: c.sgscore1.map(f64::from),
        distpsnr1: c.distpsnr1.map(f64::from),
        sgmag1: c.sgmag1.map(f64::from),
        srmag1: c.srmag1.map(f64::from),
        ssnamenr: c.ssnamenr.clone().filter(|s| !s.is_empty() && s != "null"),
        ndethist: c.ndethist,
        jdstarthist: c.jdstarthist,
    }
}

/// The same from a stored `candidate` record (the archive as of a date).
pub fn context_of_record(record: &RawRecord) -> Result<ZtfContext, DecodeError> {
    let c: Candidate = crate::records::typed(record)?;
    Ok(context(&c))
}

#[allow(clippy::too_many_arguments)]
fn detection(
    candid: i64,
    jd: Option<f64>,
    fid: Option<i32>,
    (ra, dec): (Option<f64>, Option<f64>),
    (magpsf, sigmapsf): (Option<f32>, Option<f32>),
    isdiffpos: Option<&str>,
    (rb, drb): (Option<f32>, Option<f32>),
    nid: Option<i32>,
) -> Option<Detection> {
    let positive = matches!(isdiffpos, Some("t" | "1"));
    let mag = magpsf.map(f64::from);
    let mag_err = sigmapsf.map(f64::from);
    // Difference flux from the difference magnitude; its sign is isdiffpos.
    let flux = mag.map(|m| {
        let f = 10f64.powf((NJY_ZP - m) / 2.5);
        if positive {
            f
        } else {
            -f
        }
    });
    let flux_err = match (flux, mag_err) {
        (Some(f), Some(e)) => Some(f.abs() * e * std::f64::consts::LN_10 / 2.5),
        _ => None,
    };
    Some(Detection {
        source_id: candid,
        mjd: jd? - MJD_OFFSET,
        band: Band::from_ztf_fid(fid?)?,
        ra: ra?,
        dec: dec?,
        flux,
        flux_err,
        mag,
        mag_err,
        positive,
        reliability: drb.or(rb).map(f64::from),
        rb: rb.map(f64::from),
        nid: nid.map(i64::from),
        record: None,
    })
}

fn forced_phot(fp: &FpHist) -> Option<ForcedPhot> {
    let scale = fp
        .magzpsci
        .map(|zp| 10f64.powf((NJY_ZP - f64::from(zp)) / 2.5));
    let to_njy = |v: Option<f32>| match (v, scale) {
        (Some(v), Some(s)) if v > FP_NULL && v.is_finite() => Some(f64::from(v) * s),
        _ => None,
    };
    Some(ForcedPhot {
        source_id: fp.pid?,
        mjd: fp.jd? - MJD_OFFSET,
        band: Band::from_ztf_fid(fp.fid?)?,
        flux: to_njy(fp.forcediffimflux),
        flux_err: to_njy(fp.forcediffimfluxunc),
        record: None,
    })
}

/// Where a ZTF alert's record field is filled from when rebuilt from the archive
/// (`rebuild`): ZTF sends 30 days of history, detections and limits together.
pub(crate) fn field_source(field: &str) -> Option<crate::rebuild::FieldSource> {
    use crate::rebuild::FieldSource;
    match field {
        "candidate" => Some(FieldSource::Trigger),
        "prv_candidates" => Some(FieldSource::History {
            days: 30.0,
            limits: true,
        }),
        "fp_hists" => Some(FieldSource::Forced { days: 30.0 }),
        _ => None,
    }
}
