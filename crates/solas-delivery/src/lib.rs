//! Where filter results go. This crate owns the output side of a user filter: the per-filter
//! Kafka topic (plain rows, rows with a lite lightcurve, rows with the full cutout-free alert),
//! webhook POSTs, the daily email digest over SMTP, and the per-filter daily byte quota.
//!
//! It knows nothing about SQL or alerts: the filter stage hands it result rows as JSON objects
//! ([`Record`]), with the `alert` key already attached for the lite/full modes, and a
//! [`FilterTarget`] saying where they go. Every sink reports errors per filter; one filter's bad
//! URL or unreachable broker never stops the others.

pub mod email;
pub mod gcn;
pub mod kafka;
pub mod quota;
pub mod webhook;

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

pub use email::{DigestOutcome, EmailQueue, SmtpConfig};
pub use kafka::{KafkaConfig, KafkaSink};
pub use quota::{DbLedger, MemoryLedger, QuotaLedger, QuotaSink, DEFAULT_BYTE_QUOTA};
pub use webhook::{WebhookConfig, WebhookSink};

/// What a filter does with its results (Lasair's `myqueries.output`, plus webhooks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputMode {
    None,
    Kafka,
    KafkaLite,
    KafkaFull,
    /// One GCN notice per object ([`gcn`]).
    KafkaGcn,
    Email,
    Webhook,
}

impl OutputMode {
    pub const ALL: [OutputMode; 7] = [
        OutputMode::None,
        OutputMode::Kafka,
        OutputMode::KafkaLite,
        OutputMode::KafkaFull,
        OutputMode::KafkaGcn,
        OutputMode::Email,
        OutputMode::Webhook,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            OutputMode::None => "none",
            OutputMode::Kafka => "kafka",
            OutputMode::KafkaLite => "kafka-lite",
            OutputMode::KafkaFull => "kafka-full",
            OutputMode::KafkaGcn => "kafka-gcn",
            OutputMode::Email => "email",
            OutputMode::Webhook => "webhook",
        }
    }

    /// Whether records for this mode are made with the object's alert (lite lightcurve,
    /// full alert, a GCN notice's photometry).
    pub fn wants_alert(self) -> bool {
        matches!(
            self,
            OutputMode::KafkaLite | OutputMode::KafkaFull | OutputMode::KafkaGcn
        )
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputMode {
    type Err = DeliveryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                DeliveryError::Config(format!(
                    "unknown output mode {s:?} (expected one of none, kafka, kafka-lite, kafka-full, kafka-gcn, email, webhook)"
                ))
            })
    }
}

/// One filter's destination, as stored with the filter.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterTarget {
    pub filter_id: i64,
    pub user_id: i64,
    pub name: String,
    pub mode: OutputMode,
    pub topic: String,
    pub email: Option<String>,
    pub webhook_url: Option<String>,
    /// Bytes per UTC day; negative means unlimited (Lasair uses -1).
    pub byte_quota: i64,
}

impl FilterTarget {
    /// A target with the topic derived from the name and the default quota.
    pub fn new(filter_id: i64, user_id: i64, name: &str, mode: OutputMode) -> FilterTarget {
        FilterTarget {
            filter_id,
            user_id,
            name: name.to_string(),
            mode,
            topic: topic_name(user_id, name),
            email: None,
            webhook_url: None,
            byte_quota: DEFAULT_BYTE_QUOTA,
        }
    }
}

/// The filter's Kafka topic: `solas_<userid>_<name>` where the name keeps only `[A-Za-z0-9_.-]`
/// (the characters Kafka allows in topic names) and, past 128 characters, its first and last 64
/// (Lasair's rule, so long names stay distinct at both ends and under Kafka's 249-char limit).
pub fn topic_name(user_id: i64, filter_name: &str) -> String {
    let kept: Vec<char> = filter_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    let name: String = if kept.len() > 128 {
        kept[..64].iter().chain(&kept[kept.len() - 64..]).collect()
    } else {
        kept.into_iter().collect()
    };
    format!("solas_{user_id}_{name}")
}

/// One result row as JSON (column → value), with what the mode needs attached by the caller
/// (`alert` key for lite/full). Ids are `serde_json` integers (i64/u64), never floats, so a
/// 64-bit `diaObjectId` reaches the user exactly.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record(pub Map<String, Value>);

impl Record {
    /// The object id used as the Kafka key and in digest links: `diaObjectId` (Rubin) or
    /// `objectId` (ZTF), matched case-insensitively as Lasair does.
    pub fn object_id(&self) -> Option<String> {
        object_id_of(&self.0)
    }

