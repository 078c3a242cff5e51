//! The status page: what each stage did tonight, hour by hour (`stage_hours`, summed over
//! workers), each worker's last report, rows per table of the main and lightcurve
//! databases, alerts set aside as undecodable per reason (`<data>/rejected/<reason>/`),
//! and when the pipeline last wrote (the newest modification time of the main database and
//! its WAL, which every committed batch touches).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::IntoResponse;

use super::home::thousands;
use maud::{html, Markup};

use super::layout::{page, PageResult};
use super::session::Viewer;
use crate::api::object::mjd_to_utc;
use crate::db::blocking;
use crate::AppState;
use solas_store::db::Db;
use solas_store::main_db::worker_status;

const MAIN_TABLES: [&str; 17] = [
    "objects",
    "ztf_objects",
    "sherlock_classifications",
    "ztf_sherlock_classifications",
    "annotations",
    "ztf_annotations",
    "annotators",
    "filters",
    "watchlists",
    "watchlist_cones",
    "watchlist_hits",
    "ztf_watchlist_hits",
    "watchmaps",
    "area_hits",
    "ztf_area_hits",
    "mma_areas",
    "crossmatch_tns",
];
const LIGHTCURVE_TABLES: [&str; 3] = ["detections", "forced_photometry", "non_detections"];

/// Files per reason directory under `rejected/` (each alert leaves its bytes and a note;
/// the alerts are counted by their note files when those exist).
fn rejected(dir: &Path) -> Vec<(String, usize)> {
    let Ok(reasons) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, usize)> = reasons
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let files: Vec<String> = std::fs::read_dir(e.path())
                .map(|it| {
                    it.filter_map(Result::ok)
                        .map(|f| f.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let notes = files
                .iter()
                .filter(|f| f.ends_with(".txt") || f.ends_with(".json"))
                .count();
            let n = if notes > 0 { notes } else { files.len() };
            (e.file_name().to_string_lossy().into_owned(), n)
        })
        .collect();
    out.sort();
    out
}

