//! The webhook sink against a small HTTP/1.1 server on loopback that fails its first N
//! requests (503, or 400) and then answers 200, recording what it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use solas_delivery::{
    DeliveryError, FilterTarget, OutputMode, Record, Router, Sink, WebhookConfig, WebhookSink,
};

struct Server {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    hits: Arc<Mutex<u32>>,
}

/// Answers `fail_status` to the first `failures` requests, then 200.
fn server(failures: u32, fail_status: u16) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let hits = Arc::new(Mutex::new(0));
    let (b, h) = (bodies.clone(), hits.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            assert!(request_line.starts_with("POST /hook "), "{request_line}");
            let mut length = 0;
            let mut content_type = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let n = {
                let mut h = h.lock().unwrap();
                *h += 1;
                *h
            };
            let status = if n <= failures { fail_status } else { 200 };
            if status == 200 {
                assert_eq!(content_type, "application/json");
                b.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
            }
            let reply =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    Server { url, bodies, hits }
}

fn target(url: &str) -> FilterTarget {
    let mut t = FilterTarget::new(11, 5, "hooked", OutputMode::Webhook);
    t.webhook_url = Some(url.to_string());
    t
}

fn rows() -> Vec<Record> {
    [169298432598474793_i64, 7]
        .iter()
        .map(|id| {
            Record(
                json!({"diaObjectId": id, "g_r": 0.25})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
        })
        .collect()
}

fn quick(attempts: u32) -> WebhookConfig {
    WebhookConfig {
        attempts,
        base_delay: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn retries_5xx_with_backoff_then_delivers() {
    let s = server(2, 503);
    let mut sink = WebhookSink::new(quick(4));
    let start = Instant::now();
    let report = sink.deliver(&target(&s.url), &rows()).unwrap();
    // Two waits: 50 ms then 100 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(*s.hits.lock().unwrap(), 3);
    assert_eq!(report.delivered, 2);
    let bodies = s.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(report.bytes as usize, body.to_string().len());
    assert_eq!(body["filter"], "hooked");
    assert_eq!(body["topic"], "solas_5_hooked");
    let recs = body["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["diaObjectId"].as_i64(), Some(169298432598474793));
    assert!(recs[0]["diaObjectId"].is_i64());
    assert_eq!(recs[0]["UTC"].as_str().unwrap().len(), 19);
}

#[test]
fn gives_up_after_the_configured_attempts() {
    let s = server(10, 500);
    let mut sink = WebhookSink::new(quick(3));
    let err = sink.deliver(&target(&s.url), &rows()).unwrap_err();
    assert!(
        matches!(err, DeliveryError::Webhook { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert_eq!(*s.hits.lock().unwrap(), 3);
}

#[test]
fn does_not_retry_4xx() {
    let s = server(1, 400);
    let mut sink = WebhookSink::new(quick(5));
    let err = sink.deliver(&target(&s.url), &rows()).unwrap_err();
    assert!(
        matches!(err, DeliveryError::Webhook { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(*s.hits.lock().unwrap(), 1);
}

#[test]
fn connection_refused_is_retried_then_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sink = WebhookSink::new(quick(2));
    let err = sink
        .deliver(&target(&format!("http://127.0.0.1:{port}/x")), &rows())
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::Webhook { attempts: 2, .. }),
        "{err:?}"
    );
}

#[test]
fn bad_urls_fail_only_their_filter() {
    let s = server(0, 200);
    let mut router = Router {
        webhook: Some(WebhookSink::new(quick(3))),
        ..Router::default()
    };
    let mut bad = vec![
        target("not a url"),
        target("ftp://x/y"),
        target("http://[::1"),
    ];
    let mut missing = target("");
    missing.webhook_url = None;
    bad.push(missing);
    for t in &bad {
        let err = router.deliver(t, &rows()).unwrap_err();
        assert!(err.to_string().contains("11"), "{err}");
    }
    // A Kafka filter with no Kafka sink configured is its own error.
    let kafka = FilterTarget::new(12, 5, "k", OutputMode::Kafka);
    assert!(router.deliver(&kafka, &rows()).is_err());
    // `none` delivers nothing and is not an error.
    let none = FilterTarget::new(13, 5, "n", OutputMode::None);
    assert_eq!(router.deliver(&none, &rows()).unwrap().delivered, 0);
    // The good filter still goes through the same router.
    assert_eq!(
        router.deliver(&target(&s.url), &rows()).unwrap().delivered,
        2
    );
}
