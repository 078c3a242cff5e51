//! Looking at what Solas has: `solas decode`, `solas object` (the API's answer, or with
//! `--store` the stores' own view), `solas cutout`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Map, Value};
use solas_core::{CutoutKind, ObjectKey, Survey};
use solas_pipeline::source::files::FileSource;
use solas_store::db::Value as DbValue;

use super::filter::DataArg;
use super::SchemaArgs;

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Alert files, directories or globs.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub schemas: SchemaArgs,
}

pub fn decode(args: DecodeArgs) -> anyhow::Result<()> {
    let decoder = args.schemas.decoder()?;
    let files = FileSource::new(&args.inputs)?;
    let mut failed = 0;
    for path in files.files() {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        let records = match decoder.decode(&bytes) {
            Ok(d) => d.records,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        for (offset, result) in records {
            match result {
                Ok(alert) => {
                    let cutouts: Vec<Value> = alert
                        .cutouts
                        .iter()
                        .map(|c| json!({"kind": c.kind.as_str(), "source_id": c.source_id, "bytes": c.data.len()}))
                        .collect();
                    let mut value = serde_json::to_value(&alert)?;
                    value["cutouts"] = Value::Array(cutouts);
                    value["file"] = json!(path.display().to_string());
                    println!("{}", serde_json::to_string_pretty(&value)?);
                }
                Err(e) => {
                    eprintln!("{} (record at byte {offset}): {e}", path.display());
                    failed += 1;
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} payloads or records could not be decoded");
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ObjectArgs {
    /// A ZTF object name (ZTF21abiuvdk) or a Rubin diaObjectId.
    pub object: String,
    #[command(flatten)]
    pub data: DataArg,
    /// The lightcurves in PostgreSQL, as the workers were given them (default:
    /// <data>/lightcurves.db).
    #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
    pub lightcurves_db: Option<String>,
    /// Also print the features as the broker would have computed them at this MJD (TAI for
    /// Rubin): from the sources observed up to then ("featuresAsOf"; "features_as_of" with
    /// --store).
    #[arg(long, value_name = "MJD")]
    pub as_of: Option<f64>,
    /// Print what the stores hold (the objects row, the typed lightcurve, every record
    /// under "records") instead of the API's answer.
    #[arg(long)]
    pub store: bool,
    /// Cutouts in an S3-compatible store, as the workers were given them (for the answer's
    /// image links; default: <data>/cutouts).
    #[arg(long, env = "SOLAS_CUTOUTS")]
    pub cutouts: Option<String>,
}

fn key_for(name: &str) -> anyhow::Result<(Survey, ObjectKey)> {
    if name.starts_with("ZTF") {
        Ok((Survey::Ztf, ObjectKey::ztf(name)?))
    } else {
        let id: i64 = name
            .parse()
            .with_context(|| format!("{name:?} is neither a ZTF name nor a diaObjectId"))?;
        Ok((Survey::Lsst, ObjectKey::lsst(id)))
    }
}

fn json_of(v: DbValue) -> Value {
    match v {
        DbValue::Null => Value::Null,
        DbValue::Int(n) => json!(n),
        DbValue::Float(x) => json!(x),
        DbValue::Text(t) => json!(t),
        DbValue::Blob(b) => json!(format!("<{} bytes>", b.len())),
    }
}

/// The object's row and lightcurve, from the main database and the lightcurves wherever
/// they are (`--main-db`, `--lightcurves-db`, else under `--data`).
pub fn object(args: ObjectArgs) -> anyhow::Result<()> {
    if !args.store {
        return object_answer(&args);
    }
    let (survey, key) = key_for(&args.object)?;
    let main = args.data.main_target();
    let row = solas_store::main_db::MainDatabase::connect(&main)
        .with_context(|| format!("opening the main database {main}"))?
        .object_row(survey, &key)?
        .map(|columns| {
            Value::Object(
                columns
                    .into_iter()
                    .map(|(name, v)| (name, json_of(v)))
                    .collect::<Map<String, Value>>(),
            )
        });
    let mut store = solas_store::open_lightcurves(
        args.lightcurves_db.as_deref(),
        &args.data.data.join("lightcurves.db"),
    )
    .context("opening the lightcurves")?;
    let lightcurve = store.lightcurve(survey, &key)?;
    if row.is_none() && lightcurve.detections.is_empty() {
        bail!("object {} not found in {main}", args.object);
    }
    // Every field the survey sent for each source, from the archive's whole records.
    let records = store.records(survey, &key)?;
    let mut reader = solas_decode::value::RecordReader::default();
    let mut whole = |r: &solas_core::RawRecord| -> anyhow::Result<Value> {
        Ok(reader
            .read(r)
            .with_context(|| format!("a stored {} record", r.schema.name))?
            .to_json())
    };
    let mut records_json = json!({
        "detections": records.detections.iter().map(|(_, r)| whole(r)).collect::<anyhow::Result<Vec<_>>>()?,
        "forced_photometry": records.forced.iter().map(|(_, r)| whole(r)).collect::<anyhow::Result<Vec<_>>>()?,
        "non_detections": records.non_detections.iter().map(|(_, _, r)| whole(r)).collect::<anyhow::Result<Vec<_>>>()?,
    });
    for (alert_id, r) in &records.object {
        records_json[&r.schema.name] = json!({ "alertId": alert_id, "record": whole(r)? });
    }
    let as_of = match args.as_of {
        Some(mjd) => features_as_of(&mut *store, &main, survey, &key, mjd)?,
        None => Value::Null,
    };
    let mut out = json!({
        "object": row,
        "lightcurve": {
            "detections": lightcurve.detections,
            "forced_photometry": lightcurve.forced,
            "non_detections": lightcurve.non_detections,
        },
        "records": records_json,
    });
    if args.as_of.is_some() {
        out["features_as_of"] = as_of;
    }
    print_json(&out)
}

/// The object as `/api/object/` answers for it (Lasair's shape, every field), through the
/// web crate's own code so the two cannot drift apart.
fn object_answer(args: &ObjectArgs) -> anyhow::Result<()> {
    let (survey, _) = key_for(&args.object)?;
    let mut config = solas_web::ServeConfig::new(&args.data.data, "127.0.0.1:0".parse()?);
    config.main_db = args.data.main_db_target();
    config.lightcurves_url = args.lightcurves_db.clone();
    config.cutouts_url = args.cutouts.clone();
    let state = solas_web::AppState::open(config).context("opening the stores")?;
    let answer = state
        .object_answer(survey, &args.object, args.as_of)
        .map_err(anyhow::Error::msg)?;
    print_json(&answer)
}

/// Pretty JSON on standard output; a reader that stopped early (`| head`) ends it quietly.
fn print_json(value: &Value) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The features as of `mjd`, with the host the context stage found (no dust map: E(B−V)
/// and what depends on it are left out).
fn features_as_of(
    store: &mut dyn solas_store::LightcurveStore,
    main: &solas_store::db::Target,
    survey: Survey,
    key: &ObjectKey,
    mjd: f64,
) -> anyhow::Result<Value> {
    let host = solas_store::as_of::host(&mut solas_store::db::Db::open(main)?, survey, key)?;
    let row = solas_store::as_of::object_row(store, None, survey, key, mjd, host)?;
    Ok(row.map_or(Value::Null, |r| {
        Value::Object(solas_store::as_of::to_json(&r))
    }))
}

#[derive(Args, Debug)]
pub struct CutoutArgs {
    /// Source id (ZTF candid or Rubin diaSourceId) of the alert.
    pub source_id: i64,
    /// science, template or difference.
    pub kind: String,
    /// ztf or lsst.
    #[arg(long)]
    pub survey: String,
    /// Output FITS file.
    #[arg(long, short)]
    pub output: PathBuf,
    #[arg(long, default_value = "./solas-data")]
    pub data: PathBuf,
    /// The cutouts in an S3-compatible store, `s3://bucket[/prefix]`, as the workers were
    /// given them (default: the pack files under <data>/cutouts).
    #[arg(long, env = "SOLAS_CUTOUTS")]
    pub cutouts: Option<String>,
    /// An S3 client setting, KEY=VALUE (repeatable), as `solas run --cutouts-option`.
    #[arg(long = "cutouts-option", value_name = "KEY=VALUE")]
    pub cutouts_options: Vec<String>,
}

pub fn cutout(args: CutoutArgs) -> anyhow::Result<()> {
    let kind =
        CutoutKind::parse(&args.kind).context("kind must be science, template or difference")?;
    let Some(survey) = Survey::parse(&args.survey) else {
        bail!("unknown survey {:?} (ztf or lsst)", args.survey);
    };
    let options = super::run::key_values(&args.cutouts_options, "--cutouts-option")?;
    let store = solas_store::blob::open(
        args.cutouts.as_deref(),
        &options,
        &args.data.join("cutouts"),
    )?;
    let fits = store
        .get_cutout(survey, args.source_id, kind)?
        .with_context(|| {
            format!(
                "no {} cutout stored for source {}",
                kind.as_str(),
                args.source_id
            )
        })?;
    std::fs::write(&args.output, &fits).with_context(|| args.output.display().to_string())?;
    println!("wrote {} ({} bytes)", args.output.display(), fits.len());
    Ok(())
}
