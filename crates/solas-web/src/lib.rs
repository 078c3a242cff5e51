//! Solas's REST API: the endpoints of Lasair's `/api/` that the `lasair` Python client
//! calls, with the same parameter names, defaults, limits and answers, so code written for
//! Lasair runs against Solas by changing the endpoint URL.
//!
//! This crate owns:
//! - the HTTP server and its routes ([`router`], [`serve`], [`spawn`]);
//! - the endpoints (`api/`): `/api/cone/`, `/api/query/`, `/api/object/`,
//!   `/api/sherlock/object/`, `/api/sherlock/position/`, `/api/annotate/`,
//!   `/api/annotatelist/`, `/api/auth-token/`, the OpenAPI document at
//!   `/api/openapi.json` (`openapi`), and the cutout files the object answer links to
//!   (`/fits/...`);
//! - users and API tokens ([`users`]), kept in `<data>/users.db` apart from the main
//!   database that users' queries read, or in the PostgreSQL main database when there is
//!   one (so every API process knows them); authentication (`auth`) and per-user rate limits
//!   (`throttle`);
//! - request parameter parsing with Lasair's (DRF's) validation messages (`params`);
//! - the web pages (`pages/`: home, object, filters, watchlists and watchmaps, status,
//!   login), server-rendered HTML with every asset embedded in the binary, the cutouts as
//!   PNG (`cutout_png`), and `/metrics` for Prometheus.
//!
//! It reads what the pipeline writes (the main database, the lightcurve store, the cutout
//! store, the catalogue store) and writes only annotations and users. Blocking SQLite work
//! runs on tokio's blocking threads.
//!
//! Where Solas answers differently from Lasair, on purpose:
//! - `/api/query/` stops a query after `ServeConfig::query_time_limit` (Lasair's REST query
//!   has none), and filters are parsed and whitelisted rather than word-screened, so some
//!   SQL Lasair accepts (comments, subqueries, `LIMIT` in `conditions`) is refused.
//! - `/api/auth-token/` issues a new token on every call (only hashes are stored, so an
//!   existing token cannot be handed out again; a user keeps their ten newest), and failed
//!   calls are limited per account and per client address, together with the login page's.
//! - `/api/object/` sources carry the columns Solas stores (id, time, band, position,
//!   flux, error, reliability), not all of Rubin's `diaSource`; its `latest*` band and
//!   `peak*` (highest flux) fix Lasair's (the discovery band, the lowest flux).
//! - The Sherlock endpoints honour `lite` (the top-ranked match only), which Lasair's
//!   service ignores.
//! - `annotatelist` checks the ownership of every annotation's topic (Lasair checks the
//!   first) and writes none unless all are valid.
//! - An optional `survey=lsst|ztf` parameter chooses the survey per request; one server
//!   answers for both (Lasair runs a site per survey).

mod api;
mod auth;
mod cutout_png;
mod db;
mod error;
mod headers;
mod login_limits;
mod openapi;
mod pages;
mod params;
mod password;
mod server;
mod throttle;
mod tokens;
pub mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use solas_core::Survey;
use solas_store::db::{Db, Target};
use solas_store::{BlobStore, LightcurveStore};

pub use error::WebError;
pub use password::HashError;
pub use server::ConnectionLimits;
pub use tokens::NoRandom;
pub use users::{
    add_user, list_users, new_token, users_target, User, UserClass, UserError, UserStore,
};

/// Requests per hour for each user class (Lasair's `UserClassRateThrottle` rates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub dummy: u32,
    pub user: u32,
    pub power: u32,
    /// Failed password logins (`/login` and `/api/auth-token/` together) per hour from
    /// one address. High by default: behind a reverse proxy all users share an address.
    /// Each account also has its own, lower limit (`login_limits`).
    pub login: u32,
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            dummy: UserClass::Dummy.default_requests_per_hour(),
            user: UserClass::User.default_requests_per_hour(),
            power: UserClass::Power.default_requests_per_hour(),
            login: 1_000,
        }
    }
}

impl Rates {
    pub fn per_hour(&self, class: UserClass) -> u32 {
        match class {
            UserClass::Dummy => self.dummy,
            UserClass::User => self.user,
            UserClass::Power => self.power,
        }
    }
}

