//! The delivery stage: what the filters found goes out here, after the filter stage has
//! committed the batch. Each result row becomes a JSON record (with the lite lightcurve or
//! the full cutout-free alert when the filter asks for it) and goes to the filter's Kafka
//! topic, email digest queue or webhook through `solas-delivery`, behind the daily byte
//! quota. Failures, timeouts and quota stops are written to `filter_reports` for the
//! filter's owner. The batch's alerts are acknowledged to their source only after their
//! results have been handed on, so a crash re-delivers rather than loses. An outage of
//! the operator's Kafka brokers (or of the main database behind the quota ledger) is not
//! the owner's problem: the delivery waits for it ([`Retrier`]) and nothing is acknowledged
//! meanwhile.
//!
//! Delivery runs on its own thread so a slow endpoint delays acknowledgements, not the
//! filters of the next batch.

pub mod gcn;

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::Receiver;
use serde_json::{json, Map, Value};
use solas_core::Alert;
use solas_delivery::{
    DbLedger, DeliveryError, FilterTarget, KafkaConfig, KafkaSink, OutputMode, QuotaSink, Record,
    Router, Sink, SmtpConfig, WebhookConfig, WebhookSink,
};
use solas_store::db::Target;
use solas_store::main_db::filters::{FilterStore, StoredFilter};
use solas_store::main_db::object_view::NoticeContext;

use crate::filter::user_filters::FilterOutcome;
use crate::message::Origin;
use crate::retry::{GaveUp, Retrier};
use crate::stage::{Never, Output, Stage, Status};
use crate::stats::Stats;

/// One batch's results, the alerts their lite/full/GCN records need (by object id as
/// text), what GCN notices say of those objects besides their alerts, and the source
/// positions to acknowledge once they are delivered.
#[derive(Debug, Default)]
pub struct DeliveryWork {
    pub outcomes: Vec<FilterOutcome>,
    pub alerts: HashMap<String, Alert>,
    pub notices: HashMap<String, NoticeContext>,
    pub acks: Vec<Origin>,
    /// The batch's alerts' visits, counted delivered in the ledger once every filter's
    /// results are delivered.
    pub visits: Vec<solas_store::main_db::ledger::VisitKey>,
}

/// Where results may go. Email digests are queued in the main database whatever the
/// configuration; `solas digest` sends them.
#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    /// Brokers for the filters' topics (None: Kafka filters are reported as undeliverable).
    pub kafka: Option<KafkaConfig>,
    pub webhook: WebhookConfig,
}

/// The sink every filter result goes through: Kafka, webhook or email queue, behind the
/// quota ledger in the main database.
pub fn build_sink(
    main_db: &Target,
    config: &DeliveryConfig,
) -> Result<Box<dyn Sink>, DeliveryError> {
    let open = || solas_store::main_db::connect(main_db);
    let kafka = match &config.kafka {
        Some(k) => Some(KafkaSink::new(k)?),
        None => None,
    };
    let router = Router {
        kafka,
        webhook: Some(WebhookSink::new(config.webhook.clone())),
        // Queueing needs no SMTP server; the address is only used by `send_digests`.
        email: Some(solas_delivery::EmailQueue::new(
            open()?,
            SmtpConfig::new("localhost", 25, "", ""),
        )?),
    };
    let ledger = DbLedger::new(open()?)?;
    Ok(Box::new(QuotaSink::new(router, ledger)))
}

/// A stored filter's destination.
pub fn target(f: &StoredFilter) -> Result<FilterTarget, DeliveryError> {
    Ok(FilterTarget {
        filter_id: f.id,
        user_id: f.owner,
        name: f.name.clone(),
        mode: f.output.parse()?,
        topic: f.topic.clone(),
        email: f.email.clone(),
        webhook_url: f.webhook_url.clone(),
        byte_quota: f.byte_quota,
    })
}

/// Lasair's lite lightcurve: each detection's and forced measurement's flux, error, time
/// and band (and reliability for detections), under Lasair-LSST's names for both surveys.
pub fn lite(alert: &Alert) -> Value {
    let detections: Vec<Value> = alert
        .detections
        .iter()
        .map(|d| {
            json!({
                "psfFlux": d.flux, "psfFluxErr": d.flux_err, "midpointMjdTai": d.mjd,
                "band": d.band, "reliability": d.reliability,
            })
        })
        .collect();
    let forced: Vec<Value> = alert
        .forced
        .iter()
        .map(|f| {
            json!({
                "psfFlux": f.flux, "psfFluxErr": f.flux_err, "midpointMjdTai": f.mjd,
                "band": f.band,
            })
        })
        .collect();
    json!({ "diaSourcesList": detections, "diaForcedSourcesList": forced })
}

