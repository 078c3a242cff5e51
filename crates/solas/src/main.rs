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
    /// Write a stored cutout out as a FITS file.
    Cutout(commands::inspect::CutoutArgs),
    /// Manage the catalogues used for context classification (add, list, remove).
    Catalogue(commands::catalogue::CatalogueArgs),
    /// Context-classify a sky position against the loaded catalogues (SN, NT, AGN, CV, VS, BS, ORPHAN, UNCLEAR).
    Sherlock(commands::catalogue::SherlockArgs),
    /// User filters (Lasair's SELECT / tables / WHERE): check one and see the SQL it becomes.
    Filter(commands::filter::FilterArgs),
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Decode(args) => commands::inspect::decode(args),
        Command::Object(args) => commands::inspect::object(args),
        Command::Cutout(args) => commands::inspect::cutout(args),
        Command::Catalogue(args) => commands::catalogue::catalogue(args),
        Command::Sherlock(args) => commands::catalogue::sherlock(args),
        Command::Filter(args) => commands::filter::filter(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