fn last_write(data: &Path) -> Option<SystemTime> {
    ["solas.db", "solas.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(data.join(f)).ok()?.modified().ok())
        .max()
}

/// One worker's last report (`worker_status`, written by every pipeline run).
pub(crate) struct Worker {
    pub name: String,
    pub role: String,
    pub updated: String,
    pub running: bool,
    pub summary: serde_json::Value,
    pub metrics: String,
}

/// The workers that reported on this data directory, newest first.
pub(crate) fn workers(main: &mut Db) -> Result<Vec<Worker>, crate::error::ApiError> {
    let rows = worker_status::workers(main)?;
    Ok(rows
        .into_iter()
        .map(|r| Worker {
            name: r.worker,
            role: r.role,
            updated: r.updated,
            running: r.running,
            summary: serde_json::from_str(&r.summary).unwrap_or_default(),
            metrics: r.metrics,
        })
        .collect())
}

/// Every worker's samples with a `worker` label added, in OpenMetrics text: each family
/// once (its HELP/TYPE/UNIT, then every worker's samples of it, as the format wants a
/// family's lines together), and one `# EOF` at the end.
pub(crate) fn labelled_metrics(workers: &[Worker]) -> String {
    // Families in the order first seen: (name, header lines, sample lines).
    let mut families: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for w in workers {
        // A report of a release before OpenMetrics (no `# EOF`) has other family names and
        // types: merged in, it would make the whole text invalid.
        if !w.metrics.trim_end().ends_with("# EOF") {
            continue;
        }
        let label = format!("worker=\"{}\"", w.name.replace(['\\', '"'], ""));
        let mut current: Option<usize> = None;
        for line in w.metrics.lines() {
            if line == "# EOF" {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                // `# HELP name …`, `# TYPE name …`, `# UNIT name …`.
                let Some(name) = rest.split_whitespace().nth(1) else {
                    continue;
                };
                let at = match families.iter().position(|(n, _, _)| n == name) {
                    Some(at) => at,
                    None => {
                        families.push((name.to_string(), Vec::new(), Vec::new()));
                        families.len() - 1
                    }
                };
                if !families[at].1.iter().any(|h| h == line) {
                    families[at].1.push(line.to_string());
                }
                current = Some(at);
                continue;
            }
            let (Some(at), Some((series, value))) = (current, line.rsplit_once(' ')) else {
                continue;
            };
            let series = match series.strip_suffix('}') {
                Some(open) => format!("{open},{label}}}"),
                None => format!("{series}{{{label}}}"),
            };
            families[at].2.push(format!("{series} {value}"));
        }
    }
    let mut out = String::new();
    for (_, headers, samples) in families {
        for line in headers.iter().chain(&samples) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Hours of `stage_hours` the "tonight" table covers (a night at Rubin or ZTF is shorter).
const NIGHT_HOURS: i64 = 12;

/// One UTC hour's counts, summed over every worker: each stage counts only its own work,
/// so the columns are per stage.
struct Hour {
    hour: String,
    counts: [i64; 8],
}

fn tonight(main: &mut Db) -> Result<Vec<Hour>, crate::error::ApiError> {
    Ok(worker_status::hours(main, NIGHT_HOURS as u32)?
        .into_iter()
        .map(|(hour, counts)| Hour { hour, counts })
        .collect())
}

fn tonight_table(hours: &[Hour]) -> Markup {
    let mut total = [0i64; 8];
    for h in hours {
        for (t, c) in total.iter_mut().zip(h.counts) {
            *t += c;
        }
    }
    let row = |label: &str, c: &[i64; 8], class: Option<&str>| {
        let mean = if c[6] > 0 {
            format!("{:.1}", c[7] as f64 / c[6] as f64 / 1e6)
        } else {
            "–".into()
        };
        html! {
            tr class=[class] {
                td { (label) }
                @for n in &c[..7] { td.num { (thousands(*n)) } }
                td.num { (mean) }
            }
        }
    };
    html! {
        h2 { "Tonight: the last " (NIGHT_HOURS) " hours, per stage" }
        @if hours.is_empty() {
            p.note { "No alerts in the last hours." }
        } @else {
            table.rows #tonight {
                tr {
                    th { "hour (UTC)" } th { "ingested" } th { "stored" } th { "classified" }
                    th { "filtered" } th { "delivered" } th { "rejected" }
                    th { "filter batches" } th { "mean batch (ms)" }
                }
                @for h in hours { (row(&h.hour, &h.counts, None)) }
                (row("total", &total, Some("total")))
            }
        }
    }
}

struct Status {
    tonight: Vec<Hour>,
    tables: Vec<(String, Option<i64>)>,
    workers: Vec<Worker>,
    rejected: Vec<(String, usize)>,
    last_write: Option<SystemTime>,
}

fn gather(state: &AppState) -> Result<Status, crate::error::ApiError> {
    let data = &state.shared.config.data_dir;
    let mut main = state.shared.main.take()?;
    let mut lc = Db::open(&state.shared.config.lightcurve_target())?;
    let pg = |db: &Db| db.dialect() == solas_store::tables::Dialect::Postgres;
    let (main_label, lc_label) = (
        if pg(&main) {
            "main (PostgreSQL)"
        } else {
            "solas.db"
        },
        if pg(&lc) {
            "lightcurves (PostgreSQL)"
        } else {
            "lightcurves.db"
        },
    );
    let mut tables = Vec::new();
    for t in MAIN_TABLES {
        tables.push((format!("{main_label}: {t}"), main.count_rows(t)?));
    }
    for t in LIGHTCURVE_TABLES {
        tables.push((format!("{lc_label}: {t}"), lc.count_rows(t)?));
    }
    Ok(Status {
        tonight: tonight(&mut main)?,
        tables,
        workers: workers(&mut main)?,
        rejected: rejected(&data.join("rejected")),
        last_write: last_write(data),
    })
}

/// One worker's row of the workers table: its last summary's counts.
fn worker_row(w: &Worker) -> Markup {
    let n = |k: &str| {
        w.summary
            .get(k)
            .and_then(|v| v.as_i64())
            .map_or("–".to_string(), thousands)
    };
    let p99 = w
        .summary
        .get("latency_p99_ms")
        .and_then(|v| v.as_f64())
        .map_or("–".to_string(), |ms| format!("{:.2}", ms / 1e3));
    html! {
        tr {
            td { (w.name) }
            td { (w.role) }
            td { (if w.running { "running" } else { "stopped" }) }
            td { (w.updated) }
            @for k in ["alerts", "stored", "classified", "filtered", "published", "rejected",
                       "batches", "kafka_lag"] {
                td.num { (n(k)) }
            }
            td.num { (p99) }
        }
    }
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let status = blocking(move || gather(&st)).await??;
    let when = status
        .last_write
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| {
            let mjd = d.as_secs_f64() / 86400.0 + 40587.0;
            let ago = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|n| n.as_secs_f64() - d.as_secs_f64())
                .unwrap_or(0.0);
            format!("{} UTC ({:.0} s ago)", mjd_to_utc(mjd), ago.max(0.0))
        })
        .unwrap_or_else(|| "never".into());
    let body = html! {
        p { "Latest batch written: " strong #last-batch { (when) } }
        (tonight_table(&status.tonight))
        h2 { "Pipeline workers" }
        @if status.workers.is_empty() {
            p.note { "No pipeline has reported here yet." }
        } @else {
            table.rows #workers {
                tr {
                    th { "worker" } th { "role" } th { "state" } th { "last report (UTC)" }
                    th { "alerts" } th { "stored" } th { "classified" } th { "filtered" }
                    th { "published" } th { "rejected" } th { "batches" } th { "Kafka lag" }
                    th { "p99 latency (s)" }
                }
                @for w in &status.workers { (worker_row(w)) }
            }
        }
        h2 { "Rows per table" }
        table.rows #table-counts {
            tr { th { "table" } th { "rows" } }
            @for (t, n) in &status.tables {
                tr { td { (t) } td.num { (n.map_or("–".to_string(), thousands)) } }
            }
        }
        h2 { "Rejected alerts" }
        @if status.rejected.is_empty() {
            p.note { "None." }
        } @else {
            table.rows #rejected {
                tr { th { "reason" } th { "alerts" } }
                @for (reason, n) in &status.rejected {
                    tr { td { (reason) } td.num { (n) } }
                }
            }
        }
        @if state.shared.config.metrics.is_some() || !status.workers.is_empty() {
            p.note { "Pipeline counters: " a href="/metrics" { "/metrics" } "." }
        }
    };
    Ok(page("Status", viewer.0.as_ref(), body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_gets_its_worker_label_and_headers_appear_once() {
        let w = |name: &str| {
            Worker {
            name: name.into(),
            role: "ingest".into(),
            updated: String::new(),
            running: true,
            summary: serde_json::Value::Null,
            metrics: "# HELP solas_a A.\n# TYPE solas_a counter\nsolas_a_total{stage=\"x\"} 3\n# TYPE solas_b gauge\nsolas_b 1.5\n# EOF\n".into(),
        }
        };
        let mut old = w("ingest@h:0");
        old.metrics =
            "# TYPE solas_latency_seconds gauge\nsolas_latency_seconds{quantile=\"0.5\"} 1\n"
                .into();
        let text = labelled_metrics(&[old, w("ingest@h:1"), w("ingest@h:2")]);
        assert!(
            !text.contains("h:0"),
            "an old-format report is left out: {text}"
        );
        assert_eq!(text.matches("# TYPE solas_a ").count(), 1);
        // A family's samples together, whoever reported them; one EOF, at the end.
        let a = text
            .find("solas_a_total{stage=\"x\",worker=\"ingest@h:2\"}")
            .unwrap();
        assert!(a < text.find("# TYPE solas_b").unwrap(), "{text}");
        assert!(
            text.ends_with("1.5\n# EOF\n") && text.matches("# EOF").count() == 1,
            "{text}"
        );
        assert!(
            text.contains("solas_a_total{stage=\"x\",worker=\"ingest@h:1\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("solas_b{worker=\"ingest@h:2\"} 1.5\n"),
            "{text}"
        );
    }
}