/// The whole alert as it travels the pipeline (survey-neutral, cutouts already in the
/// blob store), for `kafka-full`.
pub fn full(alert: &Alert) -> Value {
    solas_delivery::full_alert(&serde_json::to_value(alert).unwrap_or(Value::Null))
}

/// The records of one filter's rows, with `alert` attached where the mode asks for it and
/// the batch holds the object's alert; for `kafka-gcn`, one GCN notice per object (a row
/// whose object's alert the batch lacks has no notice).
pub fn records(
    mode: OutputMode,
    rows: &[Map<String, Value>],
    alerts: &HashMap<String, Alert>,
    notices: &HashMap<String, NoticeContext>,
) -> Vec<Record> {
    if mode == OutputMode::KafkaGcn {
        let no_context = NoticeContext::default();
        let mut seen = std::collections::HashSet::new();
        return rows
            .iter()
            .filter_map(solas_delivery::object_id_of)
            .filter(|id| seen.insert(id.clone()))
            .filter_map(|id| {
                let alert = alerts.get(&id)?;
                let context = notices.get(&id).unwrap_or(&no_context);
                Some(solas_delivery::gcn::notice(&gcn::target(alert, context)))
            })
            .collect();
    }
    rows.iter()
        .map(|row| {
            let mut record = Record(row.clone());
            if mode.wants_alert() {
                let alert = record.object_id().and_then(|id| alerts.get(&id));
                let value = match (mode, alert) {
                    (OutputMode::KafkaLite, Some(a)) => lite(a),
                    (_, Some(a)) => full(a),
                    (_, None) => Value::Null,
                };
                record.0.insert("alert".into(), value);
            }
            record
        })
        .collect()
}

/// Result records kept per filter for its web page.
const RECENT_OUTPUTS: usize = 100;

pub struct DeliveryStage {
    pub sink: Box<dyn Sink>,
    /// Where owners' reports are written.
    pub reports: FilterStore,
    pub stats: Arc<Stats>,
    pub retry: Arc<Retrier>,
}

/// A stop came while the brokers were down: the batch was not delivered in full and its
/// alerts stay unacknowledged (read again after the restart).
struct Stopped;

impl Stage for DeliveryStage {
    const NAME: &'static str = "delivery";
    type In = DeliveryWork;
    type Out = Never;
    /// Delivery failures are the filter owners' (reported to them) or outages (waited out).
    type Error = std::convert::Infallible;

    fn run(
        mut self,
        input: Receiver<DeliveryWork>,
        output: Output<Never>,
    ) -> Result<(), Self::Error> {
        for work in input {
            let started = std::time::Instant::now();
            let delivered = self.deliver(&work);
            Stats::busy(&self.stats.busy_delivery_ns, started);
            if delivered.is_err() {
                // Stopping while the brokers are down: these payloads stay unacknowledged
                // (read again after the restart), and the run says so.
                Stats::add(&self.stats.abandoned, work.acks.len() as u64);
                return Ok(());
            }
            self.stats
                .ledger
                .count_visits(solas_store::main_db::ledger::Step::Delivered, &work.visits);
            for origin in work.acks {
                output.ack(origin, Status::Delivered);
            }
        }
        Ok(())
    }
}

impl DeliveryStage {
    fn report(&mut self, f: &StoredFilter, kind: &str, message: &str) {
        if let Err(e) = self.reports.report(f, kind, message) {
            log::error!("recording a report for filter {}: {e}", f.id);
        }
    }

