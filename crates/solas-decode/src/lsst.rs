//! The Rubin adapter: an LSST alert packet (schemas 7.0–11.1) → [`solas_core::Alert`].

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_bytes::ByteBuf;
use solas_core::survey::lsst::{DiaForcedSource, DiaNondetectionLimit, DiaObject, DiaSource};
use solas_core::{
    Alert, Band, Cutout, CutoutKind, Detection, ForcedPhot, NonDetection, ObjectKey, Survey,
    SurveyObject,
};

use crate::records::{with_records, Records};
use crate::DecodeError;

const NJY_ZP: f64 = 31.4;

/// The top-level Rubin alert record (every version's fields; absent ones default).
#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
pub struct LsstPacket {
    #[serde(default)]
    pub diaSourceId: Option<i64>,
    #[serde(default)]
    pub alertId: Option<i64>,
    pub diaSource: DiaSource,
    #[serde(default)]
    pub prvDiaSources: Option<Vec<DiaSource>>,
    #[serde(default)]
    pub prvDiaForcedSources: Option<Vec<DiaForcedSource>>,
    #[serde(default)]
    pub prvDiaNondetectionLimits: Option<Vec<DiaNondetectionLimit>>,
    #[serde(default)]
    pub diaObject: Option<DiaObject>,
    #[serde(default)]
    pub ssSource: Option<IgnoredAny>,
    #[serde(default)]
    pub cutoutDifference: Option<ByteBuf>,
    #[serde(default)]
    pub cutoutScience: Option<ByteBuf>,
    #[serde(default)]
    pub cutoutTemplate: Option<ByteBuf>,
    /// Added by brokers that re-package alerts (e.g. Fink): `"lsst.v9_0"`.
    #[serde(default)]
    pub lsst_schema_version: Option<String>,
}

impl LsstPacket {
    /// `version` is the schema version known from the registry id or namespace ("" if unknown).
    /// `records` are the packet's records as written, which the typed rows carry on to
    /// the archive.
    pub fn into_alert(self, version: &str, mut records: Records) -> Result<Alert, DecodeError> {
        let mut trigger = detection(&self.diaSource).ok_or_else(|| {
            DecodeError::Content(
                "diaSource lacks diaSourceId, midpointMjdTai, band or position".into(),
            )
        })?;
        let alert_id = self.diaSourceId.unwrap_or(trigger.source_id);
        // Solar-system sources have diaObjectId 0 (or none) and an ssObjectId instead.
        let from_object = self.diaObject.as_ref().and_then(|o| o.diaObjectId);
        let object = match (
            self.diaSource.diaObjectId.or(from_object),
            self.diaSource.ssObjectId,
        ) {
            (Some(id), _) if id != 0 => ObjectKey::lsst(id),
            (_, Some(ss)) if ss != 0 => ObjectKey::lsst(ss),
            _ => {
                return Err(DecodeError::Content(format!(
                    "diaSource {alert_id} has neither diaObjectId nor ssObjectId"
                )))
            }
        };
        let schema_version = if version.is_empty() {
            self.lsst_schema_version
                .as_deref()
                .and_then(|v| v.strip_prefix("lsst.v"))
                .map(|v| v.replacen('_', ".", 1))
                .unwrap_or_default()
        } else {
            version.to_string()
        };
        let (ra, dec, mjd) = (trigger.ra, trigger.dec, trigger.mjd);
        trigger.record = records.take("diaSource").pop();
        let mut detections = vec![trigger];
        let prv = with_records(
            self.prvDiaSources.iter().flatten(),
            records.take("prvDiaSources"),
        );
        detections
            .extend(prv.filter_map(|(s, record)| detection(s).map(|d| Detection { record, ..d })));
        let forced_records = records.take("prvDiaForcedSources");
        let forced = with_records(self.prvDiaForcedSources.iter().flatten(), forced_records)
            .filter_map(|(f, record)| {
                Some(ForcedPhot {
                    source_id: f.diaForcedSourceId?,
                    mjd: f.midpointMjdTai?,
                    band: Band::from_letter(f.band.as_deref()?)?,
                    flux: f.psfFlux.map(f64::from).filter(|v| v.is_finite()),
                    flux_err: f.psfFluxErr.map(f64::from).filter(|v| v.is_finite()),
                    record,
                })
            })
            .collect();
        let limit_records = records.take("prvDiaNondetectionLimits");
        let non_detections = with_records(
            self.prvDiaNondetectionLimits.iter().flatten(),
            limit_records,
        )
        .filter_map(|(n, record)| {
            Some(NonDetection {
                mjd: n.midpointMjdTai?,
                band: Band::from_letter(n.band.as_deref()?)?,
                limiting_mag: None,
                noise_flux: n.diaNoise.map(f64::from),
                record,
            })
        })
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
                source_id: alert_id,
                data: c.into_vec(),
            })
        })
        .collect();
        let envelope = records.take_envelope();
        Ok(Alert {
            survey: Survey::Lsst,
            schema_version,
            alert_id,
            object,
            ra,
            dec,
            mjd,
            visit: self.diaSource.visit,
            detections,
            forced,
            non_detections,
            cutouts,
            survey_object: SurveyObject::Lsst(self.diaObject.map(Box::new)),
            trigger_records: records.take("ssSource"),
            envelope,
            // diaObject, ssObject, MPCORB: whatever else the schema carries.
            object_records: records.rest(),
        })
    }
}

