//! Filters: the list (the viewer's own and everyone's public ones), the builder (SELECT,
//! tables, WHERE; survey; the watchlists, watchmaps and annotators the viewer may use),
//! a test run against the stored objects, saving, activating, and the Kafka topic a
//! filter writes to with a consumer snippet.
//!
//! Filters are checked by `solas-query` exactly as `/api/query/` checks them, with the
//! viewer's user id, so a filter naming another user's private watchlist is refused here
//! too.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::response::IntoResponse;
use serde_json::{Map, Value};
use solas_core::Survey;
use solas_query::FilterSpec;
use solas_store::main_db::filters::{FilterStore, StoredFilter, ACTIVE_MODES};

use super::layout::{
    csrf_field, esc, json_table, page, see_other, PageError, PageResult, FILTER_FORM, SMALL_FORM,
};
use super::login::login_required;
use super::session::{posted, Login, Viewer};
use crate::db::blocking;
use crate::AppState;
use solas_delivery::OutputMode;
use solas_store::main_db::filter_resources::DbResources;

/// A test run's column names and rows, or the message saying why it could not run.
type TestOutcome = Result<(Vec<String>, Vec<Map<String, Value>>), String>;

/// Rows a test run shows.
const TEST_ROWS: i64 = 50;
/// The outputs the web form offers: those that need no address (email and webhook
/// filters are made with `solas filter add`).
const OUTPUTS: [&str; 4] = [
    OutputMode::Kafka.as_str(),
    OutputMode::KafkaLite.as_str(),
    OutputMode::KafkaFull.as_str(),
    OutputMode::None.as_str(),
];

/// What the builder form holds.
#[derive(Default, Clone)]
struct Draft {
    name: String,
    description: String,
    selected: String,
    tables: String,
    conditions: String,
    survey: String,
    public: bool,
    activate: bool,
    output: String,
}

impl Draft {
    fn from_form(f: &HashMap<String, String>) -> Draft {
        let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        Draft {
            name: get("name"),
            description: get("description"),
            selected: get("selected"),
            tables: get("tables"),
            conditions: get("conditions"),
            survey: if get("survey") == "ztf" {
                "ztf".into()
            } else {
                "lsst".into()
            },
            public: f.contains_key("public"),
            activate: f.contains_key("activate"),
            output: {
                let o = get("output");
                if OUTPUTS.contains(&o.as_str()) {
                    o
                } else {
                    "kafka".into()
                }
            },
        }
    }

    fn example() -> Draft {
        Draft {
            selected: "objects.diaObjectId, objects.ra, objects.decl, objects.nDiaSources".into(),
            tables: "objects".into(),
            conditions: "objects.nDiaSources >= 2 ORDER BY objects.lastDiaSourceMjdTai DESC".into(),
            survey: "lsst".into(),
            output: "kafka".into(),
            ..Draft::default()
        }
    }

    fn spec(&self) -> FilterSpec {
        FilterSpec {
            selected: self.selected.clone(),
            tables: self.tables.clone(),
            conditions: self.conditions.clone(),
        }
    }

    fn survey(&self) -> Survey {
        if self.survey == "ztf" {
            Survey::Ztf
        } else {
            Survey::Lsst
        }
    }
}

fn query_survey(s: Survey) -> solas_query::Survey {
    match s {
        Survey::Lsst => solas_query::Survey::Lsst,
        Survey::Ztf => solas_query::Survey::Ztf,
    }
}

/// Resources a filter may name: (tables entry, label) for each visible watchlist,
/// watchmap and annotator.
fn resources(
    state: &AppState,
    viewer: i64,
) -> Result<Vec<(String, String)>, crate::error::ApiError> {
    let mut main = state.shared.main.take()?;
    let usable = solas_store::main_db::overview::usable_resources(&mut main, viewer)?;
    Ok(usable
        .into_iter()
        .map(|(kind, id, label)| (format!("{kind}:{id}"), label))
        .collect())
}

