//! The TOML description of a catalogue.
//!
//! ```toml
//! name = "openngc"                 # short name, used as catalogue_table_name
//! kind = "galaxy"                  # what it lists: galaxy | star | bright_star | agn | cv | variable_star | unclear
//! priority = 2                     # lower wins when matches tie (catalogue quality)
//! url = "https://github.com/mattiaverga/OpenNGC"   # where the full catalogue is published
//! licence = "CC BY-SA 4.0"         # its terms of use
//!
//! [source]
//! path = "openngc/NGC.csv"         # relative to the description file, or absolute
//! format = "csv"                   # csv | parquet | fits | fixed | hats
//! delimiter = ";"                  # csv only; default ","
//! # quote = "\""                   # csv only
//! # skip_lines = 0                 # lines before the header
//! # hdu = 1                        # fits only: which HDU holds the binary table
//! # extra_paths = ["openngc/addendum.csv"]  # more files, same format and columns
//! # skip_after_header = 0          # csv only: lines between header and data (units, dashes)
//!
//! [columns]
//! ra = "RA"                        # degrees, or sexagesimal "hh:mm:ss.s" / "hh mm ss.s"
//! dec = "Dec"                      # degrees, or sexagesimal "+dd:mm:ss" / "+dd mm ss"
//! ra_unit = "auto"                 # auto (detect sexagesimal) | deg | hourangle (decimal hours)
//! id = "Name"
//! type = "Type"
//! mags = [{ column = "B-Mag", filter = "B" }, { column = "V-Mag", filter = "V" }]
//! z = "Redshift"
//! # photoz = "..." photoz_err = "..." distance_mpc = "..."
//! semi_major_axis = "MajAx"        # a major-axis diameter or semi-major axis column ...
//! semi_major_axis_unit = "arcmin"  # arcsec | arcmin | deg
//! semi_major_axis_is_diameter = true
//! # pm_ra = "pmra"  pm_dec = "pmdec"  epoch = 2016.0   # proper motions (mas/yr) and their epoch
//!
//! [filter]                         # optional: keep only rows whose type is listed
//! types = ["G", "GPair", "GTrpl", "GGroup"]   # "UG*" matches by prefix
//! # exclude_types = ["Dup"]        # then drop these
//! # type_separators = "+"          # GCVS "EA+NL": patterns match any part
//!
//! [search]                         # how the classifier uses the catalogue (see SearchRules)
//! synonym_radius_arcsec = 1.3
//! association_radius_arcsec = 120.0
//! association_radius_kpc = 50.0
//! synonym_class = "NT"
//! association_class = "SN"
//! within_semi_major_axis = true
//! ```
//!
//! **Fixed-width text** (`format = "fixed"`, e.g. Milliquas, or a VizieR `.dat` file with
//! its ReadMe): the `[source.fields]` table names each field and gives its byte range as the
//! ReadMe writes it, 1-based and inclusive (`"1-11"`, `" 26- 50"`, or `"72"` for one byte).
//! Those names are the file's columns: `[columns]` refers to them exactly as it refers to CSV
//! header names, so every other key means the same for every format. Fields `[columns]` does
//! not use may be listed (documentation of the layout) and are not decoded. Blank fields
//! are missing values; `skip_lines` skips leading lines; a line shorter than a field
//! (trailing blanks dropped) leaves it blank or partial; positions count bytes (ASCII or
//! Latin-1 files).
//!
//! ```toml
//! [source]
//! path = "milliquas.txt"
//! format = "fixed"
//!
//! [source.fields]
//! RA = "1-11"
//! Dec = "13-23"
//! Name = "26-50"
//! Type = "52-55"
//! z = "75-80"
//!
//! [columns]
//! ra = "RA"
//! dec = "Dec"
//! ra_unit = "deg"
//! id = "Name"
//! type = "Type"
//! z = "z"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a catalogue lists; decides which rules apply (bright-star radius, galaxy cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Galaxy,
    Star,
    BrightStar,
    Agn,
    Cv,
    VariableStar,
    Unclear,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub name: String,
    pub kind: ObjectKind,
    /// Lower is better when duplicate matches are merged (catalogue quality).
    #[serde(default = "default_priority")]
    pub priority: u32,
    #[serde(default)]
    pub description: Option<String>,
    /// Where the full catalogue is published (for operators fetching it).
    #[serde(default)]
    pub url: Option<String>,
    /// Its licence or terms of use, as its publisher states them.
    #[serde(default)]
    pub licence: Option<String>,
    pub source: Source,
    pub columns: Columns,
    #[serde(default)]
    pub filter: Option<RowFilter>,
    pub search: SearchRules,
}

