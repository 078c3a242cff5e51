//! The status page, from the pipeline's own reports (`worker_status`, `stage_hours`):
//! the newest alert per survey and its lag, when a batch was last committed (and by whom),
//! what each stage did tonight hour by hour and on past nights (each column counted by the
//! roles that own it, so a scale-out fleet does not count an alert once per stage), each
//! worker's last report (those stopped over a day ago aged out), alerts set aside per
//! reason (as the workers reported them, and as kept in this data directory), and rows
//! per table.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::IntoResponse;

use super::home::{rows, thousands};
use maud::{html, Markup};

use super::layout::{page, PageResult};
use super::session::Viewer;
use crate::api::object::mjd_to_utc;
use crate::db::blocking;
use crate::AppState;
use solas_store::db::Db;
use solas_store::main_db::worker_status::{self, StageCounts};

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

/// One worker's last report (`worker_status`, written by every pipeline run).
pub(crate) struct Worker {
    pub name: String,
    pub role: String,
    pub updated: String,
    pub running: bool,
    pub summary: serde_json::Value,
    pub metrics: String,
}

impl From<worker_status::WorkerRow> for Worker {
    fn from(r: worker_status::WorkerRow) -> Worker {
        Worker {
            name: r.worker,
            role: r.role,
            updated: r.updated,
            running: r.running,
            summary: serde_json::from_str(&r.summary).unwrap_or_default(),
            metrics: r.metrics,
        }
    }
}

/// The workers that reported on this data directory, newest first.
pub(crate) fn workers(main: &mut Db) -> Result<Vec<Worker>, crate::error::ApiError> {
    let rows = worker_status::workers(main)?;
    Ok(rows.into_iter().map(Worker::from).collect())
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

/// Past nights the nights table covers.
const NIGHTS: u32 = 14;

/// Stopped workers older than this (seconds) are counted, not listed.
const WORKER_AGE_OUT: u32 = 24 * 3600;

/// One hour's or night's counts, each column from the roles that own it.
struct Period {
    label: String,
    counts: StageCounts,
}

fn periods(rows: Vec<(String, StageCounts)>) -> Vec<Period> {
    rows.into_iter()
        .map(|(label, counts)| Period { label, counts })
        .collect()
}

/// A table of periods with a total row: `id` names it for tests, `first` heads the
/// period column.
fn counts_table(id: &str, first: &str, rows: &[Period]) -> Markup {
    let mut total = StageCounts::default();
    for h in rows {
        for (t, c) in total.iter_mut().zip(h.counts) {
            *t += c;
        }
    }
    // STAGE_COUNTS: alerts, stored, classified, filtered, delivered, rejected, batches,
    // batch_ns, failed_deliveries.
    let row = |label: &str, c: &StageCounts, class: Option<&str>| {
        let mean = if c[6] > 0 {
            format!("{:.1}", c[7] as f64 / c[6] as f64 / 1e6)
        } else {
            "–".into()
        };
        html! {
            tr class=[class] {
                td { (label) }
                @for i in [0, 1, 2, 3, 4, 8, 5, 6] { td.num { (thousands(c[i])) } }
                td.num { (mean) }
            }
        }
    };
    html! {
        table.rows id=(id) {
            thead {
                tr {
                    th { (first) } th { "ingested" } th { "stored" } th { "classified" }
                    th { "filtered" } th { "delivered" } th { "failed deliveries" }
                    th { "rejected" } th { "filter batches" } th { "mean batch (ms)" }
                }
            }
            tbody {
                @for h in rows { (row(&h.label, &h.counts, None)) }
                (row("total", &total, Some("total")))
            }
        }
    }
}

struct Status {
    tonight: Vec<Period>,
    nights: Vec<Period>,
    tables: Vec<(String, Option<i64>)>,
    workers: Vec<Worker>,
    /// Stopped workers not listed (stopped over [`WORKER_AGE_OUT`] ago).
    older_workers: i64,
    /// Rejected alerts kept in this data directory, per reason.
    rejected_here: Vec<(String, usize)>,
    /// The completeness ledger's newest nights.
    ledger: Vec<solas_store::main_db::ledger::Night>,
}

fn gather(state: &AppState) -> Result<Status, crate::error::ApiError> {
    let data = &state.shared.config.data_dir;
    // Before the main connection is taken here: it takes one of its own.
    let ledger =
        crate::api::ledger::recent(&state.shared, None, None, crate::api::ledger::RECENT_NIGHTS)?;
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
    let (main_kept, lc_kept) = (
        solas_store::row_counts::row_counts(&mut main)?,
        solas_store::row_counts::row_counts(&mut lc)?,
    );
    let mut tables = Vec::new();
    for t in MAIN_TABLES {
        tables.push((
            format!("{main_label}: {t}"),
            rows(&mut main, &main_kept, t)?,
        ));
    }
    for t in LIGHTCURVE_TABLES {
        tables.push((format!("{lc_label}: {t}"), rows(&mut lc, &lc_kept, t)?));
    }
    let (recent, older_workers) = worker_status::recent_workers(&mut main, WORKER_AGE_OUT)?;
    Ok(Status {
        tonight: periods(worker_status::hours(&mut main, NIGHT_HOURS as u32)?),
        nights: periods(worker_status::nights(&mut main, NIGHTS)?),
        tables,
        workers: recent.into_iter().map(Worker::from).collect(),
        older_workers,
        rejected_here: rejected(&data.join("rejected")),
        ledger,
    })
}

/// Now, as Unix seconds.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A span of seconds in words: "42 s", "3.2 h", "1,204 days".
fn span(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 2.0 * 86400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{} days", thousands((s / 86400.0) as i64))
    }
}

