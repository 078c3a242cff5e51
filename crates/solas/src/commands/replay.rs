//! `solas replay`: publish alert files to a Kafka topic as the surveys publish them, at a
//! chosen rate, to stand in for the live stream. ZTF container files go as they are (one
//! container per message, as ZTF sends them); Rubin alerts are re-framed in the Confluent
//! wire format with the schema id of their version (`9.0` → 900), one alert per message.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use solas_pipeline::source::files::FileSource;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Alert files, directories or globs.
    #[arg(required_unless_present = "archive")]
    pub inputs: Vec<String>,
    /// Replay alerts from the archive instead (`--data`, or the stores given): every stored
    /// alert triggered in [--since, --until), rebuilt in its survey's framing, cutouts
    /// included.
    #[arg(long, conflicts_with = "inputs", requires = "survey")]
    pub archive: bool,
    /// With --archive: the survey whose alerts to replay.
    #[arg(long, value_enum)]
    pub survey: Option<super::filter::SurveyArg>,
    /// With --archive: alerts triggered at or after this MJD (TAI for Rubin, UTC for ZTF).
    #[arg(long, value_name = "MJD")]
    pub since: Option<f64>,
    /// With --archive: alerts triggered before this MJD.
    #[arg(long, value_name = "MJD")]
    pub until: Option<f64>,
    /// With --archive: the data directory the archive is in.
    #[arg(long, default_value = "./solas-data")]
    pub data: std::path::PathBuf,
    /// With --archive: the lightcurves in PostgreSQL (default: <data>/lightcurves.db).
    #[arg(long, env = "SOLAS_LIGHTCURVES_DB")]
    pub lightcurves_db: Option<String>,
    /// With --archive: cutouts in an S3-compatible store (default: <data>/cutouts).
    #[arg(long, env = "SOLAS_CUTOUTS")]
    pub cutouts: Option<String>,
    #[arg(long)]
    pub kafka: String,
    #[arg(long)]
    pub topic: String,
    /// Messages per second (default: as fast as the broker takes them).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Send the inputs this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Extra librdkafka setting, KEY=VALUE (repeatable).
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub kafka_options: Vec<String>,
}

/// What to send for one file: the file itself (ZTF, or Rubin alerts written with a schema
/// that is not a Rubin release), or one wire message per Rubin alert. The flag says whether
/// a Rubin file had to go as a container.
fn messages(
    decoder: &solas_decode::Decoder,
    bytes: Vec<u8>,
) -> anyhow::Result<(Vec<Vec<u8>>, bool)> {
    if !bytes.starts_with(b"Obj\x01") {
        return Ok((vec![bytes], false)); // already wire format (or for the broker to reject)
    }
    let is_rubin = matches!(
        decoder.decode(&bytes).ok().and_then(|d| d.records.into_iter().next()),
        Some((_, Ok(a))) if a.survey == solas_core::Survey::Lsst
    );
    let (version, datums) = decoder.container_datums(&bytes)?;
    // Only a Rubin release schema (namespace lsst.vX_Y) has a registry id to frame with.
    match version.split_once('.') {
        Some((major, minor)) => {
            let id: u32 = major.parse::<u32>()? * 100 + minor.parse::<u32>()?;
            let framed = datums
                .iter()
                .map(|d| solas_decode::wire::frame(id, d))
                .collect();
            Ok((framed, false))
        }
        None => Ok((vec![bytes], is_rubin)),
    }
}

pub fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let files = FileSource::new(&args.inputs)?;
    let decoder = solas_decode::Decoder::new();
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &args.kafka)
        .set("message.max.bytes", "10485760")
        .set("linger.ms", "5");
    for kv in &args.kafka_options {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--kafka-option {kv:?} is not KEY=VALUE"))?;
        client.set(k, v);
    }
    let producer: ThreadedProducer<DefaultProducerContext> = client.create()?;
    let mut out = Sender {
        producer: &producer,
        topic: &args.topic,
        rate: args.rate,
        started: Instant::now(),
        sent: 0,
        bytes: 0,
    };
    if args.archive {
        return from_archive(&args, out);
    }
    let mut as_containers = 0u64;
    for _ in 0..args.repeat.max(1) {
        for path in files.files() {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let (msgs, rubin_container) = messages(&decoder, bytes)
                .with_context(|| format!("{} is not an alert file", path.display()))?;
            as_containers += u64::from(rubin_container);
            for payload in msgs {
                out.send(&payload)?;
            }
        }
    }
    out.finish()?;
    if as_containers > 0 {
        println!(
            "{as_containers} Rubin file(s) sent as container files: their schema is not a Rubin release schema, so no schema id can frame them"
        );
    }
    Ok(())
}

/// Messages to one topic at a chosen rate, counted.
struct Sender<'p> {
    producer: &'p ThreadedProducer<DefaultProducerContext>,
    topic: &'p str,
    rate: Option<f64>,
    started: Instant,
    sent: u64,
    bytes: u64,
}

impl Sender<'_> {
    fn send(&mut self, payload: &[u8]) -> anyhow::Result<()> {
        if let Some(rate) = self.rate {
            // Hold to the schedule rather than sleeping a fixed gap: no drift.
            let due = self.started + Duration::from_secs_f64(self.sent as f64 / rate.max(1e-3));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let mut record = BaseRecord::<(), [u8]>::to(self.topic).payload(payload);
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        self.sent += 1;
        self.bytes += payload.len() as u64;
        Ok(())
    }

    /// Waits for every message to be delivered, and says how many went.
    fn finish(self) -> anyhow::Result<()> {
        self.producer.flush(Duration::from_secs(60))?;
        let secs = self.started.elapsed().as_secs_f64();
        println!(
            "{} messages ({:.1} MB) to {} in {secs:.2} s = {:.0} messages/s",
            self.sent,
            self.bytes as f64 / 1e6,
            self.topic,
            self.sent as f64 / secs.max(1e-9)
        );
        Ok(())
    }
}

/// `--archive`: the stored alerts of the window, rebuilt, oldest first.
fn from_archive(args: &ReplayArgs, mut out: Sender<'_>) -> anyhow::Result<()> {
    let survey = match args.survey {
        Some(super::filter::SurveyArg::Ztf) => solas_core::Survey::Ztf,
        _ => solas_core::Survey::Lsst,
    };
    let mut store = solas_store::open_lightcurves(
        args.lightcurves_db.as_deref(),
        &args.data.join("lightcurves.db"),
    )
    .context("opening the lightcurves")?;
    let cutouts = solas_store::blob::open(args.cutouts.as_deref(), &[], &args.data.join("cutouts"))
        .context("opening the cutouts")?;
    let window = (
        args.since.unwrap_or(f64::MIN),
        args.until.unwrap_or(f64::MAX),
    );
    let alerts = solas_export::replay::each_alert(
        &mut *store,
        &*cutouts,
        survey,
        window,
        |_, framed| -> anyhow::Result<()> { out.send(&framed) },
    )?;
    out.finish()?;
    println!(
        "{alerts} {} alerts rebuilt from the archive",
        survey.as_str()
    );
    Ok(())
}