fn default_priority() -> u32 {
    10
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Parquet,
    Fits,
    /// Fixed-width text, fields by byte range (`[source.fields]`).
    Fixed,
    /// A HATS catalogue directory (HEALPix-partitioned Parquet, as LSDB and the survey
    /// archives publish Gaia, 2MASS, ZTF…): `path` is the catalogue's directory and every
    /// `dataset/Norder=*/Dir=*/Npix=*.parquet` partition under it is read, in order.
    Hats,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub path: String,
    pub format: Format,
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub quote: Option<String>,
    #[serde(default)]
    pub skip_lines: usize,
    #[serde(default)]
    pub hdu: Option<usize>,
    /// More files with the same format and columns, loaded into the same catalogue
    /// (OpenNGC's `addendum.csv`). Relative paths as for `path`.
    #[serde(default)]
    pub extra_paths: Vec<String>,
    /// csv only: lines after the header to skip (VizieR's units and dashes lines).
    #[serde(default)]
    pub skip_after_header: usize,
    /// fixed only: field name → 1-based inclusive byte range (`"1-11"`, `"72"`). The names
    /// are the columns `[columns]` refers to.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RaUnit {
    /// Degrees, unless the value is sexagesimal (then hours:minutes:seconds).
    #[default]
    Auto,
    Deg,
    /// Decimal hours.
    Hourangle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AngleUnit {
    #[default]
    Arcsec,
    Arcmin,
    Deg,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MagColumn {
    pub column: String,
    pub filter: String,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub ra: String,
    pub dec: String,
    #[serde(default)]
    pub ra_unit: RaUnit,
    /// The id column, or `"@row"` for the 0-based row index (catalogues without an id
    /// column, e.g. the GCVS parquet, whose pandas index is its only id).
    pub id: String,
    #[serde(default, rename = "type")]
    pub object_type: Option<String>,
    #[serde(default)]
    pub mags: Vec<MagColumn>,
    #[serde(default)]
    pub z: Option<String>,
    #[serde(default)]
    pub photoz: Option<String>,
    #[serde(default)]
    pub photoz_err: Option<String>,
    #[serde(default)]
    pub distance_mpc: Option<String>,
    #[serde(default)]
    pub semi_major_axis: Option<String>,
    #[serde(default)]
    pub semi_major_axis_unit: AngleUnit,
    #[serde(default)]
    pub semi_major_axis_is_diameter: bool,
    /// Proper motion in RA (μα·cos δ) and Dec, mas/yr (Gaia's `pmra`, `pmdec`): the store
    /// moves such rows to the epoch of the position it is asked about.
    #[serde(default)]
    pub pm_ra: Option<String>,
    #[serde(default)]
    pub pm_dec: Option<String>,
    /// Epoch of the positions, Julian year (Gaia DR3: 2016.0). Required with `pm_ra`.
    #[serde(default)]
    pub epoch: Option<f64>,
    /// Parallax, mas: kept with each row and returned by cone searches.
    #[serde(default)]
    pub parallax: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    /// Keep only rows whose type (after trimming spaces) is one of these; empty keeps all.
    /// A pattern ending in `*` matches by prefix (`"UG*"` keeps UGSS, UGZ, UG:).
    #[serde(default)]
    pub types: Vec<String>,
    /// Then drop rows whose type matches one of these patterns (same syntax).
    #[serde(default)]
    pub exclude_types: Vec<String>,
    /// Characters that join several types in one value (GCVS "EA+NL": an eclipsing
    /// nova-like). When set, a pattern matches if it matches any one part.
    #[serde(default)]
    pub type_separators: Option<String>,
}

impl RowFilter {
    /// Whether a row with this type (None = no type) passes the filter.
    pub fn keeps(&self, object_type: Option<&str>) -> bool {
        let t = object_type.unwrap_or("").trim();
        let seps = self.type_separators.as_deref().unwrap_or("");
        let any_part = |p: &String| {
            let matches = |part: &str| match p.strip_suffix('*') {
                Some(prefix) => part.starts_with(prefix),
                None => part == p,
            };
            if seps.is_empty() {
                matches(t)
            } else {
                t.split(|c: char| seps.contains(c))
                    .any(|part| matches(part.trim()))
            }
        };
        (self.types.is_empty() || self.types.iter().any(any_part))
            && !self.exclude_types.iter().any(any_part)
    }
}

/// How the classifier searches a catalogue (Sherlock's search-algorithm entry).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRules {
    /// Within this radius a match is a synonym (the transient *is* this source).
    #[serde(default)]
    pub synonym_radius_arcsec: Option<f64>,
    /// Angular association radius.
    pub association_radius_arcsec: f64,
    /// Physical association radius, used instead when the source has a distance.
    #[serde(default)]
    pub association_radius_kpc: Option<f64>,
    /// Class a synonym match implies (SN, NT, AGN, CV, VS, BS, UNCLEAR).
    #[serde(default)]
    pub synonym_class: Option<String>,
    /// Class an association match implies.
    #[serde(default)]
    pub association_class: Option<String>,
    /// Class an annotation-pass match implies (searched only when nothing else matched).
    #[serde(default)]
    pub annotation_class: Option<String>,
    /// Galaxies: keep an association only inside the stretched semi-major axis.
    #[serde(default)]
    pub within_semi_major_axis: bool,
    /// Bright stars: the association radius grows with brightness (magnitude-dependent).
    #[serde(default)]
    pub bright_star: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filter() {
        let f = RowFilter {
            types: vec!["UG*".into(), "NL".into()],
            exclude_types: vec!["SN*".into()],
            type_separators: Some("+".into()),
        };
        for keep in ["UG", "UGSU:", "NL", "EA+NL", "UGSU+E"] {
            assert!(f.keeps(Some(keep)), "{keep}");
        }
        for drop in ["NL:", "RRAB", "", "INL", "NL+SN"] {
            assert!(!f.keeps(Some(drop)), "{drop}");
        }
        let all = RowFilter {
            types: vec![],
            exclude_types: vec!["Dup".into()],
            type_separators: None,
        };
        assert!(all.keeps(None) && all.keeps(Some("G")) && !all.keeps(Some("Dup")));
    }
}
