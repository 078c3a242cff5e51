//! The `solas` command as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

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
    let out = solas(&["object", "ZTF20aajcdad", "--data", data.to_str().unwrap()]);
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
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let descriptions: Vec<String> = ["openngc", "3hsp", "hipparcos2"]
        .iter()
        .map(|n| {
            repo.join(format!("catalogues/{n}.toml"))
                .display()
                .to_string()
        })
        .collect();
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
