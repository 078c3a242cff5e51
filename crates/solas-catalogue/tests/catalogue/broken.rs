//! Broken input is reported row by row (CSV by line number), never dropped silently, and
//! never panics; a broken *file* is a typed error.

use std::path::Path;

use solas_catalogue::{load_description, CatalogueError};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const DESC: &str = r#"
name = "broken"
kind = "galaxy"
[source]
path = "broken.csv"
format = "csv"
delimiter = ";"
skip_lines = 1
[columns]
ra = "RA"
dec = "Dec"
id = "Name"
type = "Type"
z = "z"
[filter]
types = ["G"]
[search]
association_radius_arcsec = 10.0
"#;

#[test]
fn bad_csv_lines_are_reported_by_line_number() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "broken.csv",
        "# a comment line skipped by skip_lines\n\
         Name ; Type ; RA ; Dec ; z\n\
         A;G;00:00:01.0;+01:00:00;0.01\n\
         B;G;25:00:00;+01:00:00;0.01\n\
         C;G;10:00:00;+91:00:00;0.01\n\
         D;G;10:00:00\n\
         ;G;10:00:00;+01:00:00;0.01\n\
         \n\
         F;G;10:00:00;+01:00:00;zero\n\
         G;*;10:00:00;+01:00:00;\n\
         \"H;G;10:00:00;+01:00:00;0.1\n\
         I;G;12 30 00;-00 30 00;\n\
         J;G;abc;+01:00:00;0.1\r\n",
    );
    let l = load_description(&write(tmp.path(), "broken.toml", DESC)).unwrap();
    let r = &l.report;
    assert_eq!((r.rows_loaded, r.filtered, r.bad_row_count), (2, 1, 7));
    let lines: Vec<u64> = r.bad_rows.iter().map(|b| b.0).collect();
    assert_eq!(lines, [4, 5, 6, 7, 9, 11, 13]);
    let reason = |line| &r.bad_rows.iter().find(|b| b.0 == line).unwrap().1;
    assert!(reason(4).contains("24"), "{}", reason(4));
    assert!(reason(5).contains("outside"), "{}", reason(5));
    assert!(reason(6).contains("3 fields"), "{}", reason(6));
    assert!(reason(7).contains("id"), "{}", reason(7));
    assert!(reason(9).contains("zero"), "{}", reason(9));
    assert!(reason(11).contains("quote"), "{}", reason(11));
    assert_eq!(l.rows[1].id, "I");
    assert_eq!(
        (l.rows[1].ra, l.rows[1].dec, l.rows[1].z),
        (187.5, -0.5, None)
    );
}

#[test]
fn file_level_problems_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    // A column the description names is not in the header.
    write(
        tmp.path(),
        "broken.csv",
        "skip\nName;Type;RA;Dec\nA;G;1;1\n",
    );
    let err = load_description(&write(tmp.path(), "broken.toml", DESC)).unwrap_err();
    assert!(
        matches!(&err, CatalogueError::MissingColumn { column, .. } if column == "z"),
        "{err}"
    );
    // Missing file.
    std::fs::remove_file(tmp.path().join("broken.csv")).unwrap();
    let err = load_description(&tmp.path().join("broken.toml")).unwrap_err();
    assert!(matches!(err, CatalogueError::Io { .. }), "{err}");
    // Unknown keys in the description are rejected.
    let err = load_description(&write(
        tmp.path(),
        "x.toml",
        &format!("{DESC}\nbogus = 1\n"),
    ))
    .unwrap_err();
    assert!(matches!(err, CatalogueError::Description { .. }), "{err}");
    // Garbage in place of FITS and Parquet files.
    write(tmp.path(), "junk.bin", &"SIMPLE  = T".repeat(300));
    for format in ["fits", "parquet"] {
        let desc = DESC
            .replace("broken.csv", "junk.bin")
            .replace("\"csv\"", &format!("\"{format}\""));
        let err = load_description(&write(tmp.path(), "j.toml", &desc)).unwrap_err();
        assert!(
            matches!(
                err,
                CatalogueError::Format { .. } | CatalogueError::Parquet { .. }
            ),
            "{err}"
        );
    }
}

#[test]
fn truncated_fits_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let fits = solas_testdata::shared().join("catalogues/fink-science/table-4LAC-DR3-l.fits");
    let bytes = std::fs::read(fits).unwrap();
    let desc = r#"
