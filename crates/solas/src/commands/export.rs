//! `solas export`: every field of the sources of chosen objects, as CSV, JSON lines,
//! VOTable or Parquet (solas_export), streamed to a file or standard output.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use solas_core::Survey;
use solas_export::select::{self, ObjectFilter};
use solas_export::{Export, Format, Selection, SourceKind};

use super::filter::{DataArg, SurveyArg};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    /// Detections: Rubin diaSource, ZTF candidate / prv_candidate.
    Sources,
    /// Forced photometry: Rubin diaForcedSource, ZTF fp_hists.
    Forced,
    /// Non-detections: Rubin diaNondetectionLimit, ZTF upper-limit prv_candidate.
    Nondetections,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
    Votable,
    Parquet,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The survey (from the objects' names when they are given).
    #[arg(long, value_enum)]
    pub survey: Option<SurveyArg>,
    /// An object to export (a Rubin diaObjectId or a ZTF name); repeat for more.
    #[arg(long = "object", value_name = "ID")]
    pub objects: Vec<String>,
    /// The objects in a cone: RA,Dec in degrees and the radius in arcsec.
    #[arg(long, value_name = "RA,DEC,RADIUS", allow_hyphen_values = true)]
    pub cone: Option<String>,
    /// The objects a filter picks: its tables (e.g. `objects, sherlock_classifications`)...
    #[arg(long)]
    pub tables: Option<String>,
    /// ...and its conditions (a WHERE clause, as in `solas filter check`).
    #[arg(long, requires = "tables")]
    pub conditions: Option<String>,
    /// Sources observed at or after this MJD (TAI for Rubin, UTC for ZTF).
    #[arg(long, value_name = "MJD")]
    pub since: Option<f64>,
    /// Sources observed before this MJD.
    #[arg(long, value_name = "MJD")]
    pub until: Option<f64>,
    /// Which sources.
    #[arg(long, value_enum, default_value = "sources")]
    pub kind: KindArg,
    /// The file format (default: from the output's extension, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// The file to write (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Objects a filter may pick at most.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_objects: u64,
    #[command(flatten)]
    pub data: DataArg,
    /// The lightcurves in PostgreSQL, as the workers were given them (default:
    /// <data>/lightcurves.db).
    #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
    pub lightcurves_db: Option<String>,
}

pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let survey = match (args.survey, args.objects.first()) {
        (Some(SurveyArg::Ztf), _) => Survey::Ztf,
        (Some(SurveyArg::Lsst), _) => Survey::Lsst,
        (None, Some(name)) if name.trim().starts_with("ZTF") => Survey::Ztf,
        (None, _) => Survey::Lsst,
    };
    let chosen = [
        !args.objects.is_empty(),
        args.cone.is_some(),
        args.tables.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() > 1 {
        bail!("choose objects one way: --object, --cone or --tables/--conditions");
    }
    if !chosen.contains(&true) && args.since.is_none() && args.until.is_none() {
        bail!("choose what to export: --object, --cone, --tables/--conditions, or a time range (--since/--until)");
    }
    let main = args.data.main_target();
    let objects = if !args.objects.is_empty() {
        Some(
            args.objects
                .iter()
                .map(|name| select::object_key(survey, name))
                .collect::<Result<Vec<_>, _>>()?,
        )
    } else if let Some(cone) = &args.cone {
        let parts: Vec<f64> = cone
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--cone {cone:?}: want RA,DEC,RADIUS in numbers"))?;
        let [ra, dec, radius] = parts[..] else {
            bail!("--cone {cone:?}: want RA,DEC,RADIUS");
        };
        let mut db = solas_store::db::Db::open(&main)
            .with_context(|| format!("opening the main database {main}"))?;
        Some(select::cone_keys(&mut db, survey, ra, dec, radius)?)
    } else if let Some(tables) = &args.tables {
        let filter = ObjectFilter {
            tables: tables.clone(),
            conditions: args.conditions.clone().unwrap_or_default(),
        };
        Some(select::filter_keys(
            &main,
            None,
            survey,
            None,
            &filter,
            args.max_objects,
            Duration::from_secs(600),
        )?)
    } else {
        None
    };
    let mjd = (args.since.is_some() || args.until.is_some()).then(|| {
        (
            args.since.unwrap_or(f64::MIN),
            args.until.unwrap_or(f64::MAX),
        )
    });
    let format = match args.format {
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Jsonl) => Format::JsonLines,
        Some(FormatArg::Votable) => Format::VoTable,
        Some(FormatArg::Parquet) => Format::Parquet,
        None => args
            .output
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| Format::parse(&e.to_string_lossy()))
            .unwrap_or(Format::Csv),
    };
    let export = Export {
        survey,
        kind: match args.kind {
            KindArg::Sources => SourceKind::Detections,
            KindArg::Forced => SourceKind::Forced,
            KindArg::Nondetections => SourceKind::NonDetections,
        },
        selection: Selection { objects, mjd },
        format,
        row_limit: None,
    };
    let mut store = solas_store::open_lightcurves(
        args.lightcurves_db.as_deref(),
        &args.data.data.join("lightcurves.db"),
    )
    .context("opening the lightcurves")?;
    let (written, to) = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let written = solas_export::write(&mut *store, &export, &mut out)?;
            out.flush()
                .and_then(|()| out.get_ref().sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            (written, path.display().to_string())
        }
        None => {
            // Stdout, not its lock: the Parquet writer wants a writer it could send.
            let mut out = std::io::BufWriter::new(std::io::stdout());
            let written = solas_export::write(&mut *store, &export, &mut out)?;
            out.flush().context("writing standard output")?;
            (written, "standard output".to_string())
        }
    };
    eprintln!(
        "wrote {} {} of {} objects ({} columns, {}) to {to}",
        written.rows,
        export.kind.name(),
        written.objects,
        written.columns,
        format.name()
    );
    Ok(())
}
