//! Test support: an in-memory brute-force [`ConeSearch`] and readers for the real shared
//! catalogue files (OpenNGC, 3HSP, Hipparcos-2) and real GCVS rows.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::json;
use solas_catalogue::{CatalogueRow, Description};
use solas_context::{distance::separation_arcsec, ConeSearch};

/// Catalogues held in memory; cone searches scan every row.
pub struct MemoryStore {
    pub descriptions: Vec<Description>,
    pub rows: Vec<Vec<CatalogueRow>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            descriptions: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Add a catalogue; returns its index. Rows get their `catalogue` field set.
    pub fn add(&mut self, description: Description, mut rows: Vec<CatalogueRow>) -> usize {
        let index = self.descriptions.len();
        for r in &mut rows {
            r.catalogue = index;
        }
        self.descriptions.push(description);
        self.rows.push(rows);
        index
    }
}

impl ConeSearch for MemoryStore {
    fn catalogues(&self) -> &[Description] {
        &self.descriptions
    }

    fn cone(&self, catalogue: usize, ra: f64, dec: f64, radius: f64, out: &mut Vec<CatalogueRow>) {
        out.extend(
            self.rows[catalogue]
                .iter()
                .filter(|r| separation_arcsec(r.ra, r.dec, ra, dec) <= radius)
                .cloned(),
        );
    }
}

/// A description with the given search rules (the source/columns parts are placeholders:
/// the classifier never reads them).
pub fn description(
    name: &str,
    kind: &str,
    priority: u32,
    search: serde_json::Value,
) -> Description {
    serde_json::from_value(json!({
        "name": name,
        "kind": kind,
        "priority": priority,
        "source": { "path": "unused.csv", "format": "csv" },
        "columns": { "ra": "ra", "dec": "dec", "id": "id" },
        "search": search,
    }))
    .expect("valid description")
}

/// Rules shaped like Sherlock's "NED-D / NED spec big galaxies" entry (NT / SN, 50 kpc,
/// within the semi-major axis), with a wider angular cone for nearby big galaxies.
pub fn galaxy_rules() -> serde_json::Value {
    json!({
        "synonym_radius_arcsec": 1.3,
        "association_radius_arcsec": 900.0,
        "association_radius_kpc": 50.0,
        "synonym_class": "NT",
        "association_class": "SN",
        "within_semi_major_axis": true,
    })
}

/// Bright stars: VS synonym, BS association with the magnitude rule, 600″ cap.
pub fn bright_star_rules() -> serde_json::Value {
    json!({
        "synonym_radius_arcsec": 1.5,
        "association_radius_arcsec": 600.0,
        "synonym_class": "VS",
        "association_class": "BS",
        "bright_star": true,
    })
}

pub fn row(id: &str, ra: f64, dec: f64) -> CatalogueRow {
    CatalogueRow {
        id: id.to_owned(),
        ..CatalogueRow::at(ra, dec)
    }
}

pub fn data() -> PathBuf {
    solas_testdata::shared()
}