fn detection(s: &DiaSource) -> Option<Detection> {
    let flux = s.psfFlux.map(f64::from).filter(|f| f.is_finite());
    let flux_err = s.psfFluxErr.map(f64::from).filter(|f| f.is_finite());
    // Magnitude of the absolute difference flux; its sign is in `positive`.
    let mag = flux
        .filter(|f| *f != 0.0)
        .map(|f| NJY_ZP - 2.5 * f.abs().log10());
    let mag_err = match (flux, flux_err) {
        (Some(f), Some(e)) if f != 0.0 => Some(2.5 / std::f64::consts::LN_10 * e / f.abs()),
        _ => None,
    };
    Some(Detection {
        source_id: s.diaSourceId?,
        mjd: s.midpointMjdTai?,
        band: Band::from_letter(s.band.as_deref()?)?,
        ra: s.ra?,
        dec: s.dec?,
        flux,
        flux_err,
        mag,
        mag_err,
        positive: flux.is_some_and(|f| f > 0.0),
        reliability: s.reliability.map(f64::from).filter(|r| r.is_finite()),
        rb: None,
        nid: None,
        record: None,
    })
}

/// Where a Rubin alert's record field is filled from when rebuilt from the archive
/// (`rebuild`): Rubin sends 12 months of history.
pub(crate) fn field_source(field: &str) -> Option<crate::rebuild::FieldSource> {
    use crate::rebuild::FieldSource;
    const YEAR: f64 = 365.0;
    match field {
        "diaSource" => Some(FieldSource::Trigger),
        "prvDiaSources" => Some(FieldSource::History {
            days: YEAR,
            limits: false,
        }),
        "prvDiaForcedSources" => Some(FieldSource::Forced { days: YEAR }),
        "prvDiaNondetectionLimits" => Some(FieldSource::Limits { days: YEAR }),
        "ssSource" => Some(FieldSource::TriggerRecord),
        // diaObject, ssObject, MPCORB, mpc_orbits: the object-level records.
        _ => None,
    }
}

/// A stored `diaObject` record as the typed summary the features read (the archive's
/// objects row as of a date uses the one the alert of then carried).
pub fn dia_object_of_record(record: &solas_core::RawRecord) -> Result<DiaObject, DecodeError> {
    crate::records::typed(record)
}

/// Stored `diaObject` records read into the typed summary, each schema parsed once: the
/// filter stage reads one for every Rubin alert (parsing the schema took longer than the
/// record).
#[derive(Default)]
pub struct DiaObjectReader {
    schemas: crate::value::RecordReader,
}

impl DiaObjectReader {
    pub fn read(&mut self, record: &solas_core::RawRecord) -> Result<DiaObject, DecodeError> {
        let schema = self.schemas.schema(record)?;
        serde_avro_fast::from_datum_slice(&record.body, schema)
            .map_err(|e| DecodeError::Avro(e.to_string()))
    }
}