    /// A stable id for this record of filter `filter_id`: the same for the same row,
    /// whenever it is sent. At-least-once delivery may repeat a record after a crash (the
    /// alerts behind it are read again); consumers drop repeats by this id, sent as the
    /// Kafka header `solas-record-id` (hex). The row's JSON is canonical (keys sorted),
    /// and the `UTC` send time is left out, so a repeat gets the same id.
    pub fn record_id(&self, filter_id: i64) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(filter_id.to_le_bytes());
        h.update(serde_json::to_vec(&self.0).unwrap_or_default());
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The record as sent: the row plus `"UTC": "YYYY-MM-DD HH:MM:SS"`.
    pub fn to_json_with_utc(&self, utc: &str) -> Vec<u8> {
        let mut map = self.0.clone();
        map.insert("UTC".to_string(), Value::String(utc.to_string()));
        // Serialising a Map of Values cannot fail.
        serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
    }
}

/// [`Record::object_id`] of a result row, without making it a record first.
pub fn object_id_of(row: &Map<String, Value>) -> Option<String> {
    let value = ["diaobjectid", "objectid"].iter().find_map(|want| {
        row.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(want))
            .map(|(_, v)| v)
    })?;
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl From<Map<String, Value>> for Record {
    fn from(map: Map<String, Value>) -> Self {
        Record(map)
    }
}

/// What one delivery did for one filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub bytes: u64,
    pub rejected_quota: u64,
}