/// "hh:mm:ss.s" or "hh mm ss.s" (hours when `hours`), "+dd:mm:ss" → degrees.
pub fn sexagesimal(s: &str, hours: bool) -> Option<f64> {
    let s = s.trim().trim_matches('"').trim();
    let negative = s.starts_with('-');
    let parts: Vec<f64> = s
        .trim_start_matches(['+', '-'])
        .split([':', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts.len() != 3 {
        return None;
    }
    let v = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0;
    let v = if hours { v * 15.0 } else { v };
    Some(if negative { -v } else { v })
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

/// Every galaxy (Type `G`) of OpenNGC `NGC.csv` with a position: id, B (else V) magnitude,
/// redshift, semi-major axis (half of MajAx, arcmin → arcsec).
pub fn openngc_galaxies() -> Vec<CatalogueRow> {
    let text = std::fs::read_to_string(data().join("catalogues/openngc/NGC.csv")).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(';').collect();
        if f.len() < 20 || f[1] != "G" {
            continue;
        }
        let (Some(ra), Some(dec)) = (sexagesimal(f[2], true), sexagesimal(f[3], false)) else {
            continue;
        };
        let mut r = row(f[0], ra, dec);
        r.object_type = Some(f[1].to_owned());
        if let Some(b) = number(f[8]) {
            (r.mag, r.mag_filter) = (Some(b), Some("B".into()));
        } else if let Some(v) = number(f[9]) {
            (r.mag, r.mag_filter) = (Some(v), Some("V".into()));
        }
        r.z = number(f[19]);
        r.semi_major_axis_arcsec = number(f[5]).map(|d| d * 60.0 / 2.0);
        rows.push(r);
    }
    rows
}

/// All 2,013 3HSP blazars (padded header, quoted sexagesimal positions).
pub fn three_hsp() -> Vec<CatalogueRow> {
    let text = std::fs::read_to_string(data().join("catalogues/fink-science/3hsp.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(" , ").collect();
            let mut r = row(
                f[1].trim().trim_matches('"'),
                sexagesimal(f[3], true)?,
                sexagesimal(f[4], false)?,
            );
            r.object_type = Some("blazar".into());
            Some(r)
        })
        .collect()
}

/// All 23,329 Hipparcos-2 stars of the shared file (Hp < 7.5, plus stars near alerts).
pub fn hipparcos() -> Vec<CatalogueRow> {
    let path = data().join("catalogues/hipparcos2/hip2_Hp_lt_7.5_plus_near_alerts.csv");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let mut r = row(
                &format!("HIP {}", f[0]),
                number(f[1]).unwrap(),
                number(f[2]).unwrap(),
            );
            r.mag = number(f[6]);
            r.mag_filter = Some("Hp".into());
            r
        })
        .collect()
}

/// Real GCVS rows from `fink-science/gcvs.parquet` (row index, ra, dec, VarType), read once
/// with pyarrow and copied here because the tests do not link a Parquet reader.
pub fn gcvs() -> Vec<CatalogueRow> {
    [
        ("36", 39.599124999999994, 39.16941666666666, "LB"),
        ("14991", 47.10816666666666, 8.084083333333334, "BY"),
        ("56599", 179.64029166666666, 52.02972222222222, "RRAB"),
        ("58852", 303.9188333333333, 25.444, "M"),
    ]
    .into_iter()
    .map(|(id, ra, dec, t)| {
        let mut r = row(id, ra, dec);
        r.object_type = Some(t.into());
        r
    })
    .collect()
}

/// Position of a ZTF object from `ztf/alerts_index.csv` (its first alert).
pub fn ztf_position(object_id: &str) -> (f64, f64) {
    let text = std::fs::read_to_string(data().join("ztf/alerts_index.csv")).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(',').nth(1) == Some(object_id))
        .unwrap_or_else(|| panic!("{object_id} not in alerts_index.csv"));
    let f: Vec<&str> = line.split(',').collect();
    (number(f[5]).unwrap(), number(f[6]).unwrap())
}

/// Position of a Rubin DIA object from the Fink commissioning index.
pub fn rubin_position(dia_object_id: &str) -> (f64, f64) {
    let path = data().join("lsst/real/fink-broker_rubin_2025-09-05_v9.0_index.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(',').nth(2) == Some(dia_object_id))
        .unwrap_or_else(|| panic!("{dia_object_id} not in the Rubin index"));
    let f: Vec<&str> = line.split(',').collect();
    (number(f[7]).unwrap(), number(f[8]).unwrap())
}

/// The full test store: OpenNGC galaxies, 3HSP, Hipparcos-2, GCVS.
pub fn real_store() -> MemoryStore {
    let mut s = MemoryStore::new();
    s.add(
        description("openngc", "galaxy", 2, galaxy_rules()),
        openngc_galaxies(),
    );
    s.add(
        description(
            "3hsp",
            "agn",
            1,
            json!({
                "synonym_radius_arcsec": 3.0,
                "association_radius_arcsec": 3.0,
                "synonym_class": "AGN",
                "association_class": "SN",
            }),
        ),
        three_hsp(),
    );
    s.add(
        description("hipparcos2", "bright_star", 6, bright_star_rules()),
        hipparcos(),
    );
    s.add(
        description(
            "gcvs",
            "variable_star",
            4,
            json!({ "synonym_radius_arcsec": 2.0, "association_radius_arcsec": 2.0, "synonym_class": "VS" }),
        ),
        gcvs(),
    );
    s
}