/// The newest alert of each survey any listed worker decoded: (survey, MJD UTC).
fn newest_alerts(workers: &[Worker]) -> Vec<(&'static str, f64)> {
    [("lsst", "Rubin"), ("ztf", "ZTF")]
        .into_iter()
        .filter_map(|(key, label)| {
            workers
                .iter()
                .filter_map(|w| w.summary.get("newest_alert_mjd_utc")?.get(key)?.as_f64())
                .reduce(f64::max)
                .map(|mjd| (label, mjd))
        })
        .collect()
}

/// The last committed batch among the listed workers: (Unix seconds, worker).
fn last_batch(workers: &[Worker]) -> Option<(f64, &str)> {
    workers
        .iter()
        .filter_map(|w| {
            let ms = w.summary.get("last_batch_unix_ms")?.as_f64()?;
            Some((ms / 1e3, w.name.as_str()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Rejected alerts per reason as the listed workers reported them (each worker's run).
fn rejected_reported(workers: &[Worker]) -> Vec<(String, i64)> {
    let mut sums: std::collections::BTreeMap<String, i64> = Default::default();
    for w in workers {
        if let Some(m) = w
            .summary
            .get("rejected_by_reason")
            .and_then(|v| v.as_object())
        {
            for (reason, n) in m {
                *sums.entry(reason.clone()).or_default() += n.as_i64().unwrap_or(0);
            }
        }
    }
    sums.into_iter().filter(|(_, n)| *n > 0).collect()
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
            @for k in ["alerts", "stored", "classified", "filtered", "published", "delivered",
                       "failed_deliveries", "rejected", "batches", "kafka_lag"] {
                td.num { (n(k)) }
            }
            td.num { (p99) }
        }
    }
}

/// The completeness ledger: per night, what each stage got through and where alerts were
/// lost (`solas ledger --night N` lists the visits; `/api/ledger/` answers the same).
fn ledger_section(nights: &[solas_store::main_db::ledger::Night]) -> Markup {
    use solas_store::main_db::ledger::Step;
    let cell = |n: &solas_store::main_db::ledger::Night, s: Step| {
        n.total_of(s).map_or("–".into(), thousands)
    };
    html! {
        h2 #completeness { "Completeness: every alert of every visit" }
        @if nights.is_empty() {
            p.note { "The ledger is empty: no alert has been decoded here yet." }
        } @else {
            p.note { "Per night (the date it began at the site), the alerts each stage got through; "
                "a visit is short when a stage that ran has fewer than were decoded, or when later "
                "alerts' histories show sources of it whose own alerts never came. – : no worker ran the stage." }
            table.rows #ledger {
                thead { tr {
                    th { "night" } th { "survey" } th { "visits" } th { "decoded" } th { "stored" }
                    th { "classified" } th { "filtered" } th { "delivered" } th { "short visits" }
                    th { "alerts never received" } th { "sky (deg²)" }
                } }
                tbody {
                    @for n in nights {
                        @let short = n.short_visits();
                        @let missing = n.missing_count();
                        tr.short[!short.is_empty() || missing > 0] {
                            td { a href={ "/ledger/" (n.survey.as_str()) "/" (n.night) } { (super::ledger::night_text(n.night)) } }
                            td { (n.survey.as_str()) } td.num { (n.visits.len()) }
                            td.num { (cell(n, Step::Decoded)) } td.num { (cell(n, Step::Stored)) }
                            td.num { (cell(n, Step::Classified)) } td.num { (cell(n, Step::Filtered)) }
                            td.num { (cell(n, Step::Delivered)) }
                            td.num {
                                @if short.is_empty() { "0" } @else {
                                    span title={ "visits " (short.iter().take(20).map(|v| v.key.visit.to_string()).collect::<Vec<_>>().join(", ")) } { (short.len()) }
                                }
                            }
                            td.num { (missing) }
                            td.num { (n.sky_deg2.map_or("–".into(), |a| format!("{a:.1}"))) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let status = blocking(move || gather(&st)).await??;
    let now = unix_now();
    let newest = newest_alerts(&status.workers);
    let reported = rejected_reported(&status.workers);
    let body = html! {
        table.fields #now {
            @for (survey, mjd) in &newest {
                tr {
                    th { "Newest " (survey) " alert" }
                    td { (mjd_to_utc(*mjd)) " UTC " span.note { "(" (span(now - (mjd - 40587.0) * 86400.0)) " ago)" } }
                }
            }
            tr {
                th { "Latest batch committed" }
                td #last-batch {
                    @match last_batch(&status.workers) {
                        Some((t, who)) => {
                            (mjd_to_utc(t / 86400.0 + 40587.0)) " UTC "
                            span.note { "(" (span(now - t)) " ago, by " (who) ")" }
                        }
                        None => "never",
                    }
                }
            }
        }
        h2 { "Tonight: the last " (NIGHT_HOURS) " hours, per stage" }
        @if status.tonight.is_empty() {
            p.note { "No alerts in the last hours." }
        } @else {
            (counts_table("tonight", "hour (UTC)", &status.tonight))
        }
        h2 { "The last " (NIGHTS) " nights" }
        p.note { "A night is Rubin's dayObs: the date in UTC−12 h." }
        @if status.nights.is_empty() {
            p.note { "No alerts in the last " (NIGHTS) " nights." }
        } @else {
            (counts_table("nights", "night", &status.nights))
        }
        (ledger_section(&status.ledger))
        h2 { "Pipeline workers" }
        @if status.workers.is_empty() {
            p.note { "No pipeline has reported here in the last day." }
        } @else {
            table.rows #workers {
                thead {
                    tr {
                        th { "worker" } th { "role" } th { "state" } th { "last report (UTC)" }
                        th { "alerts" } th { "stored" } th { "classified" } th { "filtered" }
                        th { "published" } th { "delivered" } th { "failed deliveries" }
                        th { "rejected" } th { "batches" } th { "Kafka lag" }
                        th { "p99 latency (s)" }
                    }
                }
                tbody { @for w in &status.workers { (worker_row(w)) } }
            }
        }
        @if status.older_workers > 0 {
            p.note #older-workers {
                (thousands(status.older_workers)) " worker(s) that stopped over a day ago are not listed."
            }
        }
        h2 { "Rejected alerts" }
        @if reported.is_empty() && status.rejected_here.is_empty() {
            p.note { "None." }
        }
        @if !reported.is_empty() {
            p { "As the workers above reported them (each since it started; kept in its data directory's "
                code { "rejected/" } " folder, and on the dead-letter topic where one is configured):" }
            table.rows #rejected-reported {
                thead { tr { th { "reason" } th { "alerts" } } }
                tbody {
                    @for (reason, n) in &reported {
                        tr { td { (reason) } td.num { (thousands(*n)) } }
                    }
                }
            }
        }
        @if !status.rejected_here.is_empty() {
            p { "Kept in this data directory (" code { "rejected/" } "):" }
            table.rows #rejected {
                thead { tr { th { "reason" } th { "alerts" } } }
                tbody {
                    @for (reason, n) in &status.rejected_here {
                        tr { td { (reason) } td.num { (n) } }
                    }
                }
            }
        }
        h2 { "Rows per table" }
        table.rows #table-counts {
            thead { tr { th { "table" } th { "rows" } } }
            tbody {
                @for (t, n) in &status.tables {
                    tr { td { (t) } td.num { (n.map_or("–".to_string(), thousands)) } }
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