name = "t"
kind = "agn"
[source]
path = "cut.fits"
format = "fits"
[columns]
ra = "RAJ2000"
dec = "DEJ2000"
id = "Source_Name"
[search]
association_radius_arcsec = 3.0
"#;
    let toml = write(tmp.path(), "t.toml", desc);
    for cut in [100, 2880, 2880 * 3, bytes.len() - 5000] {
        std::fs::write(tmp.path().join("cut.fits"), &bytes[..cut]).unwrap();
        assert!(load_description(&toml).is_err(), "cut at {cut}");
    }
    std::fs::write(tmp.path().join("cut.fits"), &bytes).unwrap();
    assert_eq!(load_description(&toml).unwrap().report.rows_loaded, 407);
}

const FIXED_DESC: &str = r#"
name = "fixed"
kind = "agn"
[source]
path = "fixed.txt"
format = "fixed"
skip_lines = 2
[source.fields]
RA = "1-9"
Dec = "11-19"
Name = "21-32"
Type = "34-35"
z = " 37- 41"
[columns]
ra = "RA"
dec = "Dec"
ra_unit = "deg"
id = "Name"
type = "Type"
z = "z"
[filter]
types = ["Q*"]
[search]
association_radius_arcsec = 3.0
"#;

#[test]
fn bad_fixed_width_lines_are_reported_by_line_number() {
    let tmp = tempfile::tempdir().unwrap();
    // Columns:    1-9       11-19     21-32        34-35 37-41
    write(
        tmp.path(),
        "fixed.txt",
        "A two-line preamble skipped by skip_lines\n\
         -----------------------------------------\n\
         \x20 10.5000   -1.2500 SDSS J1 a    Q  0.123\n\
         \x20 11.0000   -2.0000 SDSS J2      QX\n\
         \x20 12.0000  -95.0000 SDSS J3      Q  0.100\n\
         \n\
         \x20 13.0O00    3.0000 SDSS J4      Q  0.100\n\
         \x20 14.0000    4.0000 SDSS J5      q  0.100\n\
         \x20 15.0000    5.0000              Q  0.100\n\
         \x20 16.0000\t   6.0000 SDSS J7      Q  0.100\n\
         \x20 17.0000    7.0000 SDSS J8      Q  z.zzz\r\n\
         \x20 18.0000    8.0000 SDSS J9      Q  0.900\r\n",
    );
    let l = load_description(&write(tmp.path(), "fixed.toml", FIXED_DESC)).unwrap();
    let r = &l.report;
    assert_eq!(
        (r.rows_loaded, r.filtered, r.bad_row_count),
        (3, 1, 5),
        "{r}"
    );
    let lines: Vec<u64> = r.bad_rows.iter().map(|b| b.0).collect();
    assert_eq!(lines, [5, 7, 9, 10, 11], "{r}");
    let reason = |line| &r.bad_rows.iter().find(|b| b.0 == line).unwrap().1;
    assert!(reason(5).contains("outside"), "{}", reason(5));
    assert!(reason(7).contains("13.0O00"), "{}", reason(7));
    assert!(reason(9).contains("id"), "{}", reason(9));
    assert!(reason(10).contains("tab"), "{}", reason(10));
    assert!(reason(11).contains("z.zzz"), "{}", reason(11));
    let ids: Vec<&str> = l.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["SDSS J1 a", "SDSS J2", "SDSS J9"]);
    // Short line: the missing z is a missing value, not an error.
    assert_eq!((l.rows[0].z, l.rows[1].z), (Some(0.123), None));
    assert_eq!((l.rows[2].ra, l.rows[2].dec), (18.0, 8.0));
}

#[test]
fn fixed_width_description_errors() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "fixed.txt",
        "  10.5000   -1.2500 SDSS J1      Q  0.123\n",
    );
    let cases = [
        // A range that ends before it starts.
        (FIXED_DESC.replace("\"21-32\"", "\"32-21\""), "Name"),
        // No byte ranges at all.
        (
            format!(
                "{}{}",
                &FIXED_DESC[..FIXED_DESC.find("[source.fields]").unwrap()],
                &FIXED_DESC[FIXED_DESC.find("[columns]").unwrap()..]
            ),
            "[source.fields]",
        ),
        // A column the description names is not a field.
        (FIXED_DESC.replace("z = \" 37- 41\"", ""), "z"),
        // Byte ranges with another format.
        (FIXED_DESC.replace("\"fixed\"", "\"csv\""), "only for"),
    ];
    for (desc, needle) in cases {
        let err = load_description(&write(tmp.path(), "f.toml", &desc)).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}
