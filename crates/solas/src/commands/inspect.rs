//! Looking at what Solas has: `solas decode`, `solas object`, `solas cutout`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use rusqlite::types::ValueRef;
use serde_json::{json, Map, Value};
use solas_core::{CutoutKind, ObjectKey, Survey};
use solas_pipeline::source::files::FileSource;
use solas_store::blob::PackBlobStore;
use solas_store::sqlite::SqliteLightcurves;
use solas_store::{BlobStore, LightcurveStore};

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
    #[arg(long, default_value = "./solas-data")]
    pub data: PathBuf,
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

pub fn object(args: ObjectArgs) -> anyhow::Result<()> {
    let (survey, key) = key_for(&args.object)?;
    let db = rusqlite::Connection::open_with_flags(
        args.data.join("solas.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .with_context(|| format!("opening {}", args.data.join("solas.db").display()))?;
    let (sql, param) = match survey {
        Survey::Ztf => (
            "SELECT * FROM ztf_objects WHERE objectId = ?1",
            rusqlite::types::Value::Text(key.name.clone()),
        ),
        Survey::Lsst => (
            "SELECT * FROM objects WHERE diaObjectId = ?1",
            rusqlite::types::Value::Integer(key.id),
        ),
    };
    let mut stmt = db.prepare(sql)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let row = stmt
        .query_row([param], |r| {
            let mut map = Map::new();
            for (i, name) in names.iter().enumerate() {
                let v = match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => json!(n),
                    ValueRef::Real(x) => json!(x),
                    ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => json!(format!("<{} bytes>", b.len())),
                };
                map.insert(name.clone(), v);
            }
            Ok(Value::Object(map))
        })
        .ok();
    let lightcurve =
        SqliteLightcurves::open(&args.data.join("lightcurves.db"))?.lightcurve(survey, &key)?;
    if row.is_none() && lightcurve.detections.is_empty() {
        bail!(
            "object {} not found in {}",
            args.object,
            args.data.display()
        );
    }
    let out = json!({
        "object": row,
        "lightcurve": {
            "detections": lightcurve.detections,
            "forced_photometry": lightcurve.forced,
            "non_detections": lightcurve.non_detections,
        }
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
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
}

pub fn cutout(args: CutoutArgs) -> anyhow::Result<()> {
    let kind =
        CutoutKind::parse(&args.kind).context("kind must be science, template or difference")?;
    let survey = match args.survey.as_str() {
        "ztf" => Survey::Ztf,
        "lsst" => Survey::Lsst,
        other => bail!("unknown survey {other:?} (ztf or lsst)"),
    };
    let store = PackBlobStore::open(&args.data.join("cutouts"))?;
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
