//! What travels between stages.

use std::time::Instant;

use solas_core::Alert;

/// Where an alert came from, for error reports and acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    File {
        path: String,
    },
    Kafka {
        topic: String,
        partition: i32,
        offset: i64,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File { path } => f.write_str(path),
            Origin::Kafka {
                topic,
                partition,
                offset,
            } => write!(f, "{topic}[{partition}]@{offset}"),
        }
    }
}

/// Raw bytes from a source: one file or one Kafka message.
#[derive(Debug)]
pub struct RawAlert {
    pub origin: Origin,
    pub payload: Vec<u8>,
    /// When the source received it, for end-to-end latency.
    pub received: Instant,
    /// 0 for real input. The benchmark replays the same alerts many times; copy `k > 0`
    /// gets distinct ids (see [`replicate`]) so that it is stored as new data.
    pub replica: u32,
}

impl RawAlert {
    pub fn new(origin: Origin, payload: Vec<u8>) -> RawAlert {
        RawAlert {
            origin,
            payload,
            received: Instant::now(),
            replica: 0,
        }
    }
}

/// Give copy `k` of an alert ids of its own: every id is offset by `k × 2^44` (above any
/// packed ZTF id, and far from real Rubin ids' use of the range), the ZTF name is suffixed.
pub fn replicate(alert: &mut Alert, k: u32) {
    let shift = i64::from(k) << 44;
    alert.alert_id = alert.alert_id.wrapping_add(shift);
    alert.object.id = alert.object.id.wrapping_add(shift);
    if alert.survey == solas_core::Survey::Ztf {
        alert.object.name = format!("{}r{k}", alert.object.name);
    } else {
        alert.object.name = alert.object.id.to_string();
    }
    for d in &mut alert.detections {
        d.source_id = d.source_id.wrapping_add(shift);
    }
    for f in &mut alert.forced {
        f.source_id = f.source_id.wrapping_add(shift);
    }
    for c in &mut alert.cutouts {
        c.source_id = c.source_id.wrapping_add(shift);
    }
    if let solas_core::SurveyObject::Lsst(Some(o)) = &mut alert.survey_object {
        o.diaObjectId = Some(alert.object.id);
    }
}

/// A decoded alert on its way through the stages. `origin` is shared by every alert of
/// one payload; the payload is acknowledged once all of them are done (`last_of_payload`).
#[derive(Debug)]
pub struct InFlight {
    pub alert: Alert,
    pub origin: Origin,
    /// Position of the record inside its payload (byte offset in a container file).
    pub record_offset: u64,
    pub last_of_payload: bool,
    pub received: Instant,
    /// The object's context classification, once the context stage has run.
    pub context: Option<std::sync::Arc<crate::context::result::ContextResult>>,
}

/// The source messages (files, Kafka messages) these alerts came from: each counted
/// once, whether the batch holds all of its alerts or some.
pub fn payloads_in(batch: &[InFlight]) -> u64 {
    let origins: std::collections::HashSet<&Origin> = batch.iter().map(|m| &m.origin).collect();
    origins.len() as u64
}

/// The version of [`Published`] this build writes. A reader refuses (sets aside, with the
/// reason) a message of a later version rather than guess at it.
pub const PUBLISHED_VERSION: u32 = 1;

/// An alert as the scale-out stages pass it on over Kafka (JSON): stored already,
/// cutout-free, with its context classification once the context stage has run. Read as
/// owned values; written from borrowed ones (`Published<&Alert, &Classified>`), so
/// publishing copies nothing.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Published<A = Alert, C = crate::context::result::Classified> {
    /// [`PUBLISHED_VERSION`] when written; messages from before versions count as 1.
    #[serde(default = "first_version")]
    pub version: u32,
    pub alert: A,
    pub context: Option<C>,
}

fn first_version() -> u32 {
    1
}
