//! `solas watchlist`, `solas watchmap`, `solas tns` and `solas event`: what users watch.
//! Each upload is checked whole before anything is stored (a bad line or a bad MOC stores
//! nothing), is live for new alerts within seconds of being saved, and is matched at once
//! against every object already stored.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use solas_pipeline::filter::watch::retro_match_on;
use solas_store::main_db::watch::{NewWatchlist, WatchStore};

use super::filter::DataArg;

#[derive(Args, Debug)]
pub struct WatchlistArgs {
    #[command(subcommand)]
    pub action: WatchlistAction,
}

#[derive(Subcommand, Debug)]
pub enum WatchlistAction {
    /// Upload a watchlist CSV: `ra, dec, name[, radius]` per line (degrees; radius in arcsec).
    Add {
        #[command(flatten)]
        upload: Upload,
        /// Radius for lines without one, arcsec.
        #[arg(long, default_value_t = 3.0)]
        radius: f64,
        /// Magnitude trigger: a cone fires again for an object only when its magnitude
        /// moved by at least this much since the cone last fired (default: every alert).
        #[arg(long, value_name = "MAG")]
        mag_change: Option<f64>,
    },
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a watchlist with its cones and hits (as its owner).
    Remove(Removal),
}

/// What an uploaded watchlist or watchmap is called and whose it is.
#[derive(Args, Debug)]
pub struct Upload {
    file: PathBuf,
    #[arg(long)]
    name: String,
    #[arg(long, default_value_t = 0)]
    owner: i64,
    #[arg(long, default_value = "")]
    description: String,
    #[arg(long)]
    public: bool,
    #[command(flatten)]
    data: DataArg,
}

/// Which watchlist or watchmap to remove, asked by its owner.
#[derive(Args, Debug)]
pub struct Removal {
    id: i64,
    #[arg(long, default_value_t = 0)]
    owner: i64,
    #[command(flatten)]
    data: DataArg,
}

#[derive(Args, Debug)]
pub struct WatchmapArgs {
    #[command(subcommand)]
    pub action: WatchmapAction,
}

#[derive(Subcommand, Debug)]
pub enum WatchmapAction {
    /// Upload a MOC: FITS (MOC 1.x NUNIQ or 2.0 RANGE, gzipped or not), ASCII or JSON.
    Add(Upload),
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a watchmap with its hits (as its owner).
    Remove(Removal),
}

#[derive(Args, Debug)]
pub struct TnsArgs {
    #[command(subcommand)]
    pub action: TnsAction,
}

#[derive(Subcommand, Debug)]
pub enum TnsAction {
    /// Import the TNS public-objects CSV (full export or an incremental update).
    Import {
        file: PathBuf,
        /// Match radius, arcsec.
        #[arg(long, default_value_t = solas_watch::tns::DEFAULT_TNS_RADIUS_ARCSEC)]
        radius: f64,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Args, Debug)]
pub struct EventArgs {
    #[command(subcommand)]
    pub action: EventAction,
}

