//! The `solas` command as a user runs it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn solas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_solas"))
        .args(args)
        .output()
        .expect("solas runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Rubin's own sample alert of schemas 9.0, 10.0 and 11.1 (one alert id in three versions).
fn rubin_sample_alerts() -> Vec<String> {
    let schemas = solas_testdata::lsst_schema_dir();
    ["9/0", "10/0", "11/1"]
        .iter()
        .map(|v| {
            schemas
                .join(v)
                .join("sample_data/fakeAlert.avro")
                .display()
                .to_string()
        })
        .collect()
}

/// `solas run --quiet` over the repository's sample alerts into `data`; its summary.
fn run_samples(data: &str) -> String {
    let samples = solas_testdata::repo_samples();
    let run = solas(&["run", "--quiet", "--data", data, samples.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run));
    text(&run)
}

#[test]
fn help_explains_every_subcommand() {
    let out = solas(&["--help"]);
    assert!(out.status.success());
    let help = text(&out);
    for (cmd, words) in [
        ("run", "pipeline"),
        ("bench", "throughput"),
        ("decode", "JSON"),
        ("object", "lightcurve"),
        ("cutout", "FITS"),
        ("export", "Parquet"),
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(cmd))
            .unwrap_or_else(|| panic!("{cmd} missing from --help:\n{help}"));
        assert!(line.contains(words), "{cmd}: {line}");
        let sub = solas(&[cmd, "--help"]);
        assert!(sub.status.success(), "{cmd} --help");
    }
    let run_help = text(&solas(&["run", "--help"]));
    for flag in [
        "--kafka",
        "--topic",
        "--group",
        "--data",
        "--schema-dir",
        "--schema-registry",
    ] {
        assert!(run_help.contains(flag), "run --help lacks {flag}");
    }
}

