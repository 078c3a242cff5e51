//! Mining (`solas mine`): a filter's objects fanned out over a Kafka topic to mining
//! workers in one consumer group; each worker reads an object's lightcurve, gives it as
//! JSON to the user's program (a command reading JSON on stdin and writing one JSON value
//! on stdout) and stores the answer (`solas_store::main_db::mining`). A message's offset is
//! committed only after its answer is stored, so the objects of a worker that is killed
//! are answered by the others; a repeat replaces the first answer.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::Message;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use solas_core::{ObjectKey, Survey};
use solas_store::db::Target;
use solas_store::main_db::mining::{self, MiningResult};
use solas_store::{LightcurveStore, StoreError};

/// Why mining stopped.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    #[error("main database: {0}")]
    Store(#[from] StoreError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("stopped while {0} was unavailable")]
    Stopped(&'static str),
}

/// One object of a run, as sent to the workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MineTask {
    pub run: i64,
    pub survey: Survey,
    /// The object's 64-bit key (a ZTF name packed).
    pub object: i64,
}

impl MineTask {
    fn key(&self) -> Result<ObjectKey, String> {
        match self.survey {
            Survey::Lsst => Ok(ObjectKey::lsst(self.object)),
            Survey::Ztf => solas_core::ids::unpack_ztf_id(self.object)
                .and_then(|name| ObjectKey::ztf(&name))
                .map_err(|e| format!("object {}: {e}", self.object)),
        }
    }
}

/// The Kafka side of mining: where the tasks go, and the client settings.
#[derive(Debug, Clone)]
pub struct MineKafka {
    pub brokers: String,
    pub topic: String,
    pub extra: Vec<(String, String)>,
}

/// Send a run's objects to its topic, keyed by object (so a repeat of one object lands in
/// one partition); returns once the broker has them all.
pub fn publish(
    kafka: &MineKafka,
    run: i64,
    survey: Survey,
    objects: &[i64],
) -> Result<(), MineError> {
    let mut client = rdkafka::config::ClientConfig::new();
    client.set("bootstrap.servers", &kafka.brokers);
    for (k, v) in &kafka.extra {
        client.set(k, v);
    }
    let producer: ThreadedProducer<DefaultProducerContext> = client.create()?;
    for &object in objects {
        let task = MineTask {
            run,
            survey,
            object,
        };
        let payload = serde_json::to_vec(&task).unwrap_or_default();
        let key = object.to_string();
        let mut record = BaseRecord::to(&kafka.topic).key(&key).payload(&payload);
        // A full local queue: wait for the broker to take some.
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    r,
                )) => {
                    record = r;
                    producer.poll(Duration::from_millis(100));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(())
}

/// The user's program and its limits.
#[derive(Debug, Clone)]
pub struct Program {
    /// Run with `sh -c`.
    pub command: String,
    /// Longer than this and it is killed; the object's answer is the error.
    pub time_limit: Duration,
    /// More output than this and the answer is an error.
    pub max_output: usize,
}

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct MineWorker {
    pub kafka: MineKafka,
    pub group: String,
    pub program: Program,
    /// Stop after this long without a task once the group has committed the whole topic.
    pub idle_exit: Option<Duration>,
    /// This worker's name in the results.
    pub name: String,
}

/// What a worker did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MineSummary {
    pub tasks: u64,
    pub answered: u64,
    pub failed: u64,
    pub bad_messages: u64,
}

/// Work on tasks until stopped (or idle, with `idle_exit`).
pub fn work(
    worker: &MineWorker,
    main_db: &Target,
    lightcurves: &mut dyn LightcurveStore,
    stop: &Arc<AtomicBool>,
) -> Result<MineSummary, MineError> {
    let retry = crate::retry::Retrier::new(stop.clone(), Default::default());
    let mut db = solas_store::main_db::connect(main_db)?;
    let client = crate::source::kafka::group_config(
        &worker.kafka.brokers,
        &worker.group,
        &[],
        &worker.kafka.extra,
    );
    let consumer: BaseConsumer = client.create()?;
    let topics = [worker.kafka.topic.as_str()];
    consumer.subscribe(&topics)?;
    let mut idle = worker.idle_exit.map(crate::source::kafka::IdleClock::new);
    let mut summary = MineSummary::default();
    while let Some(result) =
        crate::source::kafka::next_followed(&consumer, &topics, &mut idle, stop)
    {
        let msg = result?;
        summary.tasks += 1;
        let task: MineTask = match serde_json::from_slice(msg.payload().unwrap_or_default()) {
            Ok(t) => t,
            Err(e) => {
                log::warn!(
                    "{}-{}-{}: not a mining task, skipped: {e}",
                    msg.topic(),
                    msg.partition(),
                    msg.offset()
                );
                summary.bad_messages += 1;
                commit(&consumer, &msg);
                continue;
            }
        };
        let answer = match answer(&task, lightcurves, &worker.program, &retry) {
            Ok(a) => a,
            Err(GaveUp) => return Err(MineError::Stopped("the lightcurve store")),
        };
        let row = MiningResult {
            run_id: task.run,
            survey: task.survey,
            object_id: task.object,
            object: task
                .key()
                .map(|k| k.name)
                .unwrap_or_else(|_| task.object.to_string()),
            result: answer.as_ref().ok().map(Value::to_string),
            error: answer.as_ref().err().cloned(),
            worker: worker.name.clone(),
        };
        match retry.run("main database", || mining::write_result(&mut db, &row)) {
            Ok(()) => {}
            Err(crate::retry::GaveUp::Failed(e)) => return Err(e.into()),
            Err(crate::retry::GaveUp::Stopped { .. }) => {
                return Err(MineError::Stopped("the main database"))
            }
        }
        match answer {
            Ok(_) => summary.answered += 1,
            Err(_) => summary.failed += 1,
        }
        // Stored: the offset moves on. A commit lost to a rebalance means the object is
        // answered again, and the answer replaced.
        commit(&consumer, &msg);
    }
    crate::source::kafka::leave_group(&consumer, &worker.group);
    Ok(summary)
}