fn builder(login: &Login, d: &Draft, resources: &[(String, String)]) -> String {
    let sel = |v: &str, cur: &str| if v == cur { " selected" } else { "" };
    let mut res = String::new();
    for (entry, label) in resources {
        res.push_str(&format!(
            "<li><button type=\"button\" class=\"add-table\" data-add=\"{e}\">add</button> <code>{e}</code> {l}</li>",
            e = esc(entry),
            l = esc(label)
        ));
    }
    if res.is_empty() {
        res.push_str("<li class=\"note\">No watchlists, watchmaps or annotators yet.</li>");
    }
    let outputs: String = OUTPUTS
        .iter()
        .map(|o| format!("<option{}>{o}</option>", sel(o, &d.output)))
        .collect();
    format!(
        "<form class=\"stack\" id=\"filter-form\" method=\"post\" action=\"/filters\">{csrf}
<label>Name <input name=\"name\" value=\"{name}\" maxlength=\"128\"></label>
<label>Description <input name=\"description\" value=\"{description}\" maxlength=\"4000\"></label>
<label>Survey <select name=\"survey\"><option value=\"lsst\"{l}>Rubin (LSST)</option><option value=\"ztf\"{z}>ZTF</option></select></label>
<label>SELECT <textarea name=\"selected\" rows=\"2\">{selected}</textarea></label>
<label>FROM (tables) <input name=\"tables\" id=\"f-tables\" value=\"{tables}\"></label>
<details><summary>Watchlists, watchmaps and annotators you may use</summary><ul class=\"resources\">{res}</ul></details>
<label>WHERE (and ORDER BY) <textarea name=\"conditions\" rows=\"3\">{conditions}</textarea></label>
<label>Output <select name=\"output\">{outputs}</select></label>
<label class=\"check\"><input type=\"checkbox\" name=\"public\"{public}> public (others may see and use it)</label>
<label class=\"check\"><input type=\"checkbox\" name=\"activate\"{activate}> run it on every alert batch once saved</label>
<div><button formaction=\"/filters/test\" id=\"test-button\">Test on stored objects</button> <button id=\"save-button\">Save</button></div>
</form><script src=\"/static/upload.js\"></script>",
        csrf = csrf_field(login),
        name = esc(&d.name),
        description = esc(&d.description),
        l = sel("lsst", &d.survey),
        z = sel("ztf", &d.survey),
        selected = esc(&d.selected),
        tables = esc(&d.tables),
        conditions = esc(&d.conditions),
        public = if d.public { " checked" } else { "" },
        activate = if d.activate { " checked" } else { "" },
    )
}

fn visible(f: &StoredFilter, viewer: Option<i64>) -> bool {
    f.public || Some(f.owner) == viewer
}

