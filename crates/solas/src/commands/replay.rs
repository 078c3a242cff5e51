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
    #[arg(required = true)]
    pub inputs: Vec<String>,
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
    let started = Instant::now();
    let mut sent = 0u64;
    let mut bytes_sent = 0u64;
    let mut as_containers = 0u64;
    for _ in 0..args.repeat.max(1) {
        for path in files.files() {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let (msgs, rubin_container) = messages(&decoder, bytes)
                .with_context(|| format!("{} is not an alert file", path.display()))?;
            as_containers += u64::from(rubin_container);
            for payload in msgs {
                if let Some(rate) = args.rate {
                    // Hold to the schedule rather than sleeping a fixed gap: no drift.
                    let due = started + Duration::from_secs_f64(sent as f64 / rate.max(1e-3));
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                let mut record = BaseRecord::<(), [u8]>::to(&args.topic).payload(&payload);
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err((e, _)) => return Err(e.into()),
                    }
                }
                sent += 1;
                bytes_sent += payload.len() as u64;
            }
        }
    }
    producer.flush(Duration::from_secs(60))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{sent} messages ({:.1} MB) to {} in {secs:.2} s = {:.0} messages/s",
        bytes_sent as f64 / 1e6,
        args.topic,
        sent as f64 / secs.max(1e-9)
    );
    if as_containers > 0 {
        println!(
            "{as_containers} Rubin file(s) sent as container files: their schema is not a Rubin release schema, so no schema id can frame them"
        );
    }
    Ok(())
}