#[test]
fn demo_on_the_repository_samples() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = solas(&[
        "run",
        "-q",
        samples.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let summary = text(&out);
    assert!(out.status.success(), "{summary}");
    assert!(summary.contains("alerts decoded:     30"), "{summary}");
    assert!(summary.contains("rejected:           0"), "{summary}");
    assert!(summary.contains("cutouts stored:     90"), "{summary}");

    // ZTF20aajcdad had two alerts in the sample: both detections are in its lightcurve.
    let out = solas(&[
        "object",
        "ZTF20aajcdad",
        "--store",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["object"]["objectId"], "ZTF20aajcdad");
    let detections = json["lightcurve"]["detections"].as_array().unwrap();
    for candid in [1127495406315015005_i64, 1127536316315015004] {
        assert!(
            detections
                .iter()
                .any(|d| d["source_id"].as_i64() == Some(candid)),
            "candid {candid} stored, as an exact 64-bit integer"
        );
    }
    assert_eq!(
        json["object"]["ncand"].as_i64(),
        Some(detections.len() as i64)
    );

    // Without --store, the answer /api/object/ gives: Lasair-ZTF's shape.
    let out = solas(&["object", "ZTF20aajcdad", "--data", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["objectId"], "ZTF20aajcdad");
    assert_eq!(answer["count_all_candidates"], detections.len());
    assert!(answer["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["candid"].as_i64() == Some(1127495406315015005) && c["fwhm"].is_number()));

    // A cutout comes back as a FITS file.
    let fits = tmp.path().join("science.fits");
    let out = solas(&[
        "cutout",
        "1127495406315015005",
        "science",
        "--survey",
        "ztf",
        "-o",
        fits.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(&fits).unwrap().starts_with(b"SIMPLE  ="));

    // Every field of its detections out as a file, chosen by name or by a filter.
    let csv = tmp.path().join("sources.csv");
    let out = solas(&[
        "export",
        "--object",
        "ZTF20aajcdad",
        "-o",
        csv.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let n = detections.len();
    assert!(
        text(&out).contains(&format!("wrote {n} sources of 1 objects")),
        "{}",
        text(&out)
    );
    let written = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = written.lines().next().unwrap().split(',').collect();
    assert_eq!(header[0], "objectId");
    for field in ["candid", "magpsf", "fwhm", "drb", "sgscore1", "distpsnr1"] {
        assert!(header.contains(&field), "{field} missing from {header:?}");
    }
    let candid = header.iter().position(|h| *h == "candid").unwrap();
    let candids: Vec<&str> = written
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(candid).unwrap())
        .collect();
    let stored: Vec<String> = detections
        .iter()
        .map(|d| d["source_id"].as_i64().unwrap().to_string())
        .collect();
    assert_eq!(candids, stored, "every detection, in time order, ids exact");
    assert!(candids.contains(&"1127495406315015005"));
    let out = solas(&[
        "export",
        "--survey",
        "ztf",
        "--tables",
        "objects",
        "--conditions",
        "objects.objectId = 'ZTF20aajcdad'",
        "--format",
        "jsonl",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), n);
    let out = solas(&["export", "--data", data.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("choose what to export"),
        "{}",
        text(&out)
    );

    // Unknown objects and bad input are errors, not panics.
    let out = solas(&["object", "ZTF99zzzzzzz", "--data", data.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not found"));
    let out = solas(&[
        "run",
        "-q",
        "/no/such/alerts",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no such file"), "{}", text(&out));
}

/// The regression: `solas ledger | head` panicked ("failed printing to stdout: Broken
/// pipe") once `head` had read its lines. A command that prints and exits ends quietly when
/// its reader goes away.
#[test]
fn a_listing_ends_quietly_when_its_reader_goes_away() {
    let samples = solas_testdata::repo_samples();
    let mut child = Command::new(env!("CARGO_BIN_EXE_solas"))
        .args(["decode", samples.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("solas runs");
    // The reader goes away before the first line is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn decode_prints_alerts_as_json_with_64_bit_ids() {
    let file = solas_testdata::shared()
        .join("ztf/alerts/ztf-avro-alert/2019_01_10_739260766315010006.avro");
    let out = solas(&["decode", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["alert_id"].as_i64(), Some(739260766315010006));
    assert!(String::from_utf8_lossy(&out.stdout).contains("739260766315010006"));
    assert_eq!(json["cutouts"].as_array().unwrap().len(), 3);
}

#[test]
fn catalogue_add_and_sherlock_answer_for_real_positions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let descriptions = solas_testdata::catalogue_descriptions(&["openngc", "3hsp", "hipparcos2"]);
    let mut args = vec!["catalogue", "add", "--data", data];
    args.extend(descriptions.iter().map(String::as_str));
    let out = solas(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("10791 rows loaded"), "{}", text(&out));

    // ZTF21abiuvdk, beside NGC 7814.
    let out = solas(&[
        "sherlock",
        "--ra",
        "0.814293",
        "--dec",
        "16.1456989",
        "--json",
        "--data",
        data,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["classification"], "SN");
    assert_eq!(json["catalogue_object_id"], "NGC7814");
    assert!((json["separationArcsec"].as_f64().unwrap() - 7.851).abs() < 0.01);
    // ZTF18aaqzpsv, on a 3HSP blazar; the plain answer is one line.
    let out = solas(&[
        "sherlock",
        "--ra",
        "265.9909956",
        "--dec",
        "19.5858206",
        "--data",
        data,
    ]);
    assert!(text(&out).starts_with("AGN: "), "{}", text(&out));
    // Negative declinations parse; bad positions and bad descriptions are errors.
    let out = solas(&["sherlock", "--ra", "120", "--dec", "-10", "--data", data]);
    assert!(text(&out).starts_with("ORPHAN: "), "{}", text(&out));
    assert!(
        !solas(&["sherlock", "--ra", "400", "--dec", "0", "--data", data])
            .status
            .success()
    );
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\nkind = \"planet\"\n").unwrap();
    let out = solas(&["catalogue", "add", "--data", data, bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("bad.toml"), "{}", text(&out));
}

#[test]
fn filter_check_prints_sql_or_refuses_with_the_offending_token() {
    let out = solas(&[
        "filter",
        "check",
        "--selected",
        "objects.diaObjectId, objects.latest_psfFlux",
        "--tables",
        "objects, sherlock_classifications",
        "--conditions",
        r#"sherlock_classifications.classification = "SN" ORDER BY objects.lastDiaSourceMjdTai DESC"#,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(sql.contains("JOIN \"sherlock_classifications\""), "{sql}");
    let (query, params) = sql.split_once("-- parameters:").unwrap();
    assert!(
        !query.contains("SN") && params.contains("Text(\"SN\")"),
        "the literal is a bound parameter: {sql}"
    );

    for (conditions, token) in [
        ("objects.ra > 0 UNION SELECT * FROM users", "UNION"),
        ("objects.ra > 0; DROP TABLE objects", ";"),
        ("objects.ra > 0 -- ", "--"),
        ("objects.nosuchcolumn > 1", "nosuchcolumn"),
    ] {
        let out = solas(&[
            "filter",
            "check",
            "--selected",
            "objects.diaObjectId",
            "--conditions",
            conditions,
        ]);
        assert!(!out.status.success(), "{conditions} accepted");
        assert!(text(&out).contains(token), "{conditions}: {}", text(&out));
    }
}

/// A filter stored from the command line runs on `solas run`; its email rows are sent by
/// `solas digest` to a real SMTP server (aiosmtpd via `scripts/smtp-sink.sh`) once a day;
/// annotators and annotations are managed from the command line too.
#[test]
fn filters_deliver_digests_and_annotations_from_the_command_line() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let add = solas(&[
        "filter",
        "add",
        "--data",
        data,
        "--name",
        "bright ztf",
        "--owner",
        "5",
        "--survey",
        "ztf",
        "--selected",
        "objects.objectId, objects.gmag",
        "--conditions",
        "objects.gmag < 19",
        "--output",
        "email",
        "--email",
        "astro@example.org",
    ]);
    assert!(add.status.success(), "{}", text(&add));
    // A filter naming an annotator that does not exist yet is refused...
    let args = [
        "filter",
        "add",
        "--data",
        data,
        "--name",
        "fink kn",
        "--owner",
        "5",
        "--selected",
        "objects.diaObjectId",
        "--tables",
        "objects, annotator:fink",
        "--conditions",
        r#"fink.classification = "KN""#,
        "--active",
        "annotations",
    ];
    let refused = solas(&args);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("fink"), "{}", text(&refused));
    // ...and accepted once the operator has registered it.
    let reg = solas(&["annotator", "add", "fink", "--owner", "9", "--data", data]);
    assert!(reg.status.success(), "{}", text(&reg));
    assert!(solas(&args).status.success());

    let summary = run_samples(data);
    let line = summary
        .lines()
        .find(|l| l.starts_with("delivered:"))
        .unwrap();
    let queued: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(queued > 0, "{summary}");

    // The digest goes to the SMTP server, with a link per object; a second run the same
    // day sends nothing.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mail = tempfile::tempdir().unwrap();
    let sink = repo.join("scripts/smtp-sink.sh");
    let started = Command::new(&sink)
        .args(["start", &port, mail.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", text(&started));
    let smtp = format!("127.0.0.1:{port}");
    let digest = solas(&[
        "digest",
        "--data",
        data,
        "--smtp",
        &smtp,
        "--base-url",
        "http://solas.test",
    ]);
    let again = solas(&["digest", "--data", data, "--smtp", &smtp]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut messages = Vec::new();
    while messages.is_empty() && std::time::Instant::now() < deadline {
        messages = std::fs::read_dir(mail.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = Command::new(&sink).args(["stop", &port]).output();
    assert!(digest.status.success(), "{}", text(&digest));
    assert!(
        text(&digest).contains(&format!("digest of {queued} row(s) sent")),
        "{}",
        text(&digest)
    );
    assert!(
        again.status.success() && !text(&again).contains("sent"),
        "{}",
        text(&again)
    );
    let all: Vec<_> = std::fs::read_dir(mail.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(all.len(), 1, "one digest, sent once");
    // Undo quoted-printable's soft line breaks.
    let message = std::fs::read_to_string(&all[0])
        .unwrap()
        .replace("=\r\n", "")
        .replace("=\n", "");
    assert!(message.contains("astro@example.org"), "{message}");
    assert!(
        message.contains("http://solas.test/objects/ZTF"),
        "{message}"
    );

    // Annotating: only the topic's owner may; the annotation is stored.
    let lsst_object = {
        let conn = rusqlite::Connection::open(Path::new(data).join("solas.db")).unwrap();
        conn.query_row("SELECT diaObjectId FROM objects LIMIT 1", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
        .to_string()
    };
    let annotate = |user: &str| {
        solas(&[
            "annotate",
            "--data",
            data,
            "--topic",
            "fink",
            "--object",
            &lsst_object,
            "--user",
            user,
            "--classification",
            "KN",
            "--classdict",
            r#"{"KN": 0.7}"#,
        ])
    };
    let wrong = annotate("5");
    assert!(!wrong.status.success() && text(&wrong).contains("another user"));
    let ok = annotate("9");
    assert!(ok.status.success(), "{}", text(&ok));
    let reports = solas(&["filter", "reports", "--data", data, "--owner", "5"]);
    assert!(reports.status.success());
    assert!(text(&reports).contains("0 report(s)"), "{}", text(&reports));
}

/// Uploads from the command line: a bad watchlist or MOC stores nothing and says where it
/// is wrong; good ones are stored and matched against the objects already there.
#[test]
fn watch_uploads_are_checked_whole_and_retro_matched() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    run_samples(data);
    let (name, ra, dec): (String, f64, f64) = {
        let conn = rusqlite::Connection::open(Path::new(data).join("solas.db")).unwrap();
        conn.query_row(
            "SELECT objectId, ramean, decmean FROM ztf_objects LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };

    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("ra,dec,name\n{ra},{dec},{name}\n400,1,x\n1,2\n"),
    )
    .unwrap();
    let out = solas(&[
        "watchlist",
        "add",
        bad.to_str().unwrap(),
        "--name",
        "b",
        "--data",
        data,
    ]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("line 3") && msg.contains("line 4"), "{msg}");
    let list = text(&solas(&["watchlist", "list", "--data", data]));
    assert!(!list.contains(" b "), "nothing half-loaded: {list}");

    let good = tmp.path().join("good.csv");
    std::fs::write(&good, format!("{ra},{dec},{name},2\n")).unwrap();
    let out = solas(&[
        "watchlist",
        "add",
        good.to_str().unwrap(),
        "--name",
        "g",
        "--owner",
        "3",
        "--data",
        data,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 cone hits"), "{}", text(&out));

    let garbage = tmp.path().join("garbage.fits");
    std::fs::write(&garbage, b"SIMPLE  =                    T not really").unwrap();
    let out = solas(&[
        "watchmap",
        "add",
        garbage.to_str().unwrap(),
        "--name",
        "x",
        "--data",
        data,
    ]);
    assert!(
        !out.status.success() && text(&out).contains("not a usable MOC"),
        "{}",
        text(&out)
    );
    let ascii = tmp.path().join("sky.txt");
    std::fs::write(&ascii, "0/0-11\n").unwrap(); // the whole sky, MOC ASCII
    let out = solas(&[
        "watchmap",
        "add",
        ascii.to_str().unwrap(),
        "--name",
        "all",
        "--data",
        data,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let objects: i64 = {
        let conn = rusqlite::Connection::open(Path::new(data).join("solas.db")).unwrap();
        conn.query_row(
            "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM ztf_objects)",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(
        text(&out).contains(&format!("{objects} watchmap hits")),
        "every object is in the whole sky: {}",
        text(&out)
    );
}

/// `solas replay` stands in for the survey streams: ZTF containers as they are, Rubin alerts
/// re-framed in the Confluent wire format with their schema id; `solas run --kafka` then
/// reads every one of them.
#[test]
fn replay_publishes_the_real_framings_and_run_reads_them_back() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    cluster.create_topic("alerts", 2, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let shared = solas_testdata::shared();
    let ztf = shared.join("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3");
    // Rubin's own sample alerts (official schemas 9.0, 10.0, 11.1) and one Fink file, which
    // Fink re-serialised with a schema of its own and so cannot carry a Rubin schema id.
    let official = rubin_sample_alerts();
    let fink =
        solas_testdata::shared_glob("lsst/real/fink-broker_rubin_2025-09-05_v9.0/*.avro").remove(0);
    let mut args = vec!["replay", ztf.to_str().unwrap(), fink.to_str().unwrap()];
    args.extend(official.iter().map(String::as_str));
    args.extend(["--kafka", &brokers, "--topic", "alerts", "--rate", "2000"]);
    let out = solas(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with("38 messages"), "{}", text(&out));
    assert!(
        text(&out).contains("1 Rubin file(s) sent as container files"),
        "{}",
        text(&out)
    );

    // Rubin messages carry the wire header with their version's schema id.
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "peek")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["alerts"]).unwrap();
    let (mut ids, mut ocf) = (Vec::new(), 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ids.len() + ocf < 38 && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(std::time::Duration::from_millis(200)) {
            let p = m.payload().unwrap();
            if p.starts_with(b"Obj\x01") {
                ocf += 1;
            } else {
                ids.push(solas_decode::wire::split(p).unwrap().0);
            }
        }
    }
    ids.sort();
    assert_eq!((ocf, ids), (35, vec![900, 1000, 1101]));
    drop(consumer);

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let schema_dir = solas_testdata::lsst_schema_dir();
    let out = solas(&[
        "run",
        "-q",
        "--kafka",
        &brokers,
        "--topic",
        "alerts",
        "--group",
        "solas",
        "--idle-exit",
        "3",
        "--schema-dir",
        schema_dir.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let summary = text(&out);
    assert!(summary.contains("alerts decoded:     38"), "{summary}");
    assert!(summary.contains("rejected:           0"), "{summary}");
}

/// `solas user add` issues a token; `solas serve` answers the API with it (and refuses
/// requests without one).
#[test]
fn serve_answers_the_api_for_a_user_token() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    run_samples(data);
    let out = solas(&[
        "user",
        "add",
        "ada",
        "--email",
        "ada@example.org",
        "--data",
        data,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let token = text(&out)
        .split("token ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 40, "{token}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_solas"))
        .args(["serve", "--bind", &bind, "--data", data])
        .spawn()
        .unwrap();
    let get = |path: &str| -> String {
        for _ in 0..100 {
            if let Ok(mut s) = std::net::TcpStream::connect(&bind) {
                write!(
                    s,
                    "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap();
                return answer;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("server did not start");
    };
    let (name, ra, dec): (String, f64, f64) = {
        let conn = rusqlite::Connection::open(Path::new(data).join("solas.db")).unwrap();
        conn.query_row(
            "SELECT objectId, ramean, decmean FROM ztf_objects LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let refused = get(&format!(
        "/api/cone/?ra={ra}&dec={dec}&radius=5&requestType=all&survey=ztf"
    ));
    let answer = get(&format!(
        "/api/cone/?ra={ra}&dec={dec}&radius=5&requestType=all&survey=ztf&token={token}"
    ));
    let _ = server.kill();
    let _ = server.wait();
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&name), "{answer}");
}

/// Audit finding F1, the pipeline half: a filter nesting sqrt 26 deep (174 characters)
/// was accepted by `solas filter add`, then `solas run` aborted on every batch rendering
/// gigabytes of SQL. It is stored, and runs, in linear size now.
#[test]
fn f1_a_deeply_nested_filter_neither_crashes_the_run_nor_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let conditions = format!("{}objects.ramean{} > 0", "sqrt(".repeat(26), ")".repeat(26));
    let add = solas(&[
        "filter",
        "add",
        "--data",
        data,
        "--name",
        "expo",
        "--owner",
        "1",
        "--survey",
        "ztf",
        "--selected",
        "objects.objectId",
        "--conditions",
        &conditions,
    ]);
    assert!(add.status.success(), "{}", text(&add));
    let summary = run_samples(data);
    let line = summary
        .lines()
        .find(|l| l.starts_with("user filters:"))
        .unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.get(2).is_some_and(|n| *n != "0") && line.ends_with(" 0 failed"),
        "the filter ran on every batch without failing: {summary}"
    );
}

/// Audit finding F16: a TNS file with only bad rows exited 0 saying "0 rows imported".
/// It fails now, names the bad lines, and leaves the TNS rows there were untouched.
#[test]
fn f16_a_tns_file_of_bad_rows_fails_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let good = solas_testdata::shared().join("tns/fink-science_tns_raw.csv");
    let ok = solas(&["tns", "import", good.to_str().unwrap(), "--data", data]);
    assert!(ok.status.success(), "{}", text(&ok));
    let rows = |data: &str| -> i64 {
        let conn = rusqlite::Connection::open(Path::new(data).join("solas.db")).unwrap();
        conn.query_row("SELECT count(*) FROM crossmatch_tns", [], |r| r.get(0))
            .unwrap()
    };
    let before = rows(data);
    assert!(before > 0);
    let header = std::fs::read_to_string(&good)
        .unwrap()
        .lines()
        .find(|l| l.contains("name"))
        .unwrap()
        .to_string();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, format!("{header}\nnot,a,row\n\"unterminated\n")).unwrap();
    let out = solas(&["tns", "import", bad.to_str().unwrap(), "--data", data]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("line"), "{}", text(&out));
    assert_eq!(rows(data), before, "existing TNS rows untouched");
}

/// Every command that takes `--main-db` uses it: `solas filter …`, `solas annotator …` and
/// `solas annotate` used to write to `<data>/solas.db` whatever `--main-db` said, so a
/// scale-out operator's filters never reached the workers (and `solas object` read only
/// SQLite). On the local PostgreSQL.
#[test]
fn filter_and_annotate_commands_honour_main_db() {
    let Some(pg) = solas_testdata::servers::TempDb::create("cli_main_db") else {
        return;
    };
    let url = pg.url();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let with_db = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data", data, "--main-db", &url]);
        let out = solas(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    };
    let samples = solas_testdata::repo_samples();
    with_db(&["run", "--quiet", samples.to_str().unwrap()]);

    with_db(&["annotator", "add", "fink", "--owner", "9"]);
    assert!(with_db(&["annotator", "list"]).contains("fink"));
    // The filter names the annotator: it checks against what the PostgreSQL database holds.
    let added = with_db(&[
        "filter",
        "add",
        "--name",
        "annotated",
        "--owner",
        "5",
        "--selected",
        "objects.diaObjectId",
        "--tables",
        "objects, annotator:fink",
        "--conditions",
        r#"fink.classification = "KN""#,
    ]);
    let id = added
        .split_whitespace()
        .nth(1)
        .expect("filter N stored")
        .to_string();
    let added = with_db(&[
        "filter",
        "add",
        "--name",
        "every object",
        "--owner",
        "5",
        "--selected",
        "objects.diaObjectId, objects.nDiaSources",
        "--conditions",
        "objects.nDiaSources >= 1",
    ]);
    let every = added.split_whitespace().nth(1).unwrap().to_string();
    let list = with_db(&["filter", "list"]);
    assert!(
        list.contains("annotated") && list.contains("every object"),
        "{list}"
    );
    // `filter test` runs on the PostgreSQL objects the run wrote.
    let rows = with_db(&["filter", "test", &every]);
    assert!(rows.contains("\"diaObjectId\""), "{rows}");
    assert!(!rows.contains("\n0 rows"), "{rows}");
    // As of a date, over a temporary objects table on the PostgreSQL session: the same
    // rows when the date is after every source, none before the first.
    let now = with_db(&["filter", "test", &every, "--as-of", "99999", "--since", "0"]);
    let count = |t: &str| t.lines().filter(|l| l.starts_with('{')).count();
    assert_eq!(count(&now), count(&rows), "{now}");
    let before = with_db(&["filter", "test", &every, "--as-of", "1", "--since", "0"]);
    assert!(before.contains("0 rows, as of MJD 1"), "{before}");
    with_db(&["filter", "activate", &id, "off"]);
    assert!(with_db(&["filter", "list"]).contains("active=off"));
    let object = rows
        .lines()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["diaObjectId"].as_i64())
        .expect("a row")
        .to_string();
    let annotated = with_db(&[
        "annotate",
        "--topic",
        "fink",
        "--object",
        &object,
        "--user",
        "9",
        "--classification",
        "KN",
    ]);
    assert!(annotated.contains("stored"), "{annotated}");
    // `solas object` reads the objects row from PostgreSQL too.
    let shown: serde_json::Value =
        serde_json::from_str(&with_db(&["object", &object, "--store"])).unwrap();
    assert_eq!(shown["object"]["diaObjectId"].as_i64(), object.parse().ok());
    assert!(!shown["lightcurve"]["detections"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(with_db(&["filter", "reports", "--owner", "5"]).contains("0 report(s)"));
    with_db(&["filter", "remove", &id]);
    assert!(!with_db(&["filter", "list"]).contains("annotated"));

    assert!(
        !Path::new(data).join("solas.db").exists(),
        "nothing was written to the data directory's main database"
    );
}

/// `solas db migrate` makes every table before any worker runs, so the operator's guide's
/// grants for the filter role (read from docs/operations.md itself) succeed on a fresh
/// database; they used to fail until a worker had connected once.
#[test]
fn db_migrate_makes_the_tables_the_docs_grant_on() {
    let Some(pg) = solas_testdata::servers::TempDb::create("cli_migrate") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = solas(&[
        "db",
        "migrate",
        "--data",
        data.to_str().unwrap(),
        "--main-db",
        &pg.url(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("main database postgresql host=127.0.0.1"),
        "{}",
        text(&out)
    );
    let again = solas(&[
        "db",
        "migrate",
        "--data",
        data.to_str().unwrap(),
        "--main-db",
        &pg.url(),
    ]);
    assert!(
        again.status.success(),
        "safe to run again: {}",
        text(&again)
    );

    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md"),
    )
    .unwrap();
    let block = docs
        .split("```sql\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the filter role's SQL in docs/operations.md");
    // Every table a filter may name is granted (the consensus views were once left out).
    use solas_query::schema::{physical_table, TableKind};
    for kind in TableKind::ALL {
        for survey in [solas_query::Survey::Lsst, solas_query::Survey::Ztf] {
            let table = physical_table(kind, survey);
            assert!(
                block
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == table),
                "docs/operations.md does not grant {table} to the filter role"
            );
        }
    }
    let role = format!("solas_filters_{}", std::process::id());
    let database = pg.url().rsplit("dbname=").next().unwrap().to_string();
    let sql = block
        .replace("solas_filters", &role)
        .replace("PASSWORD '…'", "PASSWORD 'x'")
        .replace("ON DATABASE solas ", &format!("ON DATABASE {database} "));
    let mut client = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let granted = client.batch_execute(&sql);
    let _ = client.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
    granted.expect("the documented grants succeed after solas db migrate");
}

/// The command lines of the README and `docs/` (fenced blocks, joined at `\` line ends),
/// each as the words after `solas`.
fn documented_command_lines() -> Vec<(String, Vec<String>)> {
    let root = solas_testdata::repo_samples()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let mut in_block = false;
        let mut pending = String::new();
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                continue;
            }
            if !in_block {
                continue;
            }
            pending.push_str(line.trim_end().trim_end_matches('\\'));
            pending.push(' ');
            if line.trim_end().ends_with('\\') {
                continue;
            }
            let command = std::mem::take(&mut pending);
            let command = command.trim().trim_start_matches("$ ");
            if command.starts_with('#') {
                continue;
            }
            // The part after a `solas` word (`solas`, `target/release/solas`, `./solas`),
            // up to a comment, pipe or the next command.
            let words = shlex::split(command.split(" #").next().unwrap_or(""))
                .unwrap_or_else(|| panic!("{name}: unbalanced quotes in {command}"));
            let Some(at) = words
                .iter()
                .position(|w| w == "solas" || w.ends_with("/solas"))
            else {
                continue;
            };
            let args: Vec<String> = words[at + 1..]
                .iter()
                .take_while(|w| !matches!(w.as_str(), "|" | "&&" | ";" | ">" | "&"))
                .cloned()
                .collect();
            if args
                .first()
                .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_lowercase()))
            {
                out.push((name.clone(), args));
            }
        }
    }
    out
}

/// Every `solas …` command line in the README and the docs names subcommands and options
/// that exist, with values of the right kind: run with `--help` appended, each parses.
#[test]
fn every_command_line_in_the_docs_parses() {
    let lines = documented_command_lines();
    assert!(lines.len() > 30, "found {} command lines", lines.len());
    let mut bad = Vec::new();
    for (file, args) in &lines {
        let mut with_help: Vec<&str> = args.iter().map(String::as_str).collect();
        with_help.push("--help");
        let out = solas(&with_help);
        if !out.status.success() {
            let first = text(&out).lines().next().unwrap_or("").to_string();
            bad.push(format!("{file}: solas {}: {first}", args.join(" ")));
        }
    }
    assert!(
        bad.is_empty(),
        "command lines that do not parse:\n{}",
        bad.join("\n")
    );
}

/// `solas replay --archive` publishes the stored alerts of a time window again, rebuilt in
/// the surveys' framings with their cutouts; a second broker run on them stores the same
/// archive, record for record.
#[test]
fn replay_from_the_archive_gives_a_second_broker_the_same_archive() {
    use std::process::Command;
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    cluster.create_topic("replayed", 2, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    let schemas = solas_testdata::lsst_schema_dir();
    let ztf = solas_testdata::shared().join("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3");
    let official = rubin_sample_alerts();
    let mut args = vec![
        "run",
        "-q",
        "--schema-dir",
        schemas.to_str().unwrap(),
        "--data",
        first.to_str().unwrap(),
        ztf.to_str().unwrap(),
    ];
    args.extend(official.iter().map(String::as_str));
    let run = solas(&args);
    assert!(run.status.success(), "{}", text(&run));
    let stored = |summary: &str| {
        summary
            .lines()
            .find(|l| l.starts_with("cutouts stored:"))
            .map(str::to_string)
    };
    let first_cutouts = stored(&text(&run));

    // Rubin's three sample alerts (schemas 9.0, 10.0, 11.1) are one alert id: one stored.
    for (survey, n) in [("ztf", 34), ("lsst", 1)] {
        let out = solas(&[
            "replay",
            "--archive",
            "--survey",
            survey,
            "--since",
            "0",
            "--data",
            first.to_str().unwrap(),
            "--kafka",
            &brokers,
            "--topic",
            "replayed",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("{n} {survey} alerts rebuilt from the archive")),
            "{}",
            text(&out)
        );
    }
    // A filter re-run as the broker knew things: ZTF21abiuvdk has 34 detections now, and
    // had fewer than 30 a fortnight before its last.
    let filter = solas(&[
        "filter",
        "add",
        "--data",
        first.to_str().unwrap(),
        "--name",
        "long",
        "--survey",
        "ztf",
        "--selected",
        "objects.objectId, objects.ncand",
        "--conditions",
        "objects.ncand >= 30",
    ]);
    assert!(filter.status.success(), "{}", text(&filter));
    let as_of = |mjd: Option<&str>| {
        let mut args = vec!["filter", "test", "1", "--data", first.to_str().unwrap()];
        if let Some(mjd) = mjd {
            args.extend(["--as-of", mjd, "--since", "59300"]);
        }
        let out = solas(&args);
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    assert!(as_of(None).contains(r#""ncand":34,"objectId":"ZTF21abiuvdk""#));
    let then = as_of(Some("59447"));
    assert!(
        then.contains("0 rows, as of MJD 59447 over the 1 objects"),
        "{then}"
    );
    let last = as_of(Some("59461.5"));
    assert!(
        last.contains(r#""ncand":34,"objectId":"ZTF21abiuvdk""#),
        "{last}"
    );

    // A window takes only the alerts triggered inside it.
    let out = solas(&[
        "replay",
        "--archive",
        "--survey",
        "ztf",
        "--since",
        "0",
        "--until",
        "1",
        "--data",
        first.to_str().unwrap(),
        "--kafka",
        &brokers,
        "--topic",
        "elsewhere",
    ]);
    assert!(
        text(&out).contains("0 ztf alerts rebuilt"),
        "{}",
        text(&out)
    );

    let run = solas(&[
        "run",
        "-q",
        "--kafka",
        &brokers,
        "--topic",
        "replayed",
        "--group",
        "second",
        "--idle-exit",
        "3",
        "--schema-dir",
        schemas.to_str().unwrap(),
        "--data",
        second.to_str().unwrap(),
    ]);
    let summary = text(&run);
    assert!(run.status.success(), "{summary}");
    assert!(summary.contains("alerts decoded:     35"), "{summary}");
    assert!(summary.contains("rejected:           0"), "{summary}");
    assert_eq!(stored(&summary), first_cutouts, "every cutout again");
    // Every field of every source, in both archives: the same.
    for survey in ["ztf", "lsst"] {
        for kind in ["sources", "forced", "nondetections"] {
            let export = |data: &Path| {
                let out = Command::new(env!("CARGO_BIN_EXE_solas"))
                    .args(["export", "--survey", survey, "--since", "0", "--kind", kind])
                    .args(["--format", "jsonl", "--data", data.to_str().unwrap()])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", text(&out));
                String::from_utf8(out.stdout).unwrap()
            };
            let (a, b) = (export(&first), export(&second));
            assert_eq!(a, b, "{survey} {kind}");
            let least = match (survey, kind) {
                ("ztf", "sources") => 34,
                ("ztf", "nondetections") => 16,
                ("lsst", "sources") => 3,
                _ => 0,
            };
            assert!(
                a.lines().count() >= least,
                "{survey} {kind}: {}",
                a.lines().count()
            );
        }
    }
}

/// The demo's catalogue (kept in the repository, `samples/catalogues/`) gives the sample
/// alerts a context: the Rubin source 75″ from HIP 3016 is a bright-star artefact, and
/// the others, near no catalogued source, are ORPHAN.
#[test]
fn the_demo_classifies_the_samples_with_the_catalogue_kept_in_the_repository() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let add = solas(&[
        "catalogue",
        "--data",
        data,
        "add",
        repo.join("samples/catalogues/hipparcos2.toml")
            .to_str()
            .unwrap(),
    ]);
    assert!(add.status.success(), "{}", text(&add));
    run_samples(data);
    let class_of = |id: &str| {
        let out = solas(&["object", id, "--data", data]);
        assert!(out.status.success(), "{}", text(&out));
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Lasair-LSST puts it in `lasairData`; Lasair-ZTF at the top.
        let sherlock = match answer.get("lasairData") {
            Some(l) => &l["sherlock"],
            None => &answer["sherlock"],
        };
        sherlock["classification"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{id}: no context in {answer}"))
    };
    assert_eq!(class_of("169298432621019290"), "BS");
    assert_eq!(class_of("ZTF20aaelulu"), "ORPHAN");
}

/// `solas bench --history N`: after a preload of N copies (each a new object), the timed
/// replay adds alerts to those objects: no new object, one new detection per alert (the
/// trigger; histories repeat what was stored), and the two rates side by side.
#[test]
fn bench_history_replays_new_alerts_of_stored_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let samples = solas_testdata::repo_samples().join("lsst");
    let out = solas(&[
        "bench",
        samples.to_str().unwrap(),
        "--history",
        "3",
        "--alerts",
        "60",
        "--data",
        data.to_str().unwrap(),
    ]);
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("preload:") && text.contains("of the fresh rate"),
        "{text}"
    );
    let count = |db: &str, table: &str| -> i64 {
        rusqlite::Connection::open(data.join(db))
            .unwrap()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    // 12 sample Rubin alerts, 12 objects, preloaded 3 times: 36 objects; the 60 history
    // alerts add none, and exactly their 60 triggers as detections.
    assert_eq!(count("solas.db", "objects"), 36);
    let preload_only = {
        let tmp2 = tempfile::tempdir().unwrap();
        let d2 = tmp2.path().join("data");
        let out = solas(&[
            "bench",
            samples.to_str().unwrap(),
            "--alerts",
            "36",
            "--data",
            d2.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        rusqlite::Connection::open(d2.join("lightcurves.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM detections", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
    };
    assert_eq!(count("lightcurves.db", "detections"), preload_only + 60);
}

#[test]
fn bench_history_preload_without_cutouts_keeps_only_the_history_alerts_cutouts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let samples = solas_testdata::repo_samples().join("lsst");
    let out = solas(&[
        "bench",
        samples.to_str().unwrap(),
        "--history",
        "3",
        "--alerts",
        "12",
        "--without-cutouts",
        "preload",
        "--data",
        data.to_str().unwrap(),
    ]);
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("without cutouts"), "{text}");
    let db = rusqlite::Connection::open(data.join("lightcurves.db")).unwrap();
    let objects: i64 = db
        .query_row(
            "SELECT count(DISTINCT object_id) FROM detections",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(objects, 36, "the preload's objects are all stored");
    // Three stamps (science, template, difference) for each of the 12 history alerts'
    // triggers, none for the 36 preloaded alerts.
    let cutouts: i64 = rusqlite::Connection::open(data.join("cutouts/index.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM cutouts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cutouts, 36, "{text}");
}

#[test]
fn bench_without_records_stores_the_same_typed_rows_and_no_records() {
    // The archive's cost is measured against this mode (BENCHMARKS.md), so it must store
    // what the pipeline stored before the archive: every typed row and objects row, and
    // not one record.
    let tmp = tempfile::tempdir().unwrap();
    let samples = solas_testdata::repo_samples().join("lsst");
    let run = |name: &str, without: bool| {
        let data = tmp.path().join(name);
        let mut args = vec!["bench", samples.to_str().unwrap(), "--alerts", "6"];
        args.extend(["--data", data.to_str().unwrap()]);
        if without {
            args.push("--without-records");
        }
        let out = solas(&args);
        let text = text(&out);
        assert!(out.status.success(), "{text}");
        assert_eq!(text.contains("typed rows only"), without, "{text}");
        let lc = rusqlite::Connection::open(data.join("lightcurves.db")).unwrap();
        let count = |sql: &str| lc.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let objects = rusqlite::Connection::open(data.join("solas.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM objects", [], |r| r.get::<_, i64>(0))
            .unwrap();
        (
            [
                count("SELECT count(*) FROM detections"),
                count("SELECT count(*) FROM forced_photometry"),
                objects,
            ],
            count(
                "SELECT (SELECT count(record) FROM detections_with_record)
                 + (SELECT count(record) FROM forced_photometry_with_record)
                 + (SELECT count(*) FROM object_records) + (SELECT count(*) FROM alerts)",
            ),
        )
    };
    let (rows, records) = run("with", false);
    let (rows_without, records_without) = run("without", true);
    // The samples' alerts carry detections (no forced photometry).
    assert!(rows[0] > 0 && rows[2] > 0, "{rows:?}");
    assert!(
        records >= rows[0] + rows[1] + 2 * 6,
        "every source has its record, each alert its envelope and diaObject: {records}"
    );
    assert_eq!(rows_without, rows, "the same typed rows and objects rows");
    assert_eq!(records_without, 0, "no records kept");
}

#[test]
fn a_catalogue_load_killed_with_sigkill_resumes_to_the_files_of_a_clean_load() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,ra,dec,mag\n");
    let mut rng = fastrand::Rng::with_seed(5);
    for i in 0..400_000 {
        csv.push_str(&format!(
            "{i},{:.7},{:.7},{:.3}\n",
            rng.f64() * 360.0,
            (rng.f64() * 2.0 - 1.0).asin().to_degrees(),
            10.0 + rng.f64() * 10.0
        ));
    }
    std::fs::write(tmp.path().join("stars.csv"), csv).unwrap();
    let toml = tmp.path().join("stars.toml");
    std::fs::write(
        &toml,
        "name = \"stars\"\nkind = \"star\"\n[source]\npath = \"stars.csv\"\nformat = \"csv\"\n\
         [columns]\nra = \"ra\"\ndec = \"dec\"\nid = \"id\"\nmags = [{ column = \"mag\", filter = \"V\" }]\n\
         [search]\nassociation_radius_arcsec = 2.0\n",
    )
    .unwrap();
    let add = |store: &std::path::Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_solas"));
        c.args([
            "catalogue",
            "add",
            "--memory-mb",
            "2",
            "--checkpoint-rows",
            "20000",
        ])
        .arg(&toml)
        .arg("--catalogues")
        .arg(store);
        c
    };
    let clean = tmp.path().join("clean");
    let out = add(&clean).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Killed once the first checkpoint is on disk, mid-partition or mid-sort.
    let killed = tmp.path().join("killed");
    let mut child = add(&killed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = killed.join(".build-stars").join("state.toml");
    let t = std::time::Instant::now();
    while !state.exists() && t.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(state.exists(), "a checkpoint was written before the kill");
    assert!(!killed.join("stars").exists(), "nothing put in place yet");
    let out = add(&killed).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("400000 rows loaded"), "{}", text(&out));
    assert!(
        text(&out).contains("resumed at input row"),
        "{}",
        text(&out)
    );
    for f in ["pos.bin", "attrs.bin", "cells.bin"] {
        let a = std::fs::read(clean.join("stars").join(f)).unwrap();
        let b = std::fs::read(killed.join("stars").join(f)).unwrap();
        assert!(a == b, "{f} differs after the resumed load");
    }
    assert!(!killed.join(".build-stars").exists());
}

/// GCN notices in: `solas gcn follow` reads notices of several missions from Kafka (in
/// gcn-schema's shapes, and LVK's alert of its mock event MS181101ab carrying LVK's own
/// multi-order skymap), stores the located ones as events, tags the stored objects inside
/// their regions and windows, skips tests (unless asked) and notices without a position,
/// sets a malformed one aside with its reason; a retraction then removes its event and its
/// tags.
#[test]
fn gcn_notices_from_kafka_tag_objects_and_a_retraction_removes_them() {
    use base64::Engine;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap();
    let ztf = solas_testdata::shared_glob("ztf/alerts/*/*.avro");
    let mut args = vec!["run", "-q", "--data", data_s];
    args.extend(ztf.iter().map(|p| p.to_str().unwrap()));
    let out = solas(&args);
    assert!(out.status.success(), "{}", text(&out));
    // Two stored objects, far apart: a GRB and a neutrino a day before their latest
    // detections, with error circles on them.
    let db = rusqlite::Connection::open(data.join("solas.db")).unwrap();
    let objects: Vec<(String, f64, f64, f64)> = db
        .prepare(
            "SELECT objectId, ramean, decmean, jdmax FROM ztf_objects ORDER BY ncand DESC LIMIT 20",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let a = objects[0].clone();
    let b = objects
        .iter()
        .find(|o| (o.1 - a.1).abs() > 10.0)
        .unwrap()
        .clone();
    let day_before = |jd: f64| {
        let unix = (jd - 2_440_587.5 - 1.0) * 86_400.0;
        solas_delivery::gcn::iso_utc(unix)
    };
    let swift = serde_json::json!({
        "$schema": "https://gcn.nasa.gov/schema/v7.2.3/gcn/notices/swift/bat/Guano.schema.json",
        "mission": "Swift", "instrument": "BAT-GUANO", "messenger": "EM", "record_number": 3,
        "alert_datetime": "2023-01-01T05:33:01Z", "alert_tense": "current", "alert_type": "update",
        "trigger_time": day_before(a.3), "ra": a.1, "dec": a.2, "ra_dec_error": 0.05,
        "containment_probability": 0.9, "systematic_included": true, "id": ["694215995"]
    });
    let icecube = serde_json::json!({
        "$schema": "https://gcn.nasa.gov/schema/v7.2.3/gcn/notices/icecube/single_neutrino_alerts.schema.json",
        "mission": "IceCube", "instrument": "IC86", "messenger": "Neutrino",
        "pipeline": "Gold Track Alert", "record_number": 1, "event_name": ["IceCube-210701A"],
        "id": ["137840_57034692"], "alert_type": "initial", "alert_tense": "current",
        "ra": b.1, "dec": b.2, "ra_dec_error": 0.5, "containment_probability": 0.9,
        "trigger_time": day_before(b.3)
    });
    let svom_test = serde_json::json!({
        "$schema": "https://gcn.nasa.gov/schema/v7.2.3/gcn/notices/svom/trigger.schema.json",
        "instrument": "ECLAIRs", "alert_tense": "test", "alert_type": "initial",
        "id": ["sb24022203"], "trigger_time": day_before(a.3), "ra": a.1, "dec": a.2,
        "ra_dec_error": 0.1
    });
    let fermi = serde_json::json!({
        "$schema": "https://gcn.nasa.gov/schema/v7.2.3/gcn/notices/fermi/gbm/trigger.schema.json",
        "mission": "Fermi", "instrument": "GBM", "id": ["745121685", "bn240812094"],
        "alert_type": "initial", "alert_tense": "current", "trigger_time": "2024-08-24T02:14:40.43"
    });
    // LVK's mock event (its user guide's example), gzipped to fit Kafka's 1 MB messages.
    let skymap =
        std::fs::read(solas_testdata::shared().join("moc/MS181101ab_multiorder_skymap.fits"))
            .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &skymap).unwrap();
    let lvk = serde_json::json!({
        "alert_type": "PRELIMINARY", "time_created": "2018-11-01T22:34:49Z",
        "superevent_id": "MS181101ab",
        "event": {"time": "2018-11-01T22:22:46.654Z", "group": "CBC", "pipeline": "gstlal",
                  "skymap": base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())}
    });
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    let brokers = cluster.bootstrap_servers();
    for topic in ["gcn.notices.swift.bat.guano", "igwn.gwalert"] {
        cluster.create_topic(topic, 1, 1).unwrap();
    }
    // Compressed on the wire as GCN's brokers do: LVK's alerts near Kafka's 1 MB limit.
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("compression.type", "gzip")
        .create()
        .unwrap();
    let send = |topic: &str, payload: &[u8]| {
        if let Err((e, _)) = producer.send(BaseRecord::<(), [u8]>::to(topic).payload(payload)) {
            panic!("sending {} bytes to {topic}: {e}", payload.len());
        }
        producer.flush(std::time::Duration::from_secs(10)).unwrap();
    };
    let notices = "gcn.notices.swift.bat.guano";
    for n in [&swift, &icecube, &svom_test, &fermi] {
        send(notices, n.to_string().as_bytes());
    }
    send(notices, b"{\"mission\": \"Swift\", ");
    send("igwn.gwalert", lvk.to_string().as_bytes());
    let follow = |extra: &[&str]| {
        let mut args = vec![
            "gcn",
            "follow",
            "--kafka",
            &brokers,
            "--topic",
            notices,
            "--topic",
            "igwn.gwalert",
            "--group",
            "solas-gcn",
            "--idle-exit",
            "2",
            "--data",
            data_s,
        ];
        args.extend(extra);
        let out = solas(&args);
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    let said = follow(&[]);
    assert!(
        said.contains("6 notices: 2 events located, 0 retractions, 3 skipped, 1 set aside"),
        "{said}"
    );
    let events: Vec<String> = db
        .prepare("SELECT name FROM mma_areas ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events, ["IceCube-210701A", "Swift BAT-GUANO 694215995"]);
    let tagged = |event: &str| -> Vec<String> {
        db.prepare(
            "SELECT h.objectId FROM ztf_mma_area_hits h JOIN mma_areas a ON a.mw_id = h.mw_id
             WHERE a.name = ?1 ORDER BY h.objectId",
        )
        .unwrap()
        .query_map([event], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    assert_eq!(tagged("Swift BAT-GUANO 694215995"), vec![a.0.clone()]);
    assert_eq!(tagged("IceCube-210701A"), vec![b.0.clone()]);
    let rejected = data.join("gcn-rejected");
    let why: Vec<String> = std::fs::read_dir(&rejected)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "why"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(why.len(), 1);
    assert!(why[0].contains("not a JSON object"), "{why:?}");

    // Swift retracts: the event and its tag go; the neutrino's stay.
    let retraction = serde_json::json!({
        "$schema": "https://gcn.nasa.gov/schema/v7.2.3/gcn/notices/swift/bat/Guano.schema.json",
        "mission": "Swift", "instrument": "BAT-GUANO", "alert_type": "retraction",
        "alert_tense": "current", "trigger_time": day_before(a.3), "id": ["694215995"]
    });
    send(notices, retraction.to_string().as_bytes());
    let said = follow(&[]);
    assert!(
        said.contains("1 notices: 0 events located, 1 retractions"),
        "{said}"
    );
    assert!(tagged("Swift BAT-GUANO 694215995").is_empty());
    assert_eq!(tagged("IceCube-210701A"), vec![b.0.clone()]);
    let count: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM mma_areas WHERE name LIKE 'Swift%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(count, 0);

    // Asked to, a follower stores LVK's mock event with its skymap (a new group reads the
    // topic from its start); the ZTF objects came years later, so it tags none.
    let out = solas(&[
        "gcn",
        "follow",
        "--kafka",
        &brokers,
        "--topic",
        "igwn.gwalert",
        "--group",
        "with-tests",
        "--idle-exit",
        "2",
        "--accept-tests",
        "--data",
        data_s,
    ]);
    assert!(
        text(&out).contains("1 notices: 1 events located"),
        "{}",
        text(&out)
    );
    let (area90, path): (f64, String) = db
        .query_row(
            "SELECT area90, skymap_path FROM mma_areas WHERE name = 'MS181101ab'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(area90 > 10.0 && area90 < 5000.0, "{area90} deg²");
    assert!(data.join(path).is_file());
    assert!(tagged("MS181101ab").is_empty());
}
