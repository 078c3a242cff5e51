//! The filter builder's teaching and editing side: worked examples per survey, the tables
//! and columns a filter may name (from `solas-query`'s whitelist, so it cannot drift),
//! saving a draft (new or edited) with the refusal shown beside the field at fault,
//! editing, copying and deleting a filter, and a test run's rows as CSV.

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use maud::{html, Markup};
use solas_query::schema::{columns, TableKind};
use solas_store::main_db::filter_resources::DbResources;
use solas_store::main_db::filters::{FilterStore, StoredFilter};

use super::filters::{builder, query_survey, resources, Draft, Refusal};
use super::layout::{page, see_other, PageError, PageResult, FILTER_FORM, SMALL_FORM};
use super::login::login_required;
use super::session::{posted, Login, Viewer};
use crate::db::blocking;
use crate::AppState;

/// A worked example the builder can start from.
pub(crate) struct Example {
    pub name: &'static str,
    pub description: &'static str,
    pub survey: &'static str,
    pub selected: &'static str,
    pub tables: &'static str,
    pub conditions: &'static str,
}

pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        name: "rubin_recent_repeaters",
        description: "Rubin objects detected at least twice, newest first.",
        survey: "lsst",
        selected: "objects.diaObjectId, objects.ra, objects.decl, objects.nDiaSources, objects.lastDiaSourceMjdTai",
        tables: "objects",
        conditions: "objects.nDiaSources >= 2 ORDER BY objects.lastDiaSourceMjdTai DESC",
    },
    Example {
        name: "rubin_near_galaxies",
        description: "Rubin objects the context stage places on or near a galaxy (SN or NT), with the host.",
        survey: "lsst",
        selected: "objects.diaObjectId, sherlock_classifications.classification, sherlock_classifications.catalogue_object_id, sherlock_classifications.separationArcsec",
        tables: "objects, sherlock_classifications",
        conditions: "sherlock_classifications.classification IN ('SN', 'NT')",
    },
    Example {
        name: "ztf_bright_rising",
        description: "ZTF objects brighter than 18.5 in r that brightened by over 0.05 mag a day.",
        survey: "ztf",
        selected: "objects.objectId, objects.rmag, objects.dmdt_r, objects.ncand",
        tables: "objects",
        conditions: "objects.rmag < 18.5 AND objects.dmdt_r < -0.05",
    },
    Example {
        name: "ztf_supernova_candidates",
        description: "ZTF objects with several detections beside a catalogued galaxy.",
        survey: "ztf",
        selected: "objects.objectId, objects.ncand, sherlock_classifications.classification, sherlock_classifications.catalogue_object_id",
        tables: "objects, sherlock_classifications",
        conditions: "sherlock_classifications.classification = 'SN' AND objects.ncand >= 3",
    },
];

