//! Webhook delivery: one HTTP POST per delivery with the JSON body
//! `{"filter": name, "topic": topic, "records": [...]}` (each record with its `UTC`), retried
//! with exponential backoff when the endpoint is down or answers 5xx. A 4xx is the user's
//! endpoint refusing the request, so it is reported at once rather than retried.

use std::thread::sleep;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use crate::{utc_string, DeliveryError, DeliveryReport, FilterTarget, Record, Sink};

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Total tries per delivery, at least 1.
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// Per-request time limit (connect, send and response), so a hanging endpoint cannot
    /// stall the filter stage for long.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
        }
    }
}

pub struct WebhookSink {
    agent: ureq::Agent,
    config: WebhookConfig,
    clock: fn() -> SystemTime,
}

/// Whether a failed try is worth another.
enum Failure {
    Retry(String),
    Final(String),
}

impl WebhookSink {
    pub fn new(config: WebhookConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            // Statuses are judged here (5xx retried, 4xx not), not turned into errors.
            .http_status_as_error(false)
            .build()
            .into();
        WebhookSink {
            agent,
            config,
            clock: SystemTime::now,
        }
    }

    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    fn post_once(&self, url: &str, body: &[u8]) -> Result<(), Failure> {
        let response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body);
        match response {
            Ok(r) => {
                let status = r.status().as_u16();
                match status {
                    200..=299 => Ok(()),
                    500..=599 => Err(Failure::Retry(format!("HTTP {status}"))),
                    _ => Err(Failure::Final(format!("HTTP {status}"))),
                }
            }
            Err(e) => match e {
                ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::ConnectionFailed => Err(Failure::Retry(e.to_string())),
                // A malformed URL or a protocol error will not get better by retrying.
                _ => Err(Failure::Final(e.to_string())),
            },
        }
    }
}

impl Sink for WebhookSink {
    fn deliver(
        &mut self,
        target: &FilterTarget,
        records: &[Record],
    ) -> Result<DeliveryReport, DeliveryError> {
        if records.is_empty() {
            return Ok(DeliveryReport::default());
        }
        let url = target
            .webhook_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| DeliveryError::target(target, "webhook mode without a webhook URL"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(DeliveryError::target(
                target,
                format!("webhook URL {url:?} is not http(s)"),
            ));
        }
        let utc = utc_string((self.clock)());
        let mut rows = Vec::with_capacity(records.len());
        for r in records {
            let mut m = r.0.clone();
            m.insert("UTC".into(), Value::String(utc.clone()));
            rows.push(Value::Object(m));
        }
        let mut body = Map::new();
        body.insert("filter".into(), Value::String(target.name.clone()));
        body.insert("topic".into(), Value::String(target.topic.clone()));
        body.insert("records".into(), Value::Array(rows));
        let body = serde_json::to_vec(&Value::Object(body))?;

        let attempts = self.config.attempts.max(1);
        let mut delay = self.config.base_delay;
        let mut tries = 0;
        loop {
            tries += 1;
            let reason = match self.post_once(url, &body) {
                Ok(()) => {
                    return Ok(DeliveryReport {
                        delivered: records.len() as u64,
                        bytes: body.len() as u64,
                        rejected_quota: 0,
                    })
                }
                Err(Failure::Final(reason)) => reason,
                Err(Failure::Retry(reason)) if tries < attempts => {
                    log::info!(
                        "webhook for filter {} failed ({reason}); retry {tries} in {delay:?}",
                        target.filter_id
                    );
                    sleep(delay);
                    delay = delay.saturating_mul(2);
                    continue;
                }
                Err(Failure::Retry(reason)) => reason,
            };
            return Err(DeliveryError::Webhook {
                url: format!("{url} (filter {} {})", target.filter_id, target.name),
                reason,
                attempts: tries,
            });
        }
    }
}