/// Text for `GET /metrics` (Prometheus exposition format), produced on every scrape.
pub type MetricsFn = Arc<dyn Fn() -> String + Send + Sync>;

/// How to run the API server.
#[derive(Clone)]
pub struct ServeConfig {
    /// The data directory `solas run` fills (`solas.db`, `lightcurves.db`, `cutouts/`).
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Catalogue store for the Sherlock endpoints (default `<data>/catalogues`). Without
    /// catalogues those endpoints answer with an error, as a Lasair without Sherlock does.
    pub catalogue_dir: Option<PathBuf>,
    /// The SFD dust maps (as `solas run --dust-dir`), for E(B−V) on object pages whose
    /// objects row has none (ZTF's has no such column).
    pub dust_dir: Option<PathBuf>,
    /// The survey requests are about unless they say `survey=ztf|lsst` (Lasair runs one
    /// site per survey; default LSST).
    pub survey: Survey,
    /// How long one `/api/query/` may run before it is stopped.
    pub query_time_limit: Duration,
    /// `/api/query/` calls running at once; beyond this a call is answered 503.
    pub max_running_queries: usize,
    pub rates: Rates,
    /// The site's public base URL (e.g. `https://solas.example.org`), for the cutout links
    /// in `/api/object/` answers and, when it is `https`, `Secure` session cookies. Without
    /// it, links use the address the client connected to (never the `Host` header, which
    /// the client chooses).
    pub public_url: Option<String>,
    /// The Kafka bootstrap address users' consumers reach the filters' topics at, for the
    /// filter pages' consumer snippets.
    pub public_kafka: Option<String>,
    /// Hosts a filter's webhook may post to when made on the site (`https` only); none:
    /// webhook filters are the operator's (`solas filter add --webhook`).
    pub webhook_hosts: Vec<String>,
    /// Timeouts for slow clients and the cap on connections at once.
    pub limits: ConnectionLimits,
    /// What `GET /metrics` answers (the pipeline's counters); without it `/metrics` is 404.
    pub metrics: Option<MetricsFn>,
    /// The main database, when not `<data>/solas.db` (PostgreSQL in a scale-out
    /// deployment; users and tokens are kept there too).
    pub main_db: Option<Target>,
    /// On PostgreSQL, the connection string of the read-only role `/api/query/` runs as
    /// (default: the main database's).
    pub filter_db_url: Option<String>,
    /// The lightcurve store's PostgreSQL connection string, when not
    /// `<data>/lightcurves.db`.
    pub lightcurves_url: Option<String>,
    /// `s3://bucket[/prefix]` when cutouts are in an S3-compatible store, with its options.
    pub cutouts_url: Option<String>,
    pub cutouts_options: Vec<(String, String)>,
    /// An already opened cutout store to use instead of opening one from `cutouts_url`
    /// or `<data>/cutouts` (one shared with a pipeline in the same process, or a test's).
    pub cutouts_store: Option<Arc<dyn BlobStore>>,
}

impl std::fmt::Debug for ServeConfig {
    // Written by hand: the metrics closure has no Debug of its own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("catalogue_dir", &self.catalogue_dir)
            .field("survey", &self.survey)
            .field("query_time_limit", &self.query_time_limit)
            .field("max_running_queries", &self.max_running_queries)
            .field("rates", &self.rates)
            .field("public_url", &self.public_url)
            .field("limits", &self.limits)
            .field("metrics", &self.metrics.as_ref().map(|_| "<fn>"))
            .field("main_db", &self.main_db.as_ref().map(|t| t.to_string()))
            .field("lightcurves_url", &self.lightcurves_url.is_some())
            .field("cutouts_url", &self.cutouts_url)
            .field("cutouts_store", &self.cutouts_store.is_some())
            .finish()
    }
}

impl ServeConfig {
    pub fn new(data_dir: &Path, bind: SocketAddr) -> ServeConfig {
        ServeConfig {
            data_dir: data_dir.to_path_buf(),
            bind,
            catalogue_dir: None,
            dust_dir: None,
            survey: Survey::Lsst,
            query_time_limit: Duration::from_secs(60),
            max_running_queries: 8,
            rates: Rates::default(),
            public_url: None,
            public_kafka: None,
            webhook_hosts: Vec::new(),
            metrics: None,
            main_db: None,
            filter_db_url: None,
            lightcurves_url: None,
            cutouts_url: None,
            cutouts_options: Vec::new(),
            cutouts_store: None,
            limits: ConnectionLimits::default(),
        }
    }