/// The examples of the survey, and every table and column a filter may name.
pub(crate) fn help(survey: &str) -> Markup {
    let qs = if survey == "ztf" {
        solas_query::Survey::Ztf
    } else {
        solas_query::Survey::Lsst
    };
    let tables: [(&str, TableKind, &str); 10] = [
        (
            "objects",
            TableKind::Objects,
            "the object's features (always there)",
        ),
        (
            "sherlock_classifications",
            TableKind::Sherlock,
            "its sky context",
        ),
        (
            "watchlist:N → watchlist_hits",
            TableKind::WatchlistHits,
            "hits of watchlist N",
        ),
        (
            "watchmap:N → area_hits",
            TableKind::AreaHits,
            "inside watchmap N",
        ),
        (
            "annotator:TOPIC → TOPIC",
            TableKind::Annotations,
            "annotations of that topic",
        ),
        (
            "consensus",
            TableKind::Consensus,
            "what every classifier and annotator says, and whether they disagree",
        ),
        ("crossmatch_tns", TableKind::CrossmatchTns, "its TNS entry"),
        (
            "counterparts",
            TableKind::Counterparts,
            "the same source in the other survey (Rubin ↔ ZTF)",
        ),
        (
            "mining:N → mining",
            TableKind::Mining,
            "your program's answer in your mining run N",
        ),
        (
            "tag:LABEL → tag_LABEL",
            TableKind::Tags,
            "your own tag on it",
        ),
    ];
    html! {
        details #filter-examples open {
            summary { "Examples" }
            ul {
                @for (i, e) in EXAMPLES.iter().enumerate() {
                    li {
                        a href={ "/filters?example=" (i) } { (e.name) }
                        " (" (if e.survey == "ztf" { "ZTF" } else { "Rubin" }) "): " (e.description)
                    }
                }
            }
        }
        details #schema-browser {
            summary { "Tables and columns (" (if qs == solas_query::Survey::Ztf { "ZTF" } else { "Rubin" }) "; choose the survey above and test to switch)" }
            p.note { "Name a column as " code { "table.column" } ". "
                a href="/docs/api#api-query" { "The query API" } " takes the same three parts." }
            @for (entry, kind, what) in tables {
                @let cols = columns(kind, qs);
                @let table = entry.split([':', ' ']).next().unwrap_or(entry);
                details.table-columns {
                    summary { code { (entry) } ": " (what) " (" (cols.len()) " columns)" }
                    div.table-scroll {
                        table.rows.columns {
                            thead { tr { th { "column" } th { "type" } th { "unit" } th { "meaning" } } }
                            tbody {
                                @for c in &cols {
                                    @let n = super::column_notes::note(table, survey, c.name);
                                    tr {
                                        td { code { (c.name) } }
                                        td { (format!("{:?}", c.ty).to_lowercase()) }
                                        td { (n.map_or("", |n| n.0)) }
                                        td { (n.map_or("", |n| n.1)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether `url` is `https://HOST/…` with HOST (no user, no port) one of `hosts`.
fn webhook_allowed(url: &str, hosts: &[String]) -> bool {
    let Some(rest) = url.trim().strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    url.len() <= 2048
        && !host.contains(['@', ':'])
        && hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// Check and store a draft (new, or the edit of the viewer's filter `draft.id`), then show
/// it; a refused draft comes back in the builder with the reason beside its field (400).
pub(crate) async fn store_and_show(
    state: &AppState,
    viewer: &Viewer,
    login: &Login,
    draft: Draft,
) -> PageResult {
    let user = login.user.id;
    let st = state.clone();
    let d = draft.clone();
    let outcome = blocking(move || -> Result<Result<i64, Refusal>, PageError> {
        if d.name.is_empty() {
            return Ok(Err(Refusal {
                part: None,
                message: "A filter needs a name.".into(),
            }));
        }
        let email = d.email.trim();
        let email_ok = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'));
        if d.output == "webhook" && !webhook_allowed(&d.webhook, &st.shared.config.webhook_hosts) {
            return Ok(Err(Refusal {
                part: None,
                message: format!(
                    "A webhook is an https URL on a host the operator allows ({}).",
                    if st.shared.config.webhook_hosts.is_empty() {
                        "none here".to_string()
                    } else {
                        st.shared.config.webhook_hosts.join(", ")
                    }
                ),
            }));
        }
        if d.output == "email" && !email_ok {
            return Ok(Err(Refusal {
                part: None,
                message: "An email filter needs the address its digest goes to.".into(),
            }));
        }
        let main_db = st.shared.config.main_target();
        let resources = DbResources::connect(&main_db).map_err(PageError::internal)?;
        if let Err(e) =
            solas_query::check(&d.spec(), query_survey(d.survey()), Some(user), &resources)
        {
            return Ok(Err(Refusal {
                part: Some(e.part),
                message: format!("Not saved: {e}"),
            }));
        }
        let mut store = FilterStore::connect(&main_db)?;
        let existing = match d.id {
            Some(id) => match store.get(id)? {
                Some(f) if f.owner == user => Some(f),
                _ => return Err(PageError::not_found("No such filter of yours.")),
            },
            None => None,
        };
        let f = StoredFilter {
            id: d.id.unwrap_or(0),
            owner: user,
            topic: solas_delivery::topic_name(user, &d.name),
            name: d.name.clone(),
            description: d.description.clone(),
            selected: d.selected.clone(),
            tables: d.tables.clone(),
            conditions: d.conditions.clone(),
            survey: d.survey.clone(),
            public: d.public,
            active: match (&existing, d.activate) {
                // An edit keeps how the filter runs, unless it is switched off here.
                (Some(e), true) if e.active != "off" => e.active.clone(),
                (_, true) => "alerts".into(),
                (_, false) => "off".into(),
            },
            output: d.output.clone(),
            email: (d.output == "email").then(|| d.email.trim().to_string()),
            webhook_url: (d.output == "webhook").then(|| d.webhook.trim().to_string()),
            byte_quota: existing.as_ref().map_or(100_000_000, |e| e.byte_quota),
        };
        let stored = match d.id {
            Some(id) => store.update(&f).map(|_| id),
            None => store.add(&f),
        };
        match stored {
            Ok(id) => Ok(Ok(id)),
            Err(solas_store::StoreError::Invalid(m)) => Ok(Err(Refusal {
                part: None,
                message: m,
            })),
            Err(e) => Err(e.into()),
        }
    })
    .await??;
    match outcome {
        Ok(id) => Ok(see_other(&format!("/filters/{id}"))),
        Err(refusal) => {
            let st = state.clone();
            let res = blocking(move || resources(&st, user)).await??;
            let body = builder(
                login,
                &draft,
                &res,
                Some(&refusal),
                &state.shared.config.webhook_hosts,
            );
            Ok((
                StatusCode::BAD_REQUEST,
                page("Filters", viewer.0.as_ref(), body),
            )
                .into_response())
        }
    }
}

/// The viewer's stored filter `id` (any visible one with `own` false).
async fn stored(
    state: &AppState,
    id: i64,
    viewer: i64,
    own: bool,
) -> Result<StoredFilter, PageError> {
    let st = state.clone();
    let f = blocking(move || -> Result<_, PageError> {
        Ok(FilterStore::connect(&st.shared.config.main_target())?.get(id)?)
    })
    .await??;
    f.filter(|f| f.owner == viewer || (!own && f.public))
        .ok_or_else(|| PageError::not_found("No such filter, or it is not yours."))
}

async fn in_builder(state: AppState, viewer: Viewer, id: i64, edit: bool) -> PageResult {
    let Some(login) = viewer.0.clone() else {
        return Ok(login_required(&format!("/filters/{id}")));
    };
    let f = stored(&state, id, login.user.id, edit).await?;
    let st = state.clone();
    let user = login.user.id;
    let res = blocking(move || resources(&st, user)).await??;
    let draft = Draft::from_stored(&f, edit);
    let title = if edit {
        format!("Edit filter {}", f.name)
    } else {
        format!("Copy filter {}", f.name)
    };
    Ok(page(
        &title,
        Some(&login),
        builder(
            &login,
            &draft,
            &res,
            None,
            &state.shared.config.webhook_hosts,
        ),
    )
    .into_response())
}

/// `GET /filters/{id}/edit`: the owner's filter in the builder.
pub(crate) async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> PageResult {
    in_builder(state, viewer, id, true).await
}

/// `GET /filters/{id}/copy`: a visible filter in the builder, as a new one.
pub(crate) async fn copy(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> PageResult {
    in_builder(state, viewer, id, false).await
}

/// `POST /filters/{id}`: save the owner's edit.
pub(crate) async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, FILTER_FORM).await? else {
        return Ok(login_required(&format!("/filters/{id}")));
    };
    let mut draft = Draft::from_form(&f);
    draft.id = Some(id);
    store_and_show(&state, &viewer, &login, draft).await
}

/// `POST /filters/{id}/delete`: the owner deletes their filter.
pub(crate) async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    req: Request,
) -> PageResult {
    let Some((login, _)) = posted(&viewer, req, SMALL_FORM).await? else {
        return Ok(login_required(&format!("/filters/{id}")));
    };
    stored(&state, id, login.user.id, true).await?;
    let st = state.clone();
    blocking(move || -> Result<_, PageError> {
        Ok(FilterStore::connect(&st.shared.config.main_target())?.remove(id)?)
    })
    .await??;
    Ok(see_other("/filters"))
}

/// A test run's column names and rows.
pub(crate) type TestRows = (Vec<String>, Vec<serde_json::Map<String, serde_json::Value>>);

/// Run a draft as `user` for at most `limit` rows: its column names and rows, or the
/// message for the reader (a refused filter's reason; a server fault only in the log).
pub(crate) fn run_draft(
    st: &AppState,
    draft: &Draft,
    user: i64,
    limit: i64,
) -> Result<TestRows, String> {
    let resources =
        DbResources::connect(&st.shared.config.main_target()).map_err(|e| e.to_string())?;
    let checked = solas_query::check(
        &draft.spec(),
        query_survey(draft.survey()),
        Some(user),
        &resources,
    )
    .map_err(|e| e.to_string())?;
    let rows = crate::api::query::run(
        &st.shared.config,
        &draft.spec(),
        draft.survey(),
        user,
        limit,
        0,
        st.shared.config.query_time_limit,
    )
    .map_err(|e| match PageError::from(e) {
        e if e.status.is_client_error() => e.message,
        _ => "the query failed; the server's log has the details".to_string(),
    })?;
    Ok((checked.columns(), rows))
}

/// `POST /filters/test.csv`: every row the draft finds, up to the viewer's class limit,
/// as a CSV file.
pub(crate) async fn test_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    req: Request,
) -> PageResult {
    let Some((login, f)) = posted(&viewer, req, FILTER_FORM).await? else {
        return Ok(login_required("/filters"));
    };
    let draft = Draft::from_form(&f);
    let user = login.user.id;
    let limit = login.user.class.query_max_rows();
    let running = crate::api::query::Running::start(&state.shared)?;
    let st = state.clone();
    let (columns, rows) = blocking(move || {
        let _running = running;
        run_draft(&st, &draft, user, limit)
    })
    .await?
    .map_err(PageError::bad)?;
    let mut out = String::new();
    let line = |cells: Vec<String>| {
        cells
            .into_iter()
            .map(|c| {
                if c.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c
                }
            })
            .collect::<Vec<_>>()
            .join(",")
            + "\n"
    };
    out.push_str(&line(columns.clone()));
    for r in &rows {
        out.push_str(&line(
            columns
                .iter()
                .map(|c| match r.get(c) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .collect(),
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"filter-test.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::EXAMPLES;

    #[test]
    fn webhooks_go_only_to_the_operators_hosts_over_https() {
        let hosts = vec!["hooks.slack.com".to_string()];
        assert!(super::webhook_allowed(
            "https://hooks.slack.com/services/T0/B0/x",
            &hosts
        ));
        for bad in [
            "http://hooks.slack.com/services/x",
            "https://hooks.slack.com.evil.org/x",
            "https://evil@hooks.slack.com/x",
            "https://hooks.slack.com:8443/x",
            "https://127.0.0.1/x",
        ] {
            assert!(!super::webhook_allowed(bad, &hosts), "{bad}");
        }
        assert!(!super::webhook_allowed("https://hooks.slack.com/x", &[]));
    }

    #[test]
    fn every_example_is_a_valid_filter_of_its_survey() {
        for e in EXAMPLES {
            let survey = if e.survey == "ztf" {
                solas_query::Survey::Ztf
            } else {
                solas_query::Survey::Lsst
            };
            let spec = solas_query::FilterSpec {
                selected: e.selected.into(),
                tables: e.tables.into(),
                conditions: e.conditions.into(),
            };
            if let Err(err) = solas_query::check(&spec, survey, Some(1), &solas_query::NoResources)
            {
                panic!("{}: {err}", e.name);
            }
        }
    }
}
