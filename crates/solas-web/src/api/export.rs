//! `/api/export/`: every field of chosen objects' sources as a file, streamed
//! (`solas_export`); the object page's download links use it too.
//!
//! Parameters: the objects, one way: `objectIds` (comma-separated), or a cone (`ra`,
//! `dec`, `radius` in arcsec ≤ 1000), or a filter (`tables`, `conditions`, checked and
//! whitelisted as `/api/query/` checks them); and/or a time window, `since` and `until`
//! (MJD; sources observed in [since, until)). `kind`: `sources` (the default), `forced` or
//! `nondetections`. `format`: `csv` (the default), `jsonl`, `votable` or `parquet`.
//!
//! The file is written as the archive is read, so memory stays bounded whatever is asked.
//! Rows are capped at 100 times the caller's query row limit (a VOTable says `OVERFLOW`
//! when cut; `X-Solas-Row-Limit` gives the cap). A problem found before the first bytes
//! (a bad filter, an unknown object) is a 400 like any other; a failure after them ends
//! the transfer unfinished, so a client never takes a cut file for a whole one.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use solas_core::Survey;
use solas_export::select::{self, ObjectFilter};
use solas_export::{Export, ExportError, Format, Selection, SourceKind};
use tokio::sync::mpsc;

use super::query::Running;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::params::{Check, Params};
use crate::users::UserClass;
use crate::{AppState, Shared};

/// How the objects are chosen.
pub(crate) enum Objects {
    Named(Vec<String>),
    Cone {
        ra: f64,
        dec: f64,
        radius: f64,
    },
    Filter(ObjectFilter),
    /// Every object (with a time window).
    All,
}

/// One export, checked.
pub(crate) struct Request {
    pub(crate) survey: Survey,
    pub(crate) objects: Objects,
    pub(crate) mjd: Option<(f64, f64)>,
    pub(crate) kind: SourceKind,
    pub(crate) format: Format,
}

/// Rows an export may give a caller of `class`.
pub(crate) fn row_limit(class: UserClass) -> u64 {
    class.query_max_rows().unsigned_abs().saturating_mul(100)
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Params,
) -> Result<Response, ApiError> {
    let mut c = Check::new(&params);
    let survey = super::survey(&mut c, state.shared.config.survey);
    let kind = c.choice(
        "kind",
        &["sources", "forced", "nondetections"],
        Some("sources"),
    );
    let format = c.choice(
        "format",
        &["csv", "jsonl", "votable", "parquet"],
        Some("csv"),
    );
    let ids = c.text("objectIds", 100_000, true, Some(""));
    let (ra, dec, radius) = (
        c.float("ra", Some(f64::NAN)),
        c.float("dec", Some(f64::NAN)),
        c.float("radius", Some(f64::NAN)),
    );
    let tables = c.text("tables", 1024, true, Some(""));
    let conditions = c.text("conditions", 4096, true, Some(""));
    let since = c.float("since", Some(f64::NAN));
    let until = c.float("until", Some(f64::NAN));
    let cone = [ra, dec, radius].iter().any(|x| x.is_finite());
    let ways = [!ids.trim().is_empty(), cone, !tables.trim().is_empty()];
    if ways.iter().filter(|w| **w).count() > 1 {
        c.fail(
            "objectIds",
            "Choose objects one way: objectIds, a cone (ra, dec, radius) or a filter (tables, conditions).",
        );
    }
    if cone {
        if !(0.0..=360.0).contains(&ra) || !(-90.0..=90.0).contains(&dec) {
            c.fail("ra", "A cone needs ra in [0, 360] and dec in [-90, 90].");
        }
        if !(0.0..=super::cone::MAX_RADIUS_ARCSEC).contains(&radius) {
            c.fail("radius", "radius must be between 0 and 1000 arcsec.");
        }
    }
    let mjd = (since.is_finite() || until.is_finite()).then(|| {
        (
            if since.is_finite() { since } else { f64::MIN },
            if until.is_finite() { until } else { f64::MAX },
        )
    });
    if !ways.contains(&true) && mjd.is_none() {
        c.fail(
            "objectIds",
            "Choose what to export: objectIds, a cone, a filter, or a time window (since, until).",
        );
    }
    c.finish()?;
    let objects = if !ids.trim().is_empty() {
        Objects::Named(ids.split(',').map(|s| s.trim().to_string()).collect())
    } else if cone {
        Objects::Cone { ra, dec, radius }
    } else if !tables.trim().is_empty() {
        Objects::Filter(ObjectFilter { tables, conditions })
    } else {
        Objects::All
    };
    let request = Request {
        survey,
        objects,
        mjd,
        kind: SourceKind::parse(kind).unwrap_or(SourceKind::Detections),
        format: Format::parse(format).unwrap_or(Format::Csv),
    };
    let running = Running::start(&state.shared)?;
    stream(
        state.shared.clone(),
        request,
        Some(user.id),
        row_limit(user.class),
        running,
    )
    .await
}