    fn deliver(&mut self, work: &DeliveryWork) -> Result<(), Stopped> {
        let mut recent: Vec<(i64, Vec<String>)> = Vec::new();
        for outcome in &work.outcomes {
            let f = &outcome.filter;
            let rows = match &outcome.result {
                Ok(rows) => rows,
                Err(failure) => {
                    self.report(f, failure.kind(), failure.message());
                    continue;
                }
            };
            if rows.is_empty() {
                continue;
            }
            // The filter's page shows what its stream carried lately.
            recent.push((
                f.id,
                rows.iter()
                    .rev()
                    .take(RECENT_OUTPUTS)
                    .rev()
                    .map(|r| serde_json::Value::Object(r.clone()).to_string())
                    .collect(),
            ));
            let target = match target(f) {
                Ok(t) => t,
                Err(e) => {
                    self.report(f, "delivery", &e.to_string());
                    continue;
                }
            };
            if target.mode == OutputMode::None {
                continue;
            }
            let records = records(target.mode, rows, &work.alerts, &work.notices);
            let sink = &mut self.sink;
            let delivered = self
                .retry
                .run("filters' Kafka brokers", || sink.deliver(&target, &records));
            match delivered {
                Ok(report) => {
                    Stats::add(&self.stats.delivered, report.delivered);
                    if report.rejected_quota > 0 {
                        Stats::add(&self.stats.quota_rejected, report.rejected_quota);
                        let message = format!(
                            "daily byte quota of {} bytes reached: further records today are not delivered",
                            target.byte_quota
                        );
                        self.report(f, "quota", &message);
                    }
                }
                Err(GaveUp::Failed(e)) => {
                    Stats::add(&self.stats.delivery_failures, 1);
                    log::warn!("filter {} ({}): delivery failed: {e}", f.id, f.name);
                    self.report(f, "delivery", &e.to_string());
                }
                Err(GaveUp::Stopped { .. }) => return Err(Stopped),
            }
        }
        if let Err(e) = self.reports.record_outputs(&recent, RECENT_OUTPUTS) {
            log::warn!("keeping filters' recent outputs: {e}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solas_core::{Band, Detection, ObjectKey, Survey, SurveyObject};

    fn alert() -> Alert {
        Alert {
            survey: Survey::Lsst,
            schema_version: "9.0".into(),
            alert_id: 11,
            object: ObjectKey::lsst(169298432598474793),
            ra: 1.0,
            dec: 2.0,
            mjd: 60000.5,
            visit: None,
            detections: vec![Detection {
                source_id: 11,
                mjd: 60000.5,
                band: Band::G,
                ra: 1.0,
                dec: 2.0,
                flux: Some(1500.0),
                flux_err: Some(20.0),
                mag: Some(23.0),
                mag_err: Some(0.1),
                positive: true,
                reliability: Some(0.9),
                rb: None,
                nid: None,
                record: None,
            }],
            forced: vec![],
            non_detections: vec![],
            cutouts: vec![],
            survey_object: SurveyObject::Lsst(None),
            object_records: vec![],
            trigger_records: vec![],
            envelope: None,
        }
    }

    #[test]
    fn records_carry_the_alert_the_mode_asks_for() {
        let mut alerts = HashMap::new();
        alerts.insert("169298432598474793".to_string(), alert());
        let row: Map<String, Value> =
            serde_json::from_str(r#"{"diaObjectId": 169298432598474793, "g": 1.5}"#).unwrap();
        let rows = vec![row];
        let plain = records(OutputMode::Kafka, &rows, &alerts, &HashMap::new());
        assert!(plain[0].0.get("alert").is_none());
        let lite = records(OutputMode::KafkaLite, &rows, &alerts, &HashMap::new());
        let ds = &lite[0].0["alert"]["diaSourcesList"][0];
        assert_eq!(ds["psfFlux"], 1500.0);
        assert_eq!(ds["band"], "g");
        assert_eq!(ds.as_object().unwrap().len(), 5);
        let full = records(OutputMode::KafkaFull, &rows, &alerts, &HashMap::new());
        let a = &full[0].0["alert"];
        assert_eq!(a["object"]["id"], json!(169298432598474793i64));
        assert!(a.get("cutouts").is_none());
        // An object the batch does not hold gets an explicit null, not a wrong alert.
        let other: Map<String, Value> = serde_json::from_str(r#"{"diaObjectId": 5}"#).unwrap();
        let none = records(OutputMode::KafkaFull, &[other], &alerts, &HashMap::new());
        assert_eq!(none[0].0["alert"], Value::Null);
        // GCN: one notice per object, with the store's events and probabilities.
        let context = NoticeContext {
            events: vec!["S230518h".into()],
            probabilities: vec![("SN".into(), 0.8)],
        };
        let notices = HashMap::from([("169298432598474793".to_string(), context)]);
        let twice = vec![
            rows[0].clone(),
            rows[0].clone(),
            serde_json::from_str(r#"{"diaObjectId": 5}"#).unwrap(),
        ];
        let gcn = records(OutputMode::KafkaGcn, &twice, &alerts, &notices);
        assert_eq!(gcn.len(), 1, "one notice per object the batch holds");
        let target = &gcn[0].0["data"]["targets"][0];
        assert_eq!(target["event_name"], "169298432598474793");
        assert_eq!(target["gcn_crossmatch"][0]["ref_ID"], "S230518h");
        assert_eq!(target["classification_scores"]["SN"], 0.8);
        let point = &gcn[0].0["data"]["photometry"][0];
        assert_eq!(point["filter"], "lsstg");
        assert_eq!(point["mag"], 23.0);
    }
}
