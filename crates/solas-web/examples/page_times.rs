//! How long the server takes to answer the site's main pages with many stored objects,
//! and how many bytes an object page weighs with its scripts and stylesheet.
//!
//! The shared real alerts are ingested into a temporary data directory, then `--objects`
//! more Rubin objects rows are added in one statement (positions spread over the sky,
//! detections over 1,000 days), so every page is timed beside that many objects. Each
//! page is requested `--repeat` times through the router in-process (no network):
//! server time only.
//!
//!     cargo run --release -p solas-web --example page_times -- --objects 1000000

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ingest(data: &Path) {
    let files: Vec<String> = solas_testdata::real_alert_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut config =
        solas_pipeline::runner::RunConfig::new(data, solas_pipeline::runner::Input::Files(files));
    config.schema_dir = Some(solas_testdata::lsst_schema_dir());
    config.progress = false;
    let summary = solas_pipeline::run(config, Arc::new(AtomicBool::new(false))).expect("ingest");
    eprintln!("ingested {} real alerts", summary.alerts);
}

/// `n` synthetic Rubin objects rows beside the real ones.
fn add_objects(data: &Path, n: usize) {
    let started = Instant::now();
    let conn = rusqlite::Connection::open(data.join("solas.db")).expect("main database");
    conn.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?1)
         INSERT INTO objects (\"diaObjectId\", ra, decl, \"firstDiaSourceMjdTai\",
                              \"lastDiaSourceMjdTai\", \"nDiaSources\", latest_psfFlux, timestamp)
         SELECT 4000000000000000000 + i, (i * 0.0137) % 360.0, (i % 1779) * 0.1 - 88.9,
                60000.0 + (i % 1000), 60000.0 + (i % 1000), 1 + i % 7, 1000.0 + i % 5000,
                '2026-01-01 00:00:00'
         FROM c",
        [n as i64],
    )
    .expect("synthetic objects");
    eprintln!(
        "added {n} objects rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

struct Timed {
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

async fn time(app: &axum::Router, path: &str, repeat: usize) -> Timed {
    let mut times = Vec::with_capacity(repeat);
    let mut bytes = 0;
    for _ in 0..repeat {
        let started = Instant::now();
        let resp = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        times.push(started.elapsed());
        bytes = body.len();
    }
    times.sort();
    Timed {
        p50: times[times.len() / 2],
        p99: times[(times.len() * 99 / 100).min(times.len() - 1)],
        bytes,
    }
}

fn main() {
    let objects = arg("--objects", 1_000_000);
    let repeat = arg("--repeat", 200);
    let tmp = tempfile::tempdir().expect("temp dir");
    ingest(tmp.path());
    add_objects(tmp.path(), objects);
    let state = solas_web::AppState::open(solas_web::ServeConfig::new(
        tmp.path(),
        "127.0.0.1:0".parse().expect("addr"),
    ))
    .expect("server state");
    let app = solas_web::router(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "{:<44} {:>9} {:>9} {:>9}",
            "page (server time, in-process)", "p50 ms", "p99 ms", "bytes"
        );
        let pages = [
            "/objects/169298432598474793",
            "/objects/ZTF21abiuvdk",
            "/",
            "/objects?survey=lsst",
            "/search?q=00%3A03%3A15.4+%2B16%3A08%3A44&radius=60",
            "/status",
        ];
        for page in pages {
            let t = time(&app, page, repeat).await;
            println!(
                "{page:<44} {:>9.2} {:>9.2} {:>9}",
                t.p50.as_secs_f64() * 1e3,
                t.p99.as_secs_f64() * 1e3,
                t.bytes
            );
        }
        // An object page's weight: its HTML and everything it loads from the site: the
        // stylesheet, the scripts and the three stamps it shows first.
        let resp = app
            .clone()
            .oneshot(Request::get("/objects/ZTF21abiuvdk").body(Body::empty()).expect("request"))
            .await
            .expect("answer");
        let page = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let page = String::from_utf8_lossy(&page).into_owned();
        let mut assets = 0;
        for a in ["/static/solas.css", "/static/lightcurve.js", "/static/stamps.js", "/static/table_sort.js"] {
            assets += time(&app, a, 1).await.bytes;
        }
        let mut stamps = 0;
        for src in page.split("src=\"/cutouts/").skip(1).filter_map(|s| s.split('"').next()) {
            stamps += time(&app, &format!("/cutouts/{}", src.replace("&amp;", "&")), 1).await.bytes;
        }
        println!(
            "object page weight (ZTF21abiuvdk, uncompressed): HTML {} B + CSS and scripts {assets} B + stamps {stamps} B = {} B",
            page.len(),
            page.len() + assets + stamps
        );
    });
}
