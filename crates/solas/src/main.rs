//! `solas`: one binary, one subcommand per job. `solas run` is the embedded default: the
//! whole pipeline in one process over SQLite and local files.

mod commands;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "solas",
    version,
    about = "Solas: an alert broker for the Rubin/LSST and ZTF alert streams.",
    long_about = "Solas: an alert broker for the Rubin/LSST and ZTF alert streams.\n\n\
    It ingests Avro alerts (ZTF container files, Rubin Confluent wire format or container files), \
    stores cutouts and lightcurves, computes Lasair's object features and keeps them in a database \
    that filters query. `solas run` does all of it on one machine with no servers to install."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline (ingest → features → database) on alert files or a Kafka topic.
    Run(commands::run::RunArgs),
    /// Measure decode-only and end-to-end throughput, latency and peak memory.
    Bench(commands::bench::BenchArgs),
    /// Decode alert files and print them as JSON (cutouts shown by size only).
    Decode(commands::inspect::DecodeArgs),
    /// Show a stored object: its objects row and lightcurve, as JSON.
    Object(commands::inspect::ObjectArgs),
    /// Export every field of chosen objects' sources (CSV, JSON lines, VOTable, Parquet).
    Export(commands::export::ExportArgs),
    /// Write a stored cutout out as a FITS file.
    Cutout(commands::inspect::CutoutArgs),
    /// Manage the catalogues used for context classification (add, list, remove).
    Catalogue(commands::catalogue::CatalogueArgs),
    /// Context-classify a sky position against the loaded catalogues (SN, NT, AGN, CV, VS, BS, ORPHAN, UNCLEAR).
    Sherlock(commands::catalogue::SherlockArgs),
    /// User filters (Lasair's SELECT / tables / WHERE): check one and see the SQL it becomes.
    Filter(commands::filter::FilterArgs),
    /// Register and list annotator topics.
    Annotator(commands::annotate::AnnotatorArgs),
    /// Annotate an object (replaces the topic's earlier annotation; re-runs filters naming it).
    Annotate(commands::annotate::AnnotateArgs),
    /// Send today's email digests of filters with email output.
    Digest(commands::digest::DigestArgs),
    /// Watchlists: upload a CSV of cones, list, remove (matched live and against stored objects).
    Watchlist(commands::watch::WatchlistArgs),
    /// Watchmaps: upload a MOC (FITS, ASCII or JSON), list, remove.
    Watchmap(commands::watch::WatchmapArgs),
    /// Import the TNS public-objects CSV and crossmatch known transients.
    Tns(commands::watch::TnsArgs),
    /// Gravitational-wave (multi-messenger) events: import a skymap, list.
    Event(commands::watch::EventArgs),
    /// GCN notices (GRBs, X-ray and neutrino alerts, LVK): follow them on Kafka or add
    /// them from files, as events that tag objects.
    Gcn(commands::gcn::GcnArgs),
    /// The completeness ledger: per night and visit, the alerts each stage got through,
    /// the sources later alerts show whose own alerts never came, the sky covered.
    Ledger(commands::ledger::LedgerArgs),
    /// Mining: a filter's objects fanned out over Kafka to workers that run your program on
    /// each lightcurve; the answers kept per run.
    Mine(commands::mine::MineArgs),
    /// Serve the REST API (the `lasair` Python client works against it unchanged).
    Serve(commands::web::ServeArgs),
    /// API users and their tokens: add, token, list.
    User(commands::web::UserArgs),
    /// Scale-out ingest worker: decode and store alerts from Kafka, publish them for `process`.
    Ingest(commands::run::IngestArgs),
    /// Scale-out context worker: classify published alerts and publish them on.
    Context(commands::run::ContextArgs),
    /// Scale-out worker for what follows ingest: context, features, matching, filters, delivery.
    Process(commands::run::ProcessArgs),
    /// Publish alert files to a Kafka topic in the surveys' own framings, at a chosen rate.
    Replay(commands::replay::ReplayArgs),
    /// The databases: `migrate` creates or updates every table before workers start.
    Db(commands::db::DbArgs),
}

/// Warnings and errors, plus what a Kafka worker joined: its backends at the start, and
/// each partition assignment and revocation (RUST_LOG overrides).
const LOG_DEFAULT: &str = "warn,solas_pipeline::runner=info,solas_pipeline::source::kafka=info";

/// A command that prints and exits ends quietly when its reader goes away (`solas ledger |
/// head`), as Unix tools do: Rust ignores SIGPIPE, so `println!` panicked on the closed pipe.
/// Only such commands: the workers and the server keep ignoring it, since a peer closing a
/// socket is an error they handle.
fn quiet_on_closed_pipe() {
    // SAFETY: before any thread is started, this process's SIGPIPE disposition goes back to
    // the default; no handler (no Rust code) runs on the signal.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(LOG_DEFAULT)).init();
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Decode(_) | Command::Object(_) | Command::Export(_) | Command::Ledger(_)
    ) {
        quiet_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Decode(args) => commands::inspect::decode(args),
        Command::Object(args) => commands::inspect::object(args),
        Command::Cutout(args) => commands::inspect::cutout(args),
        Command::Export(args) => commands::export::export(args),
        Command::Catalogue(args) => commands::catalogue::catalogue(args),
        Command::Sherlock(args) => commands::catalogue::sherlock(args),
        Command::Filter(args) => commands::filter::filter(args),
        Command::Annotator(args) => commands::annotate::annotator(args),
        Command::Annotate(args) => commands::annotate::annotate(args),
        Command::Digest(args) => commands::digest::digest(args),
        Command::Watchlist(args) => commands::watch::watchlist(args),
        Command::Watchmap(args) => commands::watch::watchmap(args),
        Command::Tns(args) => commands::watch::tns(args),
        Command::Event(args) => commands::watch::event(args),
        Command::Gcn(args) => commands::gcn::gcn(args),
        Command::Replay(args) => commands::replay::replay(args),
        Command::Ledger(args) => commands::ledger::ledger(args),
        Command::Mine(args) => commands::mine::mine(args),
        Command::Ingest(args) => commands::run::ingest(args),
        Command::Serve(args) => commands::web::serve(args),
        Command::User(args) => commands::web::user(args),
        Command::Process(args) => commands::run::process(args),
        Command::Context(args) => commands::run::context(args),
        Command::Db(args) => commands::db::db(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