    /// Where the main database is.
    pub fn main_target(&self) -> Target {
        self.main_db
            .clone()
            .unwrap_or_else(|| Target::Sqlite(self.data_dir.join("solas.db")))
    }

    /// Where the lightcurve store is.
    pub(crate) fn lightcurve_target(&self) -> Target {
        match &self.lightcurves_url {
            Some(url) => Target::Postgres(url.clone()),
            None => Target::Sqlite(self.data_dir.join("lightcurves.db")),
        }
    }
}

/// What every request shares.
/// Password checks at once (see [`Shared::password_checks`]).
const PASSWORD_CHECKS: usize = 4;

pub(crate) struct Shared {
    pub(crate) config: ServeConfig,
    pub(crate) users: Mutex<UserStore>,
    pub(crate) throttle: throttle::Throttle,
    /// Failed password logins, per account and per address.
    pub(crate) login_limits: login_limits::LoginLimits,
    /// Password checks running at once. Each hashes for a while on its own database
    /// connection: 100 logins sent together opened 100 PostgreSQL connections (past the
    /// server's limit) and kept both cores busy; the rest wait their turn.
    pub(crate) password_checks: tokio::sync::Semaphore,
    /// Connections to the main database.
    pub(crate) main: db::Pool<Db>,
    pub(crate) lightcurves: db::Pool<Box<dyn LightcurveStore>>,
    pub(crate) cutouts: Arc<dyn BlobStore>,
    pub(crate) sherlock: Option<api::sherlock::Catalogues>,
    pub(crate) dust: Option<solas_features::dust::DustMap>,
    pub(crate) running_queries: AtomicUsize,
    /// The last few event skymaps parsed, by file: an event page and its two pictures
    /// each need the map, and one parse takes ~0.3 s.
    pub(crate) skymaps: pages::events::SkymapCache,
}

impl Shared {
    pub(crate) fn token_user(&self, token: &str) -> Result<Option<User>, error::ApiError> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        Ok(users.token_user(token)?)
    }
}

/// The server's state: opened stores and the shared limits. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

impl AppState {
    /// Open (creating where missing) the stores of `config.data_dir` and the users file,
    /// and load the catalogues, if any.
    pub fn open(config: ServeConfig) -> Result<AppState, WebError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| WebError::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        // Opening applies the schema migrations, so every table the API reads exists even
        // before the first `solas run`.
        let target = config.main_target();
        drop(solas_store::main_db::connect(&target)?);
        let main = db::Pool::new(16, move || Db::open(&target));
        let (lightcurves_url, lightcurves_path) = (
            config.lightcurves_url.clone(),
            config.data_dir.join("lightcurves.db"),
        );
        let open_lightcurves =
            move || solas_store::open_lightcurves(lightcurves_url.as_deref(), &lightcurves_path);
        drop(open_lightcurves()?);
        let lightcurves = db::Pool::new(8, open_lightcurves);
        let cutouts = match &config.cutouts_store {
            Some(store) => store.clone(),
            None => solas_store::blob::open(
                config.cutouts_url.as_deref(),
                &config.cutouts_options,
                &config.data_dir.join("cutouts"),
            )?,
        };
        let users = UserStore::connect(&users::users_target(
            &config.data_dir,
            config.main_db.as_ref(),
        ))?;
        let catalogue_dir = config
            .catalogue_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("catalogues"));
        let sherlock = api::sherlock::Catalogues::open(&catalogue_dir)?;
        let dust = match &config.dust_dir {
            Some(dir) => Some(
                solas_features::dust::DustMap::open(dir)
                    .map_err(|e| WebError::Dust(format!("{}: {e}", dir.display())))?,
            ),
            None => None,
        };
        match &sherlock {
            Some(c) => log::info!(
                "Sherlock endpoints answer from {} catalogues in {}",
                c.count(),
                catalogue_dir.display()
            ),
            None => log::info!(
                "no catalogues in {}: the Sherlock endpoints will answer with an error",
                catalogue_dir.display()
            ),
        }
        Ok(AppState {
            shared: Arc::new(Shared {
                config,
                users: Mutex::new(users),
                throttle: throttle::Throttle::new(Duration::from_secs(3600)),
                login_limits: login_limits::LoginLimits::new(),
                password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
                main,
                lightcurves,
                cutouts,
                sherlock,
                dust,
                running_queries: AtomicUsize::new(0),
                skymaps: Default::default(),
            }),
        })
    }
}