/// The export as a streamed response: written on a blocking thread into a channel that
/// the response body drains (a full channel holds the writer back).
pub(crate) async fn stream(
    shared: Arc<Shared>,
    request: Request,
    user: Option<i64>,
    row_limit: u64,
    running: Running,
) -> Result<Response, ApiError> {
    let (tx, mut rx) = mpsc::channel(4);
    let (survey, kind, format) = (request.survey, request.kind, request.format);
    let task = tokio::task::spawn_blocking(move || {
        let _running = running;
        let selection = Selection {
            objects: choose(&shared, &request, user, row_limit)?,
            mjd: request.mjd,
        };
        let export = Export {
            survey,
            kind,
            selection,
            format,
            row_limit: Some(row_limit),
        };
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let mut store = shared.lightcurves.take()?;
        let written = solas_export::write(store.as_mut(), &export, &mut out);
        match written.map_err(ApiError::from).and_then(|w| {
            out.flush().map_err(ApiError::internal)?;
            Ok(w)
        }) {
            Ok(w) => Ok(w),
            Err(e) => {
                // After bytes went out the status is sent: end the body with an error.
                let _ = tx.blocking_send(Err(std::io::Error::other(format!("{e:?}"))));
                Err(e)
            }
        }
    });
    // The first chunk decides the status: an export that fails before writing anything
    // answers with its error.
    let first = match rx.recv().await {
        Some(Ok(bytes)) => Some(bytes),
        _ => {
            task.await
                .map_err(|e| ApiError::internal(format!("an export's worker failed: {e}")))??;
            None
        }
    };
    let filename = format!(
        "solas-{}-{}.{}",
        survey.as_str(),
        kind.name(),
        format.extension()
    );
    let body = Body::new(ChannelBody { first, rx });
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (
                header::HeaderName::from_static("x-solas-row-limit"),
                row_limit.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

/// The object keys `request` chooses (`None`: every object).
fn choose(
    shared: &Shared,
    request: &Request,
    user: Option<i64>,
    row_limit: u64,
) -> Result<Option<Vec<i64>>, ApiError> {
    let survey = request.survey;
    Ok(Some(match &request.objects {
        Objects::All => return Ok(None),
        Objects::Named(names) => names
            .iter()
            .map(|n| select::object_key(survey, n))
            .collect::<Result<_, _>>()?,
        Objects::Cone { ra, dec, radius } => {
            select::cone_keys(&mut *shared.main.take()?, survey, *ra, *dec, *radius)?
        }
        Objects::Filter(filter) => select::filter_keys(
            &shared.config.main_target(),
            shared.config.filter_db_url.as_deref(),
            survey,
            user,
            filter,
            row_limit,
            shared.config.query_time_limit,
        )?,
    }))
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::Store(e) => ApiError::from(e),
            ExportError::Selection(m) => ApiError::Bad(m),
            other => ApiError::internal(other),
        }
    }
}

/// Bytes sent to the body at a time.
const CHUNK: usize = 64 * 1024;

/// A writer whose bytes go to the response body, a chunk at a time.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The response body: the first chunk, then whatever the writer sends.
struct ChannelBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        self.rx
            .poll_recv(cx)
            .map(|next| next.map(|r| r.map(Frame::data)))
    }
}
