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
    /// Shared, not copied, by a source that offers the same bytes many times (the
    /// benchmark's replay: a copy of each 130 KB alert had bound its source thread).
    pub payload: bytes::Bytes,
    /// When the source received it, for end-to-end latency.
    pub received: Instant,
    /// 0 for real input. The benchmark replays the same alerts many times; copy `k > 0`
    /// gets distinct ids (see [`replicate`]) so that it is stored as new data.
    pub replica: u32,
    /// Which copy of its object the alert is about: `replica` for a new object per copy;
    /// fewer (the history benchmark) makes later copies new alerts of objects stored before.
    pub object_replica: u32,
    /// Stored without its cutouts (benchmarks only: a preload that spares the disk).
    pub without_cutouts: bool,
    /// Stored as typed rows only, without the archive's records (benchmarks only: what the
    /// archive costs, `solas bench --without-records`).
    pub without_records: bool,
}

impl RawAlert {
    pub fn new(origin: Origin, payload: impl Into<bytes::Bytes>) -> RawAlert {
        RawAlert {
            origin,
            payload: payload.into(),
            received: Instant::now(),
            replica: 0,
            object_replica: 0,
            without_cutouts: false,
            without_records: false,
        }
    }
}

/// Give copy `k` of an alert ids of its own: every id is offset by `k × 2^44` (above any
/// packed ZTF id, and far from real Rubin ids' use of the range), the ZTF name is suffixed.
/// The object and the sources of its history are those of object copy `object_k`: with
/// `object_k == k` every copy is a new object; with fewer object copies (the history
/// benchmark), copy `k` is a new alert (its trigger and cutouts new) of an object stored
/// before, whose history repeats what its earlier alerts brought.
pub fn replicate(alert: &mut Alert, k: u32, object_k: u32) {
    let shift = i64::from(k) << 44;
    let object_shift = i64::from(object_k) << 44;
    let trigger = alert.alert_id;
    alert.alert_id = alert.alert_id.wrapping_add(shift);
    alert.object.id = alert.object.id.wrapping_add(object_shift);
    if alert.survey == solas_core::Survey::Ztf {
        alert.object.name = format!("{}r{object_k}", alert.object.name);
    } else {
        alert.object.name = alert.object.id.to_string();
    }
    let of = |id: i64| {
        if id == trigger {
            shift
        } else {
            object_shift
        }
    };
    for d in &mut alert.detections {
        d.source_id = d.source_id.wrapping_add(of(d.source_id));
    }
    for f in &mut alert.forced {
        f.source_id = f.source_id.wrapping_add(object_shift);
    }
    for c in &mut alert.cutouts {
        c.source_id = c.source_id.wrapping_add(of(c.source_id));
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

#[cfg(test)]
mod tests {
    use super::replicate;

    fn rubin_alert() -> solas_core::Alert {
        let bytes = std::fs::read(
            solas_testdata::repo_samples()
                .join("lsst/fink_rubin_2025-09-05_v9.0/169298432598474793_169298432598474793.avro"),
        )
        .expect("sample alert");
        let decoder = solas_decode::Decoder::configured(None, None).expect("decoder");
        let (_, alert) = decoder.decode(&bytes).expect("decodes").records.remove(0);
        alert.expect("an alert")
    }

    /// The history benchmark's copies: copy 5 of an alert about object copy 1 is a new
    /// alert (trigger and cutouts new) of the object copy 1 stored, its other sources those
    /// copy 1 had; copy 1 itself is a new object as before.
    #[test]
    fn a_history_copy_is_a_new_alert_of_an_object_stored_before() {
        let original = rubin_alert();
        let mut first = original.clone();
        replicate(&mut first, 1, 1);
        let mut later = original.clone();
        replicate(&mut later, 5, 1);
        assert_eq!(later.object.id, first.object.id, "the same object");
        assert_ne!(later.alert_id, first.alert_id, "a new alert");
        assert_eq!(later.alert_id, original.alert_id + (5 << 44));
        let trigger = |a: &solas_core::Alert| {
            a.detections
                .iter()
                .find(|d| d.source_id == a.alert_id)
                .map(|d| d.source_id)
        };
        assert_eq!(
            trigger(&later),
            Some(later.alert_id),
            "its trigger detection is new"
        );
        for (l, f) in later.detections.iter().zip(&first.detections) {
            if f.source_id != first.alert_id {
                assert_eq!(l.source_id, f.source_id, "history repeats");
            }
        }
        assert!(later.cutouts.iter().all(|c| c.source_id == later.alert_id));
    }
}
