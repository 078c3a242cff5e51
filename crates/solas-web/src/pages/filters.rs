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
use solas_core::Survey;
use solas_query::FilterSpec;
use solas_store::main_db::filters::{FilterStore, StoredFilter, ACTIVE_MODES};

use maud::{html, Markup};

use super::layout::{
    csrf_field, json_table, page, see_other, PageError, PageResult, FILTER_FORM, SMALL_FORM,
};
use super::login::login_required;
use super::session::{posted, Login, Viewer};
use crate::db::blocking;
use crate::AppState;
use solas_delivery::OutputMode;

/// Rows a test run shows.
const TEST_ROWS: i64 = 50;
/// The outputs the web form offers. A webhook must be an `https` URL on a host the
/// operator allows (`solas serve --webhook-hosts`): any URL typed on the site would make
/// the server post anywhere, its own network included.
const OUTPUTS: [&str; 7] = [
    OutputMode::Kafka.as_str(),
    OutputMode::KafkaLite.as_str(),
    OutputMode::KafkaFull.as_str(),
    OutputMode::KafkaGcn.as_str(),
    OutputMode::Email.as_str(),
    OutputMode::Webhook.as_str(),
    OutputMode::None.as_str(),
];

/// What the builder form holds.
#[derive(Default, Clone)]
pub(crate) struct Draft {
    /// The filter being edited, or None for a new one.
    pub id: Option<i64>,
    pub name: String,
    pub description: String,
    pub selected: String,
    pub tables: String,
    pub conditions: String,
    pub survey: String,
    pub public: bool,
    pub activate: bool,
    pub output: String,
    /// Where an email-output filter sends its daily digest.
    pub email: String,
    /// Where a webhook-output filter posts its results.
    pub webhook: String,
}

