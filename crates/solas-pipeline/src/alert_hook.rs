//! The operator's alert hook: a Slack-compatible webhook (`{"text": "..."}` POSTed as JSON)
//! told when a run stops with an error (Kafka unreachable, a full disk, a database that
//! cannot be opened), so someone hears of it without watching the logs. Best effort: a
//! failing hook is logged, never raised.

use std::time::Duration;

pub fn post(url: &str, text: &str) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let body = serde_json::json!({ "text": text }).to_string();
    let result = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes());
    if let Err(e) = result {
        log::error!("alert hook {url}: {e}");
    }
}