pub(crate) async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let me = viewer.user_id();
    let (filters, res) = blocking(move || -> Result<_, PageError> {
        let mut store = FilterStore::connect(&st.shared.config.main_target())?;
        let filters: Vec<StoredFilter> = store
            .list()?
            .into_iter()
            .filter(|f| visible(f, me))
            .collect();
        let res = resources(&st, me.unwrap_or(-1))?;
        Ok((filters, res))
    })
    .await??;
    let mut body = String::from("<h2>Your and public filters</h2>");
    if filters.is_empty() {
        body.push_str("<p class=\"note\">None yet.</p>");
    } else {
        body.push_str("<table class=\"rows\" id=\"filter-list\"><tr><th>name</th><th>survey</th><th>owner</th><th>active</th><th>topic</th></tr>");
        for f in &filters {
            body.push_str(&format!(
                "<tr><td><a href=\"/filters/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                f.id,
                esc(&f.name),
                esc(&f.survey),
                if Some(f.owner) == me { "you".to_string() } else { format!("user {}", f.owner) },
                esc(&f.active),
                esc(&f.topic)
            ));
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>New filter</h2>");
    match &viewer.0 {
        Some(login) => body.push_str(&builder(login, &Draft::example(), &res)),
        None => {
            body.push_str("<p><a href=\"/login?next=/filters\">Log in</a> to build a filter.</p>")
        }
    }
    Ok(page("Filters", viewer.0.as_ref(), &body).into_response())
}

/// `POST /filters/test`: run the draft and show its first rows under the builder.
pub(crate) async fn test(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, FILTER_FORM).await? else {
        return Ok(login_required("/filters"));
    };
    let draft = Draft::from_form(&f);
    let st = state.clone();
    let (d, user) = (draft.clone(), login.user.id);
    let running = crate::api::query::Running::start(&state.shared)?;
    let (outcome, res) = blocking(move || -> Result<_, PageError> {
        let _running = running;
        let main_db = st.shared.config.main_target();
        let outcome = (|| -> TestOutcome {
            let resources = DbResources::connect(&main_db).map_err(|e| e.to_string())?;
            let checked =
                solas_query::check(&d.spec(), query_survey(d.survey()), Some(user), &resources)
                    .map_err(|e| e.to_string())?;
            let rows = crate::api::query::run(
                &st.shared.config,
                &d.spec(),
                d.survey(),
                user,
                TEST_ROWS,
                0,
                st.shared.config.query_time_limit,
            )
            .map_err(|e| match PageError::from(e) {
                e if e.status.is_client_error() => e.message,
                _ => "the query failed; the server's log has the details".to_string(),
            })?;
            Ok((checked.columns(), rows))
        })();
        Ok((outcome, resources(&st, user)?))
    })
    .await??;
    let mut body = builder(&login, &draft, &res);
    body.push_str("<h2>Test run</h2>");
    match outcome {
        Ok((columns, rows)) => {
            let key = match draft.survey() {
                Survey::Lsst => ("diaObjectId", "lsst"),
                Survey::Ztf => ("objectId", "ztf"),
            };
            body.push_str(&format!(
                "<p id=\"test-count\" data-rows=\"{n}\">{n} row(s) (at most {TEST_ROWS} shown).</p><div id=\"test-results\">{}</div>",
                json_table(&columns, &rows, Some(key)),
                n = rows.len()
            ));
        }
        Err(message) => body.push_str(&format!(
            "<p class=\"error\" id=\"test-error\">{}</p>",
            esc(&message)
        )),
    }
    Ok(page("Filters", viewer.0.as_ref(), &body).into_response())
}

/// `POST /filters`: check and store the draft, then show it. A draft that cannot be
/// stored comes back in the builder with the reason (400).
pub(crate) async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, FILTER_FORM).await? else {
        return Ok(login_required("/filters"));
    };
    let d = Draft::from_form(&f);
    if d.name.is_empty() {
        return Err(PageError::bad("A filter needs a name."));
    }
    let user = login.user.id;
    let st = state.clone();
    let draft = d.clone();
    let outcome = blocking(move || -> Result<Result<i64, String>, PageError> {
        let main_db = st.shared.config.main_target();
        let resources = DbResources::connect(&main_db).map_err(PageError::internal)?;
        if let Err(e) =
            solas_query::check(&d.spec(), query_survey(d.survey()), Some(user), &resources)
        {
            return Ok(Err(format!("The filter is not valid: {e}")));
        }
        let mut store = FilterStore::connect(&main_db)?;
        let added = store.add(&StoredFilter {
            id: 0,
            owner: user,
            topic: solas_delivery::topic_name(user, &d.name),
            name: d.name.clone(),
            description: d.description.clone(),
            selected: d.selected.clone(),
            tables: d.tables.clone(),
            conditions: d.conditions.clone(),
            survey: d.survey.clone(),
            public: d.public,
            active: if d.activate {
                "alerts".into()
            } else {
                "off".into()
            },
            output: d.output.clone(),
            email: None,
            webhook_url: None,
            byte_quota: 100_000_000,
        });
        match added {
            Ok(id) => Ok(Ok(id)),
            Err(solas_store::StoreError::Invalid(m)) => Ok(Err(m)),
            Err(e) => Err(e.into()),
        }
    })
    .await??;
    match outcome {
        Ok(id) => Ok(see_other(&format!("/filters/{id}"))),
        Err(message) => {
            let st = state.clone();
            let res = blocking(move || resources(&st, user)).await??;
            let body = format!(
                "<p class=\"error\" id=\"save-error\">{}</p>{}",
                esc(&message),
                builder(&login, &draft, &res)
            );
            Ok((
                axum::http::StatusCode::BAD_REQUEST,
                page("Filters", viewer.0.as_ref(), &body),
            )
                .into_response())
        }
    }
}