#[derive(Subcommand, Debug)]
pub enum EventAction {
    /// Import a skymap (LVK multi-order or flat HEALPix FITS, gzipped or not) as an event.
    Add {
        file: PathBuf,
        /// Event name (default: the skymap's OBJECT).
        #[arg(long)]
        name: Option<String>,
        /// Event time, MJD (default: the skymap's MJD-OBS).
        #[arg(long)]
        mjd: Option<f64>,
        /// Objects detected this many days after the event are tagged.
        #[arg(long, default_value_t = 14.0)]
        window_days: f64,
        #[command(flatten)]
        data: DataArg,
    },
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

pub(crate) fn open(data: &DataArg) -> anyhow::Result<WatchStore> {
    Ok(WatchStore::connect(&data.main_target())?)
}

pub(crate) fn report_retro(data: &DataArg) -> anyhow::Result<()> {
    let hits = retro_match_on(&data.main_target(), &data.data)?;
    println!(
        "matched against stored objects: {} cone hits, {} watchmap hits, {} event hits",
        hits.cones.len(),
        hits.areas.len(),
        hits.mma.len()
    );
    Ok(())
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

pub fn watchlist(args: WatchlistArgs) -> anyhow::Result<()> {
    match args.action {
        WatchlistAction::Add {
            upload:
                Upload {
                    file,
                    name,
                    owner,
                    description,
                    public,
                    data,
                },
            radius,
            mag_change,
        } => {
            let text = String::from_utf8(read(&file)?)
                .with_context(|| format!("{} is not UTF-8 text", file.display()))?;
            let cones = solas_watch::parse_csv(&text, radius).map_err(|e| {
                let mut msg = format!("{}: {e}", file.display());
                if e.errors.len() > 10 {
                    msg.push_str(&format!(" ({} bad lines in all)", e.errors.len()));
                }
                anyhow::anyhow!(msg)
            })?;
            if cones.is_empty() {
                bail!("{}: no cones", file.display());
            }
            let id = open(&data)?.add_watchlist(
                &NewWatchlist {
                    owner,
                    name: &name,
                    description: &description,
                    public,
                    radius_arcsec: radius,
                    mag_change,
                },
                &cones,
            )?;
            match mag_change {
                Some(m) => println!(
                    "watchlist {id} ({name}): {} cones stored; a cone fires again when the magnitude moves by {m} or more",
                    cones.len()
                ),
                None => println!("watchlist {id} ({name}): {} cones stored", cones.len()),
            }
            report_retro(&data)
        }
        WatchlistAction::List { data } => {
            for w in open(&data)?.watchlists()? {
                let trigger = w
                    .mag_change
                    .map(|m| format!("  fires on Δmag ≥ {m}"))
                    .unwrap_or_default();
                println!(
                    "{:>4}  {:<24} owner {:<4} {:<7} {:>9} cones  {:>7} hits  radius {}″{trigger}",
                    w.wl_id,
                    w.name,
                    w.owner,
                    if w.public { "public" } else { "private" },
                    w.cones,
                    w.hits,
                    w.radius
                );
            }
            Ok(())
        }
        WatchlistAction::Remove(Removal { id, owner, data }) => {
            open(&data)?.remove_watchlist(id, owner)?;
            println!("watchlist {id} removed");
            Ok(())
        }
    }
}

pub fn watchmap(args: WatchmapArgs) -> anyhow::Result<()> {
    match args.action {
        WatchmapAction::Add(Upload {
            file,
            name,
            owner,
            description,
            public,
            data,
        }) => {
            let bytes = read(&file)?;
            let moc = solas_watch::parse_moc(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: not a usable MOC: {e}", file.display()))?;
            if moc.is_empty() {
                bail!("{}: the MOC covers no sky", file.display());
            }
            let area = moc.area_deg2();
            // Stored as FITS whatever the upload was, so the matcher reads one format.
            let id = open(&data)?.add_watchmap(
                owner,
                &name,
                &description,
                public,
                &moc.to_fits(),
                area,
            )?;
            println!("watchmap {id} ({name}): {area:.2} deg² stored");
            report_retro(&data)
        }
        WatchmapAction::List { data } => {
            for m in open(&data)?.watchmaps()? {
                println!(
                    "{:>4}  {:<24} owner {:<4} {:<7} {:>10.2} deg²  {:>7} hits",
                    m.ar_id,
                    m.name,
                    m.owner,
                    if m.public { "public" } else { "private" },
                    m.area_deg2.unwrap_or(f64::NAN),
                    m.hits
                );
            }
            Ok(())
        }
        WatchmapAction::Remove(Removal { id, owner, data }) => {
            open(&data)?.remove_watchmap(id, owner)?;
            println!("watchmap {id} removed");
            Ok(())
        }
    }
}

pub fn tns(args: TnsArgs) -> anyhow::Result<()> {
    match args.action {
        TnsAction::Import { file, radius, data } => {
            anyhow::ensure!(
                radius.is_finite() && radius > 0.0 && radius <= 60.0,
                "--radius must be in (0, 60] arcsec"
            );
            let text = String::from_utf8(read(&file)?)
                .with_context(|| format!("{} is not UTF-8 text", file.display()))?;
            let parsed = solas_watch::parse_tns_csv(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            for bad in parsed.bad_rows.iter().take(20) {
                eprintln!("{}: line {}: {}", file.display(), bad.line, bad.reason);
            }
            // Bad rows alone are a bad file, not an empty update: store nothing, and fail.
            anyhow::ensure!(
                !parsed.rows.is_empty() || parsed.bad_rows.is_empty(),
                "{}: no good row, {} bad rows; nothing imported",
                file.display(),
                parsed.bad_rows.len()
            );
            let id = open(&data)?.import_tns(&parsed.rows, radius)?;
            println!(
                "TNS{}: {} rows imported, {} bad rows skipped (watchlist {id})",
                parsed
                    .snapshot_date
                    .map(|d| format!(" snapshot {d}"))
                    .unwrap_or_default(),
                parsed.rows.len(),
                parsed.bad_rows.len()
            );
            report_retro(&data)
        }
    }
}

pub fn event(args: EventArgs) -> anyhow::Result<()> {
    match args.action {
        EventAction::Add {
            file,
            name,
            mjd,
            window_days,
            data,
        } => {
            anyhow::ensure!(
                window_days.is_finite() && window_days > 0.0,
                "--window-days must be positive"
            );
            let bytes = read(&file)?;
            let map = solas_watch::Skymap::from_fits(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: not a usable skymap: {e}", file.display()))?;
            let name = name
                .or_else(|| map.meta().object.clone())
                .context("the skymap has no OBJECT: give --name")?;
            let event_mjd = mjd
                .or(map.meta().mjd_obs)
                .context("the skymap has no MJD-OBS: give --mjd")?;
            let mut store = open(&data)?;
            let (event, _) =
                store.save_event(&data.data, &name, event_mjd, window_days, &bytes, &map)?;
            println!(
                "event {} ({name}) at MJD {event_mjd:.5}: 10/50/90% regions {:.1} / {:.1} / {:.1} deg²",
                event.mw_id, event.area10, event.area50, event.area90
            );
            report_retro(&data)
        }
        EventAction::List { data } => {
            for e in open(&data)?.events()? {
                println!(
                    "{:>4}  {:<20} MJD {:.5}  window {} d  90% {:.1} deg²  {}",
                    e.mw_id, e.name, e.event_mjd, e.window_days, e.area90, e.skymap_path
                );
            }
            Ok(())
        }
    }
}
