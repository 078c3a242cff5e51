//! The daily email digest (Lasair's output mode 1): records for email filters are queued in
//! SQLite as they match (`email_queue`), and `send_digests` — run once a day by the operator's
//! scheduler — sends each filter's owner one HTML + plain-text message with that filter's
//! rows, each object id linking to `/objects/<id>` on the web site. `email_digest_log` makes
//! a second run on the same UTC day a no-op for filters already sent, and rows are removed
//! from the queue only once the SMTP server has accepted the message, so a failed send is
//! retried on the next run.
//!
//! SMTP is plain (no TLS): the broker hands digests to a local relay, which does the rest.

use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::{Map, Value};
use solas_store::db::Db;
use solas_store::main_db::delivery;

use crate::{utc_day, utc_string, DeliveryError, DeliveryReport, FilterTarget, Record, Sink};

/// Where digests are sent from and through.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The `From:` address, e.g. `Solas <solas@broker.example>`.
    pub from: String,
    /// The web site that serves `/objects/<id>`, without a trailing slash.
    pub base_url: String,
    pub timeout: Duration,
}

impl SmtpConfig {
    pub fn new(host: &str, port: u16, from: &str, base_url: &str) -> Self {
        SmtpConfig {
            host: host.to_string(),
            port,
            from: from.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What `send_digests` did for one filter: the number of rows sent (0 when there was
/// nothing to send or the filter already had today's digest), or why it failed.
#[derive(Debug)]
pub struct DigestOutcome {
    pub filter_id: i64,
    pub result: Result<usize, DeliveryError>,
}

/// Creates the queue and the log of sent digests if they are missing.
pub fn ensure_schema(db: &mut Db) -> Result<(), DeliveryError> {
    Ok(delivery::ensure_email(db)?)
}

/// The queue of rows awaiting their digest, and the sender. As a [`Sink`] it queues.
pub struct EmailQueue {
    db: Db,
    smtp: SmtpConfig,
    clock: fn() -> SystemTime,
}

impl EmailQueue {
    pub fn new(mut db: Db, smtp: SmtpConfig) -> Result<Self, DeliveryError> {
        ensure_schema(&mut db)?;
        Ok(EmailQueue {
            db,
            smtp,
            clock: SystemTime::now,
        })
    }

    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    /// Rows queued for a filter.
    pub fn queued(&mut self, filter_id: i64) -> Result<usize, DeliveryError> {
        Ok(delivery::queued(&mut self.db, filter_id)?)
    }

    /// Sends one digest per filter in `targets` that has queued rows and has not had its
    /// digest today (UTC day of `now`). A filter's failure (bad address, SMTP refusal) is
    /// reported in its outcome and leaves its rows queued; the other filters still go.
    pub fn send_digests(
        &mut self,
        targets: &[FilterTarget],
        now: SystemTime,
    ) -> Vec<DigestOutcome> {
        let day = utc_day(now);
        targets
            .iter()
            .filter(|t| t.mode == crate::OutputMode::Email)
            .map(|t| DigestOutcome {
                filter_id: t.filter_id,
                result: self.send_one(t, &day, now),
            })
            .collect()
    }

    fn send_one(
        &mut self,
        target: &FilterTarget,
        day: &str,
        now: SystemTime,
    ) -> Result<usize, DeliveryError> {
        if delivery::digest_sent(&mut self.db, target.filter_id, day)? {
            return Ok(0);
        }
        let rows = delivery::queued_records(&mut self.db, target.filter_id)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut map: Map<String, Value> = serde_json::from_str(&row.json)?;
            map.entry("UTC")
                .or_insert_with(|| Value::String(row.utc.clone()));
            records.push(Record(map));
        }
        let message = self.compose(target, day, &records)?;
        let transport = SmtpTransport::builder_dangerous(&self.smtp.host)
            .port(self.smtp.port)
            .timeout(Some(self.smtp.timeout))
            .build();
        transport.send(&message).map_err(|e| {
            DeliveryError::target(
                target,
                format!("SMTP {}:{}: {e}", self.smtp.host, self.smtp.port),
            )
        })?;
        let last = rows.last().map_or(0, |r| r.seq);
        let sent = rows.len();
        delivery::digest_done(
            &mut self.db,
            target.filter_id,
            day,
            last,
            sent,
            &utc_string(now),
        )?;
        Ok(sent)
    }

    fn compose(
        &self,
        target: &FilterTarget,
        day: &str,
        records: &[Record],
    ) -> Result<Message, DeliveryError> {
        let to = recipient(target)?;
        let from: Mailbox = self.smtp.from.parse().map_err(|e| {
            DeliveryError::Config(format!("bad From address {:?}: {e}", self.smtp.from))
        })?;
        // Columns in the order of the first row; the attached alert is too big for a table.
        let mut columns: Vec<String> = Vec::new();
        for r in records {
            for k in r.0.keys() {
                if k != "alert" && !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
        let subject = format!(
            "Solas filter {}: {} row(s) on {day}",
            target.name,
            records.len()
        );
        let mut text = format!("{subject}\n\n{}\n", columns.join("\t"));
        let mut html = format!(
            "<html><body><h2>{}</h2><table border=\"1\"><tr>",
            escape(&subject)
        );
        for c in &columns {
            html.push_str(&format!("<th>{}</th>", escape(c)));
        }
        html.push_str("</tr>\n");
        for r in records {
            let id = r.object_id();
            html.push_str("<tr>");
            let mut cells = Vec::with_capacity(columns.len());
            for c in &columns {
                let cell = match r.0.get(c) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                };
                let is_id =
                    c.eq_ignore_ascii_case("diaObjectId") || c.eq_ignore_ascii_case("objectId");
                match (&id, is_id) {
                    (Some(id), true) => html.push_str(&format!(
                        "<td><a href=\"{}/objects/{}\">{}</a></td>",
                        escape(&self.smtp.base_url),
                        escape(id),
                        escape(&cell)
                    )),
                    _ => html.push_str(&format!("<td>{}</td>", escape(&cell))),
                }
                cells.push(cell);
            }
            html.push_str("</tr>\n");
            text.push_str(&cells.join("\t"));
            if let Some(id) = &id {
                text.push_str(&format!("\t{}/objects/{id}", self.smtp.base_url));
            }
            text.push('\n');
        }
        html.push_str("</table></body></html>\n");
        Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| DeliveryError::target(target, format!("cannot build email: {e}")))
    }
}

fn recipient(target: &FilterTarget) -> Result<Mailbox, DeliveryError> {
    let addr = target
        .email
        .as_deref()
        .ok_or_else(|| DeliveryError::target(target, "email mode without an email address"))?;
    addr.parse()
        .map_err(|e| DeliveryError::target(target, format!("invalid email address {addr:?}: {e}")))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Sink for EmailQueue {
    /// Queues the rows for the next digest. The address is checked now so a bad one is
    /// reported while the filter runs, not a day later.
    fn deliver(
        &mut self,
        target: &FilterTarget,
        records: &[Record],
    ) -> Result<DeliveryReport, DeliveryError> {
        recipient(target)?;
        let utc = utc_string((self.clock)());
        let mut jsons = Vec::with_capacity(records.len());
        for r in records {
            jsons.push(serde_json::to_string(&r.0)?);
        }
        let bytes = jsons.iter().map(|j| j.len() as u64).sum();
        delivery::enqueue(&mut self.db, target.filter_id, &utc, &jsons)?;
        Ok(DeliveryReport {
            delivered: records.len() as u64,
            bytes,
            rejected_quota: 0,
        })
    }
}
