//! `solas ledger`: the completeness ledger. Without a night, one line per night (newest
//! first); with one, its visits where alerts were lost (or every visit with `--all`), the
//! sources later alerts' histories show whose own alerts never came, and the sky covered.

use anyhow::Context;
use clap::Args;
use solas_core::Survey;
use solas_store::main_db::ledger::{self, Night, Step, VisitRow};

use super::filter::{DataArg, SurveyArg};

#[derive(Args, Debug)]
pub struct LedgerArgs {
    /// The night (YYYYMMDD, the date the night began at the site); default: every night.
    #[arg(long)]
    night: Option<i64>,
    #[arg(long, value_enum)]
    survey: Option<SurveyArg>,
    /// Every visit of the night, not only those where alerts were lost.
    #[arg(long)]
    all: bool,
    /// Print JSON (what `/api/ledger/` answers).
    #[arg(long)]
    json: bool,
    /// Write the night's sky (a MOC, FITS) to this file (needs --night and --survey).
    #[arg(long, value_name = "FILE", requires_all = ["night", "survey"])]
    moc: Option<std::path::PathBuf>,
    #[command(flatten)]
    data: DataArg,
    /// The lightcurves in PostgreSQL, as the workers were given them (default:
    /// <data>/lightcurves.db): late alerts are looked up there.
    #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
    lightcurves_db: Option<String>,
}

pub fn ledger(args: LedgerArgs) -> anyhow::Result<()> {
    let main = args.data.main_target();
    let mut db = solas_store::main_db::connect(&main)
        .with_context(|| format!("opening the main database {main}"))?;
    let mut lightcurves = solas_store::open_lightcurves(
        args.lightcurves_db.as_deref(),
        &args.data.data.join("lightcurves.db"),
    )
    .context("opening the lightcurves")?;
    let wanted = args.survey.map(|s| match s {
        SurveyArg::Lsst => Survey::Lsst,
        SurveyArg::Ztf => Survey::Ztf,
    });
    // The sky of one night needs no pruning of late alerts nor the night's visits.
    if let (Some(path), Some(survey), Some(night)) = (&args.moc, wanted, args.night) {
        if !ledger::nights(&mut db)?.contains(&(survey, night)) {
            println!("the ledger has no such night yet");
            return Ok(());
        }
        let fits = ledger::sky_fits(&mut db, survey, night)?
            .with_context(|| format!("no sky recorded for night {night}"))?;
        std::fs::write(path, fits).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{}: the sky of night {night} ({})",
            path.display(),
            survey.as_str()
        );
        return Ok(());
    }
    let all = ledger::recent_nights(
        &mut db,
        lightcurves.as_mut(),
        wanted,
        args.night,
        usize::MAX,
    )?;
    if all.is_empty() {
        println!("the ledger has no such night yet");
        return Ok(());
    }
    if args.json {
        let docs: Vec<serde_json::Value> = all
            .iter()
            .map(solas_store::main_db::ledger::to_json)
            .collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    if args.night.is_none() {
        println!(
            "{:<10} {:<5} {:>7} {:>9} {:>9} {:>10} {:>9} {:>9} {:>6} {:>8} {:>9}",
            "night",
            "",
            "visits",
            "decoded",
            "stored",
            "classified",
            "filtered",
            "delivered",
            "short",
            "missing",
            "sky deg²"
        );
        for n in &all {
            let total = |s| dash(n.total_of(s));
            println!(
                "{:<10} {:<5} {:>7} {:>9} {:>9} {:>10} {:>9} {:>9} {:>6} {:>8} {:>9}",
                n.night,
                n.survey.as_str(),
                n.visits.len(),
                total(Step::Decoded),
                total(Step::Stored),
                total(Step::Classified),
                total(Step::Filtered),
                total(Step::Delivered),
                n.short_visits().len(),
                n.missing_count(),
                n.sky_deg2.map_or("–".into(), |a| format!("{a:.1}")),
            );
        }
        println!("(–: no worker ran that stage; short: visits where alerts were lost; `--night N` for its visits)");
        return Ok(());
    }
    for n in &all {
        print_night(n, args.all);
    }
    Ok(())
}

/// A stage's count, or "–" when no worker ran it that night.
fn dash(count: Option<i64>) -> String {
    count.map_or("–".into(), |n| n.to_string())
}

fn print_night(n: &Night, all: bool) {
    println!(
        "night {} ({}): {} visits, {} alerts decoded; sky {}",
        n.night,
        n.survey.as_str(),
        n.visits.len(),
        n.total(Step::Decoded),
        n.sky_deg2
            .map_or("not recorded".into(), |a| format!("{a:.1} deg²"))
    );
    let short = n.short_visits();
    let rows: Vec<&VisitRow> = if all {
        n.visits.iter().collect()
    } else {
        short.clone()
    };
    if short.is_empty() {
        println!("no visit lost an alert");
    } else {
        println!("{} visit(s) lost alerts", short.len());
    }
    if !rows.is_empty() {
        println!(
            "{:>16} {:>12} {:>8} {:>7} {:>10} {:>8} {:>9}  missing (source ids)",
            "visit", "MJD", "decoded", "stored", "classified", "filtered", "delivered"
        );
    }
    for v in rows {
        println!(
            "{:>16} {:>12} {:>8} {:>7} {:>10} {:>8} {:>9}  {}",
            v.key.visit,
            v.mjd.map_or("–".into(), |m| format!("{m:.5}")),
            dash(n.count_of(v, Step::Decoded)),
            dash(n.count_of(v, Step::Stored)),
            dash(n.count_of(v, Step::Classified)),
            dash(n.count_of(v, Step::Filtered)),
            dash(n.count_of(v, Step::Delivered)),
            ledger::id_list(&v.missing, 10),
        );
    }
    for (mjd, sources) in &n.unreceived {
        println!(
            "exposure at MJD {mjd:.5}: no alert received; {} source(s) known from later alerts' histories: {}",
            sources.len(),
            ledger::id_list(sources, 10)
        );
    }
}