/// The API's and the web pages' routes over `state`, for serving or for calling directly
/// in tests.
impl AppState {
    /// The `/api/object/` answer for one object (a Rubin diaObjectId or a ZTF name), full
    /// and with Lasair's additions, `featuresAsOf` with `as_of`: what `solas object`
    /// prints. Call it outside an async runtime (it blocks on the stores).
    pub fn object_answer(
        &self,
        survey: solas_core::Survey,
        id: &str,
        as_of: Option<f64>,
    ) -> Result<serde_json::Value, String> {
        api::object::answer_for(&self.shared, survey, id, as_of)
    }
}

pub fn router(state: AppState) -> axum::Router {
    api::routes()
        .merge(pages::routes())
        .fallback(pages::error::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::error::styled,
        ))
        .layer(axum::middleware::map_response(headers::add))
        .with_state(state)
}

/// Serve the API on `config.bind` until `shutdown` completes (e.g.
/// `async { tokio::signal::ctrl_c().await.ok(); }`), then finish the requests in flight.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let bind = config.bind;
    let state = tokio::task::spawn_blocking(move || AppState::open(config))
        .await
        .map_err(|_| WebError::Panicked)??;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| WebError::Bind { addr: bind, source })?;
    serve_on(listener, state, shutdown).await
}

/// Serve the API on an already bound listener.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    if let Ok(addr) = listener.local_addr() {
        log::info!("web pages on http://{addr}/, REST API on http://{addr}/api/");
    }
    let limits = state.shared.config.limits;
    server::run(listener, router(state), limits, shutdown).await
}

/// A wake-up that a plain thread can trigger and an async server can wait for, without
/// pulling in tokio's `sync` feature.
#[derive(Default)]
struct StopSignal {
    stopped: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl StopSignal {
    fn trigger(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            w.wake();
        }
    }

    fn wait(self: Arc<Self>) -> impl Future<Output = ()> + Send + 'static {
        std::future::poll_fn(move |cx| {
            if self.stopped.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            // Checked again: a trigger between the first check and storing the waker
            // would otherwise be missed.
            if self.stopped.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A server running on its own thread (with its own tokio runtime), for callers that are
/// not async themselves: `solas serve`, `solas run --serve`, tests.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<StopSignal>,
    thread: Option<std::thread::JoinHandle<Result<(), WebError>>>,
}

impl ServerHandle {
    /// Where it listens (the real port when `bind` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, finish the requests in flight, and wait for the thread.
    pub fn stop(mut self) -> Result<(), WebError> {
        self.stop.trigger();
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| WebError::Panicked)?,
            None => Ok(()),
        }
    }

    /// Wait until the server ends (it ends by itself only on an error).
    pub fn join(mut self) -> Result<(), WebError> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| WebError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.trigger();
    }
}

/// Open the stores, bind `config.bind`, and serve on a new thread. Errors in opening or
/// binding are returned here, before the thread starts.
pub fn spawn(config: ServeConfig) -> Result<ServerHandle, WebError> {
    let bind = config.bind;
    let state = AppState::open(config)?;
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|source| WebError::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| WebError::Bind { addr: bind, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| WebError::Bind { addr, source })?;
    let stop = Arc::new(StopSignal::default());
    let signal = stop.clone();
    let thread = std::thread::Builder::new()
        .name("solas-web".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("solas-web-worker")
                .enable_all()
                .build()
                .map_err(WebError::Serve)?;
            // The last reference to the stores is dropped here, outside the runtime: some
            // close by blocking (the S3 store's runtime, PostgreSQL clients), which tokio
            // forbids inside one (`solas run --serve` panicked on shutdown).
            let keep = state.shared.clone();
            let result = runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(WebError::Serve)?;
                serve_on(listener, state, signal.wait()).await
            });
            drop(runtime);
            drop(keep);
            result
        })
        .map_err(WebError::Serve)?;
    Ok(ServerHandle {
        addr,
        stop,
        thread: Some(thread),
    })
}