/// A destination for filter results.
pub trait Sink: Send {
    fn deliver(
        &mut self,
        target: &FilterTarget,
        records: &[Record],
    ) -> Result<DeliveryReport, DeliveryError>;
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The operator's service behind the sink (the Kafka brokers) did not take the
    /// records: an outage, waited out by the pipeline rather than reported to the owner.
    #[error("filter {filter_id} ({name}): {reason}")]
    Unavailable {
        filter_id: i64,
        name: String,
        reason: String,
    },
    /// Something about this filter's output (its topic, its webhook) is wrong: reported
    /// to the filter's owner.
    #[error("filter {filter_id} ({name}): {reason}")]
    Target {
        filter_id: i64,
        name: String,
        reason: String,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error("kafka: {0}")]
    Kafka(String),
    #[error("webhook {url}: {reason} (after {attempts} attempt(s))")]
    Webhook {
        url: String,
        reason: String,
        attempts: u32,
    },
    #[error("email: {0}")]
    Email(String),
    #[error("database: {0}")]
    Store(#[from] solas_store::StoreError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl DeliveryError {
    /// Transient: the operator's services are down and the batch waits for them (its alerts
    /// unacknowledged). Anything else about one filter's output is the owner's to mend and
    /// is reported to them without holding the stream.
    pub fn kind(&self) -> solas_store::ErrorKind {
        use solas_store::ErrorKind;
        match self {
            DeliveryError::Unavailable { .. } => ErrorKind::Transient,
            DeliveryError::Store(e) => e.kind(),
            DeliveryError::Json(_) => ErrorKind::BadInput,
            DeliveryError::Target { .. }
            | DeliveryError::Config(_)
            | DeliveryError::Kafka(_)
            | DeliveryError::Webhook { .. }
            | DeliveryError::Email(_) => ErrorKind::Permanent,
        }
    }

    pub(crate) fn target(target: &FilterTarget, reason: impl Into<String>) -> DeliveryError {
        DeliveryError::Target {
            filter_id: target.filter_id,
            name: target.name.clone(),
            reason: reason.into(),
        }
    }
}

/// Routes each filter to the sink its mode names. A mode without a configured sink is an
/// error for that filter only; `none` delivers nothing.
#[derive(Default)]
pub struct Router {
    pub kafka: Option<KafkaSink>,
    pub webhook: Option<WebhookSink>,
    pub email: Option<EmailQueue>,
}

impl Sink for Router {
    fn deliver(
        &mut self,
        target: &FilterTarget,
        records: &[Record],
    ) -> Result<DeliveryReport, DeliveryError> {
        let missing =
            |what: &str| DeliveryError::target(target, format!("no {what} sink configured"));
        match target.mode {
            OutputMode::None => Ok(DeliveryReport::default()),
            OutputMode::Kafka
            | OutputMode::KafkaLite
            | OutputMode::KafkaFull
            | OutputMode::KafkaGcn => self
                .kafka
                .as_mut()
                .ok_or_else(|| missing("kafka"))?
                .deliver(target, records),
            OutputMode::Webhook => self
                .webhook
                .as_mut()
                .ok_or_else(|| missing("webhook"))?
                .deliver(target, records),
            OutputMode::Email => self
                .email
                .as_mut()
                .ok_or_else(|| missing("email"))?
                .deliver(target, records),
        }
    }
}

/// The full alert for `kafka-full`: everything but the annotations and the image cutouts
/// (cutouts are large binary blobs users fetch separately).
pub fn full_alert(alert: &Value) -> Value {
    let mut alert = alert.clone();
    if let Value::Object(map) = &mut alert {
        map.retain(|k, _| k != "annotations" && !k.to_ascii_lowercase().starts_with("cutout"));
    }
    alert
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the `UTC` field of every record.
pub fn utc_string(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// `YYYY-MM-DD` in UTC: the day quotas and digests are counted by.
pub fn utc_day(t: SystemTime) -> String {
    utc_string(t)[..10].to_string()
}

/// Days since 1970-01-01 to a date, as the core computes nights' dates.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let (y, m, d) = solas_core::night::civil_from_days(z);
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn topic_names_follow_lasairs_sanitising() {
        assert_eq!(topic_name(2, "Has abs mag!"), "solas_2_Hasabsmag");
        assert_eq!(topic_name(7, "a.b-c_d"), "solas_7_a.b-c_d");
        let long: String = (0..200).map(|i| if i < 100 { 'a' } else { 'b' }).collect();
        let t = topic_name(1, &long);
        assert_eq!(t, format!("solas_1_{}{}", "a".repeat(64), "b".repeat(64)));
        let exactly: String = "x".repeat(128);
        assert_eq!(topic_name(1, &exactly), format!("solas_1_{exactly}"));
        assert_eq!(topic_name(3, "ünïcødé"), "solas_3_ncd");
    }

    #[test]
    fn output_modes_round_trip_and_reject_unknown() {
        for m in OutputMode::ALL {
            assert_eq!(m.as_str().parse::<OutputMode>().unwrap(), m);
        }
        let err = "kafka-plain".parse::<OutputMode>().unwrap_err().to_string();
        assert!(err.contains("kafka-plain"), "{err}");
    }

    /// A repeat after a crash (found deploying the scale-out: two exact duplicates on a
    /// filter topic) carries the same record id; another row or filter does not.
    #[test]
    fn record_ids_are_stable_for_a_repeated_row() {
        let row = |ncand: i64| {
            let mut m = Map::new();
            m.insert("objectId".into(), Value::from("ZTF21abiuvdk"));
            m.insert("ncand".into(), Value::from(ncand));
            Record(m)
        };
        assert_eq!(row(34).record_id(1), row(34).record_id(1));
        assert_eq!(row(34).record_id(1).len(), 32);
        assert_ne!(row(34).record_id(1), row(33).record_id(1));
        assert_ne!(row(34).record_id(1), row(34).record_id(2));
    }

    #[test]
    fn utc_strings_are_exact() {
        assert_eq!(utc_string(UNIX_EPOCH), "1970-01-01 00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29 12:34:56
        assert_eq!(utc_string(t), "2024-02-29 12:34:56");
        assert_eq!(utc_day(t), "2024-02-29");
        let t = UNIX_EPOCH + Duration::from_secs(4_102_444_799); // 2099-12-31 23:59:59
        assert_eq!(utc_string(t), "2099-12-31 23:59:59");
    }

    #[test]
    fn object_ids_stay_exact_integers() {
        let rec: Record = serde_json::from_str::<Map<String, Value>>(
            r#"{"DIAOBJECTID": 169298432598474793, "ra": 1.5}"#,
        )
        .unwrap()
        .into();
        assert_eq!(rec.object_id().as_deref(), Some("169298432598474793"));
        let out = String::from_utf8(rec.to_json_with_utc("2026-01-02 03:04:05")).unwrap();
        assert!(out.contains("169298432598474793"), "{out}");
        assert!(out.contains(r#""UTC":"2026-01-02 03:04:05""#), "{out}");
        let ztf: Record =
            serde_json::from_str::<Map<String, Value>>(r#"{"objectId": "ZTF21abiuvdk"}"#)
                .unwrap()
                .into();
        assert_eq!(ztf.object_id().as_deref(), Some("ZTF21abiuvdk"));
        assert_eq!(Record::default().object_id(), None);
    }

    #[test]
    fn full_alert_drops_cutouts_and_annotations() {
        let alert = serde_json::json!({
            "diaObject": {"diaObjectId": 1},
            "diaSourcesList": [{"psfFlux": 1.0, "psfFluxErr": 0.1, "midpointMjdTai": 60000.5,
                                 "band": "g", "reliability": 0.9, "x": 3}],
            "diaForcedSourcesList": [{"psfFlux": 2.0, "psfFluxErr": 0.2, "midpointMjdTai": 60001.5, "band": "r"}],
            "annotations": [1], "cutoutScience": "xx"
        });
        let full = full_alert(&alert);
        assert!(full.get("annotations").is_none() && full.get("cutoutScience").is_none());
        assert!(full.get("diaObject").is_some());
    }
}
