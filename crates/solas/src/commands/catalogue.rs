//! `solas catalogue` (load, list, remove catalogues) and `solas sherlock` (classify a
//! position against them).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use solas_catalogue::Store;

#[derive(Args, Debug)]
pub struct CatalogueArgs {
    #[command(subcommand)]
    pub action: CatalogueAction,
    /// Catalogue store (default: <data>/catalogues).
    #[arg(long, global = true, env = "SOLAS_CATALOGUES")]
    pub catalogues: Option<PathBuf>,
    /// Data directory whose catalogues/ to use.
    #[arg(long, global = true, default_value = "./solas-data")]
    pub data: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum CatalogueAction {
    /// Load catalogues described by TOML files (see catalogues/*.toml), replacing any of the same name.
    /// Any size: rows are sorted on disk in bounded memory, with progress every few seconds; a
    /// load that was killed resumes when the same command is run again.
    Add {
        #[arg(required = true)]
        descriptions: Vec<PathBuf>,
        /// Memory the load may use for sorting, MB (rows held before going to disk, and
        /// the largest bucket sorted at once).
        #[arg(long, default_value_t = 1024)]
        memory_mb: u64,
        /// Input rows between two checkpoints a killed load resumes from.
        #[arg(long, default_value_t = 10_000_000)]
        checkpoint_rows: u64,
    },
    /// List the loaded catalogues.
    List,
    /// Remove a catalogue by name.
    Remove { name: String },
}

fn store_dir(catalogues: &Option<PathBuf>, data: &std::path::Path) -> PathBuf {
    catalogues
        .clone()
        .unwrap_or_else(|| data.join("catalogues"))
}

pub fn catalogue(args: CatalogueArgs) -> anyhow::Result<()> {
    let dir = store_dir(&args.catalogues, &args.data);
    let mut store = Store::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
    match args.action {
        CatalogueAction::Add {
            descriptions,
            memory_mb,
            checkpoint_rows,
        } => {
            let mut failed = 0;
            for path in descriptions {
                // Sort keys take about as much again as the rows: a bucket gets 3/4 of
                // the budget in all, the rows held before spilling a quarter.
                let bytes = memory_mb.max(1) << 20;
                let options = solas_catalogue::store::AddOptions {
                    progress: Box::new(|p| eprintln!("  {p}")),
                    limits: solas_catalogue::store::Limits {
                        bucket_bytes: bytes * 3 / 8,
                        in_memory_bytes: bytes / 4,
                        checkpoint_rows: checkpoint_rows.max(1),
                        ..Default::default()
                    },
                };
                match store.add_with(&path, options) {
                    Ok(report) => println!("{}: {report}", path.display()),
                    Err(e) => {
                        eprintln!("{}: {e}", path.display());
                        failed += 1;
                    }
                }
            }
            anyhow::ensure!(failed == 0, "{failed} catalogues could not be loaded");
        }
        CatalogueAction::List => {
            for (i, d) in store.catalogues().iter().enumerate() {
                println!(
                    "{:<16} {:?}, {} rows  {}",
                    d.name,
                    d.kind,
                    store.row_count(i),
                    d.description.as_deref().unwrap_or("")
                );
                if let Some(url) = &d.url {
                    println!("{:<16} from {url}", "");
                }
                if let Some(licence) = &d.licence {
                    println!("{:<16} licence: {licence}", "");
                }
            }
            println!("version {}", store.version());
        }
        CatalogueAction::Remove { name } => {
            anyhow::ensure!(store.remove(&name)?, "no catalogue named {name:?}");
            println!("removed {name}");
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct SherlockArgs {
    /// Right ascension, degrees.
    #[arg(long, allow_hyphen_values = true)]
    pub ra: f64,
    /// Declination, degrees.
    #[arg(long, allow_hyphen_values = true)]
    pub dec: f64,
    /// Print the whole answer as JSON (Lasair's sherlock_classifications columns).
    #[arg(long)]
    pub json: bool,
    /// When (MJD): stars with proper motions are matched where they were then (default:
    /// today).
    #[arg(long)]
    pub mjd: Option<f64>,
    /// Catalogue store (default: <data>/catalogues).
    #[arg(long, env = "SOLAS_CATALOGUES")]
    pub catalogues: Option<PathBuf>,
    #[arg(long, default_value = "./solas-data")]
    pub data: PathBuf,
}

pub fn sherlock(args: SherlockArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..360.0).contains(&args.ra) && (-90.0..=90.0).contains(&args.dec),
        "position out of range: RA must be in [0, 360), Dec in [-90, 90]"
    );
    let dir = store_dir(&args.catalogues, &args.data);
    let store = Store::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
    anyhow::ensure!(
        !store.catalogues().is_empty(),
        "no catalogues in {}: load some with `solas catalogue add catalogues/*.toml`",
        dir.display()
    );
    // Every match, ranked, as Lasair's Sherlock API gives them.
    let epoch = args
        .mjd
        .or_else(solas_context::today_mjd)
        .map(solas_context::julian_year);
    let answer = solas_context::classify_at(&store, args.ra, args.dec, epoch);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer.to_json())?);
    } else {
        println!("{}: {}", answer.classification.as_str(), answer.description);
    }
    Ok(())
}