impl Draft {
    pub(crate) fn from_form(f: &HashMap<String, String>) -> Draft {
        let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        Draft {
            id: None,
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
            email: get("email"),
            webhook: get("webhook"),
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
        Draft::from_example(&super::filter_edit::EXAMPLES[0])
    }

    pub(crate) fn from_example(e: &super::filter_edit::Example) -> Draft {
        Draft {
            name: e.name.into(),
            description: e.description.into(),
            selected: e.selected.into(),
            tables: e.tables.into(),
            conditions: e.conditions.into(),
            survey: e.survey.into(),
            output: "kafka".into(),
            ..Draft::default()
        }
    }

    /// A stored filter in the builder: to edit (`id` kept) or to copy (`id` None).
    pub(crate) fn from_stored(f: &StoredFilter, edit: bool) -> Draft {
        Draft {
            id: edit.then_some(f.id),
            name: if edit {
                f.name.clone()
            } else {
                format!("{} copy", f.name)
            },
            description: f.description.clone(),
            selected: f.selected.clone(),
            tables: f.tables.clone(),
            conditions: f.conditions.clone(),
            survey: f.survey.clone(),
            public: f.public,
            activate: f.active != "off",
            email: f.email.clone().unwrap_or_default(),
            webhook: f.webhook_url.clone().unwrap_or_default(),
            output: if OUTPUTS.contains(&f.output.as_str()) {
                f.output.clone()
            } else {
                "kafka".into()
            },
        }
    }

    pub(crate) fn spec(&self) -> FilterSpec {
        FilterSpec {
            selected: self.selected.clone(),
            tables: self.tables.clone(),
            conditions: self.conditions.clone(),
        }
    }

    pub(crate) fn survey(&self) -> Survey {
        if self.survey == "ztf" {
            Survey::Ztf
        } else {
            Survey::Lsst
        }
    }
}

pub(crate) fn query_survey(s: Survey) -> solas_query::Survey {
    match s {
        Survey::Lsst => solas_query::Survey::Lsst,
        Survey::Ztf => solas_query::Survey::Ztf,
    }
}

/// Resources a filter may name: (tables entry, label) for each visible watchlist,
/// watchmap and annotator.
pub(crate) fn resources(
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

/// Why a draft was refused: beside the field at fault, or above the form.
pub(crate) struct Refusal {
    pub part: Option<solas_query::Part>,
    pub message: String,
}

impl Refusal {
    fn beside(&self, part: solas_query::Part) -> Markup {
        html! {
            @if self.part == Some(part) { p.error.field-error #save-error { (self.message) } }
        }
    }
}

pub(crate) fn builder(
    login: &Login,
    d: &Draft,
    resources: &[(String, String)],
    refused: Option<&Refusal>,
    webhook_hosts: &[String],
) -> Markup {
    use solas_query::Part;
    let beside = |part| refused.map(|r| r.beside(part)).unwrap_or_default();
    let action = match d.id {
        Some(id) => format!("/filters/{id}"),
        None => "/filters".to_string(),
    };
    html! {
        @if let Some(r) = refused.filter(|r| r.part.is_none()) {
            p.error #save-error { (r.message) }
        }
        form.stack #filter-form method="post" action=(action) {
            (csrf_field(login))
            label { "Name " input name="name" value=(d.name) maxlength="128"; }
            label { "Description " input name="description" value=(d.description) maxlength="4000"; }
            label {
                "Survey "
                select name="survey" {
                    option value="lsst" selected[d.survey == "lsst"] { "Rubin (LSST)" }
                    option value="ztf" selected[d.survey == "ztf"] { "ZTF" }
                }
            }
            label { "SELECT " textarea name="selected" rows="2" { (d.selected) } }
            (beside(Part::Selected))
            label { "FROM (tables) " input name="tables" #f-tables value=(d.tables); }
            (beside(Part::Tables))
            details {
                summary { "Watchlists, watchmaps and annotators you may use" }
                ul.resources {
                    @for (entry, label) in resources {
                        li {
                            button type="button" .add-table data-add=(entry) { "add" } " "
                            code { (entry) } " " (label)
                        }
                    }
                    @if resources.is_empty() {
                        li.note { "No watchlists, watchmaps or annotators yet." }
                    }
                }
            }
            label { "WHERE (and ORDER BY) " textarea name="conditions" rows="3" { (d.conditions) } }
            (beside(Part::Conditions))
            label {
                "Output "
                select name="output" {
                    @for o in OUTPUTS.iter().filter(|o| **o != "webhook" || !webhook_hosts.is_empty()) {
                        option selected[*o == d.output] { (o) }
                    }
                }
            }
            label {
                "Email for the daily digest (output email) "
                input type="email" name="email" value=(d.email) maxlength="254" autocomplete="email";
            }
            @if !webhook_hosts.is_empty() {
                label {
                    "Webhook URL (output webhook; https on " (webhook_hosts.join(", ")) ") "
                    input type="url" name="webhook" value=(d.webhook) maxlength="2048";
                }
            }
            label.check {
                input type="checkbox" name="public" checked[d.public];
                " public (others may see and use it)"
            }
            label.check {
                input type="checkbox" name="activate" checked[d.activate];
                " run it on every alert batch once saved"
            }
            div {
                button formaction="/filters/test" #test-button { "Test on stored objects" } " "
                button formaction="/filters/test.csv" #csv-button title="Every row the test finds (up to your class's limit), as CSV" { "Download CSV" } " "
                button #save-button { (if d.id.is_some() { "Save changes" } else { "Save" }) }
            }
        }
        (super::filter_edit::help(&d.survey))
        script src="/static/upload.js" {}
    }
}

fn visible(f: &StoredFilter, viewer: Option<i64>) -> bool {
    f.public || Some(f.owner) == viewer
}

pub(crate) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> PageResult {
    // `?example=N` starts the builder from one of the examples.
    let example = q
        .get("example")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| super::filter_edit::EXAMPLES.get(n))
        .map_or_else(Draft::example, Draft::from_example);
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
    let body = html! {
        h2 { "Your and public filters" }
        @if filters.is_empty() {
            p.note { "None yet." }
        } @else {
            table.rows #filter-list {
                tr { th { "name" } th { "what it finds" } th { "survey" } th { "owner" } th { "active" } th { "topic" } }
                @for f in &filters {
                    tr {
                        td { a href={ "/filters/" (f.id) } { (f.name) } }
                        td { (f.description) }
                        td { (f.survey) }
                        td {
                            @if Some(f.owner) == me { "you" } @else { "user " (f.owner) }
                        }
                        td { (f.active) }
                        td { code { (f.topic) } }
                    }
                }
            }
        }
        h2 { "New filter" }
        @match &viewer.0 {
            Some(login) => (builder(login, &example, &res, None, &state.shared.config.webhook_hosts)),
            None => p { a href="/login?next=/filters" { "Log in" } " to build a filter." },
        }
    };
    Ok(page("Filters", viewer.0.as_ref(), body).into_response())
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
    // Counted up to the user's row limit, so the total is known; the first rows shown.
    let limit = login.user.class.query_max_rows();
    let running = crate::api::query::Running::start(&state.shared)?;
    let (outcome, res) = blocking(move || -> Result<_, PageError> {
        let _running = running;
        let outcome = super::filter_edit::run_draft(&st, &d, user, limit);
        Ok((outcome, resources(&st, user)?))
    })
    .await??;
    let key = match draft.survey() {
        Survey::Lsst => ("diaObjectId", "lsst"),
        Survey::Ztf => ("objectId", "ztf"),
    };
    let body = html! {
        (builder(&login, &draft, &res, None, &state.shared.config.webhook_hosts))
        h2 { "Test run" }
        @match &outcome {
            Ok((columns, rows)) => {
                @let shown = &rows[..rows.len().min(TEST_ROWS as usize)];
                p #test-count data-rows=(shown.len()) data-total=(rows.len()) {
                    @if rows.len() as i64 >= limit {
                        "At least " (rows.len()) " rows (your account's limit); "
                    } @else {
                        (rows.len()) " row(s) in all; "
                    }
                    "the first " (shown.len()) " below. " "Download CSV for them all."
                }
                div #test-results { (json_table(columns, shown, Some(key))) }
            }
            Err(message) => p.error #test-error { (message) },
        }
    };
    Ok(page("Filters", viewer.0.as_ref(), body).into_response())
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
    let draft = Draft::from_form(&f);
    super::filter_edit::store_and_show(&state, &viewer, &login, draft).await
}

