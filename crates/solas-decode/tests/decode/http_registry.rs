//! Wire-format alerts decode with schemas fetched from a Confluent-compatible registry over
//! HTTP (`GET /schemas/ids/{id}` → `{"schema": "..."}`), served here by a small loopback
//! server holding the shared Rubin schemas.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use solas_decode::{Decoder, DirRegistry, HttpRegistry, SchemaRegistry};
use solas_testdata as data;

/// Serves the directory's schemas by id until the test process ends; counts requests.
fn serve(registry: DirRegistry) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let id = request
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.strip_prefix("/schemas/ids/"))
                .and_then(|id| id.parse::<u32>().ok());
            let (status, body) = match id.map(|id| registry.schema_json(id)) {
                Some(Ok(schema)) => (
                    "200 OK",
                    serde_json::json!({ "schema": schema }).to_string(),
                ),
                _ => (
                    "404 Not Found",
                    r#"{"error_code":40403,"message":"Schema not found"}"#.to_string(),
                ),
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

#[test]
fn wire_format_alert_decodes_with_a_schema_from_an_http_registry() {
    let (url, hits) = serve(DirRegistry::open(&data::lsst_schema_dir()).unwrap());
    let decoder = Decoder::with_registry(Box::new(HttpRegistry::new(&url)));
    let boom =
        std::fs::read(data::shared_glob("lsst/real/boom_confluent_wire_v9.0/*.avro").remove(0))
            .unwrap();
    for _ in 0..3 {
        let alert = decoder.decode(&boom).unwrap().records.remove(0).1.unwrap();
        assert_eq!(alert.alert_id, 7912941781254298);
        assert_eq!(alert.schema_version, "9.0");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the schema is fetched once, then cached"
    );

    // An id the registry does not have is an unknown schema, not a crash.
    let err = decoder
        .decode(&solas_decode::wire::frame(4242, &[0, 1, 2]))
        .unwrap_err();
    assert_eq!(err.reason(), "unknown_schema");
    // A registry that is not there is a registry error.
    let dead = Decoder::with_registry(Box::new(HttpRegistry::new("http://127.0.0.1:9")));
    assert_eq!(dead.decode(&boom).unwrap_err().reason(), "registry_error");
}