fn consumer_snippet(topic: &str) -> String {
    format!(
        "from confluent_kafka import Consumer
import json

consumer = Consumer({{
    'bootstrap.servers': 'KAFKA_HOST:9092',   # the broker this Solas delivers to
    'group.id': 'my-group-1',                 # any name; reuse it to resume
    'auto.offset.reset': 'earliest',
}})
consumer.subscribe(['{topic}'])
try:
    while True:
        msg = consumer.poll(10)
        if msg is None:
            continue
        if msg.error():
            print(msg.error())
            continue
        print(json.loads(msg.value()))
finally:
    consumer.close()
"
    )
}

/// A filter's latest results: (UTC time, JSON record), newest first.
type Recent = Vec<(String, String)>;

pub(crate) async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> PageResult {
    let st = state.clone();
    let (f, recent) = blocking(
        move || -> Result<(Option<StoredFilter>, Recent), PageError> {
            let mut store = FilterStore::connect(&st.shared.config.main_target())?;
            Ok((store.get(id)?, store.recent_outputs(id, 20)?))
        },
    )
    .await??;
    let me = viewer.user_id();
    let Some(f) = f.filter(|f| visible(f, me)) else {
        return Err(PageError::not_found(
            "No such filter, or it is private to another user.",
        ));
    };
    let mut body = format!(
        "<table class=\"fields\"><tr><th>Description</th><td>{}</td></tr><tr><th>Survey</th><td>{}</td></tr>
<tr><th>Active</th><td id=\"filter-active\">{}</td></tr><tr><th>Output</th><td>{}</td></tr><tr><th>Public</th><td>{}</td></tr>
<tr><th>Kafka topic</th><td><code id=\"filter-topic\">{}</code></td></tr></table>
<pre class=\"sql\">SELECT {}\nFROM {}\nWHERE {}</pre>",
        esc(&f.description),
        esc(&f.survey),
        esc(&f.active),
        esc(&f.output),
        if f.public { "yes" } else { "no" },
        esc(&f.topic),
        esc(&f.selected),
        esc(&f.tables),
        esc(&f.conditions),
    );
    if let Some(login) = viewer.0.as_ref().filter(|l| l.user.id == f.owner) {
        let options: String = ACTIVE_MODES
            .iter()
            .map(|m| {
                format!(
                    "<option{}>{m}</option>",
                    if *m == f.active { " selected" } else { "" }
                )
            })
            .collect();
        body.push_str(&format!(
            "<form class=\"inline\" method=\"post\" action=\"/filters/{}/active\">{}<label>Run on <select name=\"active\">{options}</select></label> <button>Set</button></form>",
            f.id,
            csrf_field(login)
        ));
    }
    body.push_str("<h2>Recent results</h2>");
    if recent.is_empty() {
        body.push_str("<p class=\"note\">Nothing yet: results appear here as batches match.</p>");
    } else {
        body.push_str("<table class=\"rows\" id=\"recent-outputs\"><tr><th>when (UTC)</th><th>record</th></tr>");
        for (utc, json) in &recent {
            body.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td></tr>",
                esc(utc),
                esc(json)
            ));
        }
        body.push_str("</table>");
    }
    body.push_str(&format!(
        "<h2>Reading the results</h2><p>When the filter is active with Kafka output, each matching object is written to the topic above. With Python's <code>confluent-kafka</code>:</p><pre class=\"code\">{}</pre>",
        esc(&consumer_snippet(&f.topic))
    ));
    Ok(page(&format!("Filter {}", f.name), viewer.0.as_ref(), &body).into_response())
}

pub(crate) async fn set_active(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required(&format!("/filters/{id}")));
    };
    let mode = f.get("active").cloned().unwrap_or_default();
    if !ACTIVE_MODES.contains(&mode.as_str()) {
        return Err(PageError::bad(format!(
            "active must be one of {ACTIVE_MODES:?}"
        )));
    }
    let st = state.clone();
    blocking(move || -> Result<(), PageError> {
        let mut store = FilterStore::connect(&st.shared.config.main_target())?;
        match store.get(id)? {
            Some(f) if f.owner == login.user.id => {
                store.set_active(id, &mode)?;
                Ok(())
            }
            _ => Err(PageError::not_found("No such filter of yours.")),
        }
    })
    .await??;
    Ok(see_other(&format!("/filters/{id}")))
}