fn consumer_snippet(topic: &str, broker: Option<&str>) -> String {
    let broker = broker.unwrap_or("KAFKA_HOST:9092");
    format!(
        "from confluent_kafka import Consumer
import json

consumer = Consumer({{
    'bootstrap.servers': '{broker}',   # the broker this Solas delivers to
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

pub(crate) async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> PageResult {
    let st = state.clone();
    let me_id = viewer.user_id();
    let (f, recent, reports) = blocking(move || -> Result<_, PageError> {
        let mut store = FilterStore::connect(&st.shared.config.main_target())?;
        let f = store.get(id)?;
        // What went wrong with it (failed runs, deliveries, quotas): its owner's to see.
        let reports = match (&f, me_id) {
            (Some(f), Some(me)) if f.owner == me => store
                .reports(Some(me))?
                .into_iter()
                .filter(|r| r.filter_id == id)
                .collect(),
            _ => Vec::new(),
        };
        Ok((f, store.recent_outputs(id, 20)?, reports))
    })
    .await??;
    let me = viewer.user_id();
    let Some(f) = f.filter(|f| visible(f, me)) else {
        return Err(PageError::not_found(
            "No such filter, or it is private to another user.",
        ));
    };
    let owner = viewer.0.as_ref().filter(|l| l.user.id == f.owner);
    let body = html! {
        table.fields {
            tr { th { "Description" } td { (f.description) } }
            tr { th { "Survey" } td { (f.survey) } }
            tr { th { "Active" } td #filter-active { (f.active) } }
            tr {
                th { "Output" }
                td #filter-output {
                    (f.output)
                    // The address is the owner's to see.
                    @if let (Some(email), Some(_)) = (&f.email, owner) { " to " (email) }
                    @if let (Some(url), Some(_)) = (&f.webhook_url, owner) { " to " (url) }
                }
            }
            tr { th { "Public" } td { (if f.public { "yes" } else { "no" }) } }
            tr { th { "Kafka topic" } td { code #filter-topic { (f.topic) } } }
        }
        pre.sql { "SELECT " (f.selected) "\nFROM " (f.tables) "\nWHERE " (f.conditions) }
        p.filter-actions {
            @if owner.is_some() { a #edit-filter href={ "/filters/" (f.id) "/edit" } { "Edit" } " · " }
            @if viewer.0.is_some() { a #copy-filter href={ "/filters/" (f.id) "/copy" } { "Copy into a new filter" } }
        }
        @if let Some(login) = owner {
            form.inline method="post" action={ "/filters/" (f.id) "/delete" }
                onsubmit="return confirm('Delete this filter? Its topic gets no more results.')" {
                (csrf_field(login)) button #delete-filter { "Delete" }
            }
            " "
            form.inline method="post" action={ "/filters/" (f.id) "/active" } {
                (csrf_field(login))
                label {
                    "Run on "
                    select name="active" {
                        @for m in ACTIVE_MODES { option selected[*m == f.active] { (m) } }
                    }
                }
                " "
                button { "Set" }
            }
        }
        @if owner.is_some() {
            h2 { "Problems" }
            @if reports.is_empty() {
                p.note #filter-problems { "None: every run and delivery succeeded." }
            } @else {
                table.rows #filter-problems {
                    thead { tr { th { "kind" } th { "what happened" } th { "times" } th { "first (UTC)" } th { "last (UTC)" } } }
                    tbody {
                        @for r in &reports {
                            tr { td { (r.kind) } td { (r.message) } td.num { (r.count) } td { (r.first_at) } td { (r.last_at) } }
                        }
                    }
                }
            }
        }
        h2 { "Recent results" }
        @if recent.is_empty() {
            p.note { "Nothing yet: results appear here as batches match." }
        } @else {
            table.rows #recent-outputs {
                tr { th { "when (UTC)" } th { "record" } }
                @for (utc, json) in &recent { tr { td { (utc) } td { code { (json) } } } }
            }
        }
        h2 { "Reading the results" }
        p {
            "When the filter is active with Kafka output, each matching object is written to "
            "the topic above. With Python's " code { "confluent-kafka" } ":"
        }
        pre.code { (consumer_snippet(&f.topic, state.shared.config.public_kafka.as_deref())) }
        @if state.shared.config.public_kafka.is_none() {
            p.note { "Ask the operator for the broker address (they can show it here with "
                code { "solas serve --public-kafka HOST:PORT" } ")." }
        }
    };
    Ok(page(&format!("Filter {}", f.name), viewer.0.as_ref(), body).into_response())
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