fn commit(consumer: &BaseConsumer, msg: &rdkafka::message::BorrowedMessage<'_>) {
    if let Err(e) = consumer.commit_message(msg, CommitMode::Sync) {
        log::warn!("offset commit failed: {e}");
    }
}

/// The run stopped while the lightcurve store was unavailable.
struct GaveUp;

/// The program's answer for one object, or why there is none; Err(GaveUp) only when
/// stopping while the store is unavailable.
fn answer(
    task: &MineTask,
    lightcurves: &mut dyn LightcurveStore,
    program: &Program,
    retry: &crate::retry::Retrier,
) -> Result<Result<Value, String>, GaveUp> {
    let key = match task.key() {
        Ok(k) => k,
        Err(e) => return Ok(Err(e)),
    };
    let lc = match retry.run("lightcurve store", || {
        lightcurves.lightcurve(task.survey, &key)
    }) {
        Ok(lc) => lc,
        Err(crate::retry::GaveUp::Failed(e)) => return Ok(Err(format!("lightcurve: {e}"))),
        Err(crate::retry::GaveUp::Stopped { .. }) => return Err(GaveUp),
    };
    let input = input_json(task, &key, &lc);
    Ok(run_program(program, input.to_string().as_bytes()))
}

/// What the program reads: the object and its whole lightcurve (times in the survey's
/// scale: Rubin TAI, ZTF UTC; ids as integers).
pub fn input_json(task: &MineTask, key: &ObjectKey, lc: &solas_store::Lightcurve) -> Value {
    json!({
        "run": task.run,
        "survey": task.survey.as_str(),
        "object": match task.survey { Survey::Lsst => json!(key.id), Survey::Ztf => json!(key.name) },
        "timescale": match task.survey { Survey::Lsst => "TAI", Survey::Ztf => "UTC" },
        "detections": lc.detections.iter().map(|d| json!({
            "sourceId": d.source_id, "mjd": d.mjd, "band": d.band.as_str(), "ra": d.ra,
            "dec": d.dec, "flux": d.flux, "fluxErr": d.flux_err, "mag": d.mag,
            "magErr": d.mag_err, "positive": d.positive, "reliability": d.reliability,
        })).collect::<Vec<_>>(),
        "forced": lc.forced.iter().map(|f| json!({
            "sourceId": f.source_id, "mjd": f.mjd, "band": f.band.as_str(), "flux": f.flux,
            "fluxErr": f.flux_err,
        })).collect::<Vec<_>>(),
        "nonDetections": lc.non_detections.iter().map(|n| json!({
            "mjd": n.mjd, "band": n.band.as_str(), "limitingMag": n.limiting_mag,
            "noiseFlux": n.noise_flux,
        })).collect::<Vec<_>>(),
    })
}

/// Run the program on `input`: its one JSON value, or why there is none (it failed,
/// overran its time or output, or wrote something that is not JSON).
pub fn run_program(program: &Program, input: &[u8]) -> Result<Value, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&program.command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start the program: {e}"))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("the program's pipes could not be opened".into());
    };
    let input = input.to_vec();
    // A program that does not read its input must not block us: written on a thread.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let max = program.max_output;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(max as u64 + 1).read_to_end(&mut out);
        out
    });
    let errors = std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = stderr.take(4096).read_to_end(&mut err);
        err
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > program.time_limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the program ran longer than {} s and was stopped",
                    program.time_limit.as_secs_f64()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for the program: {e}")),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = errors.join().unwrap_or_default();
    if !status.success() {
        let tail = String::from_utf8_lossy(&err);
        return Err(format!("the program failed ({status}): {}", tail.trim()));
    }
    if out.len() > max {
        return Err(format!("the program wrote more than {max} bytes"));
    }
    serde_json::from_slice(&out)
        .map_err(|e| format!("the program's output is not one JSON value: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(command: &str) -> Program {
        Program {
            command: command.into(),
            time_limit: Duration::from_secs(5),
            max_output: 100,
        }
    }

    /// What a user's program can do wrong is the object's answer, never the worker's end.
    #[test]
    fn a_programs_failures_become_the_objects_answer() {
        let ok = run_program(&program("cat"), br#"{"n": 3}"#).unwrap();
        assert_eq!(ok, json!({"n": 3}));
        let err = run_program(&program("echo oops >&2; exit 3"), b"{}").unwrap_err();
        assert!(err.contains("oops") && err.contains('3'), "{err}");
        let err = run_program(&program("echo not json"), b"{}").unwrap_err();
        assert!(err.contains("not one JSON value"), "{err}");
        let err = run_program(&program("head -c 500 /dev/zero"), b"{}").unwrap_err();
        assert!(err.contains("more than 100 bytes"), "{err}");
        let slow = Program {
            time_limit: Duration::from_millis(200),
            ..program("sleep 5")
        };
        let started = Instant::now();
        let err = run_program(&slow, b"{}").unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
        // A program that never reads its input still answers.
        assert_eq!(
            run_program(&program("echo 1"), &vec![b'x'; 1 << 20]).unwrap(),
            json!(1)
        );
    }
}
