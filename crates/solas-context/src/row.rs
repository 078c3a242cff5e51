//! [`SherlockRow`]: a classification as the pipeline carries it from the context stage to
//! the filter stage, in the context cache and on the scale-out workers' topic. Typed, with
//! Lasair's `sherlock_classifications` column names as its serialised names, so cached
//! answers and published alerts read back into the same struct (unknown keys, such as the
//! `crossmatches` list older caches kept, are ignored).

use serde::{Deserialize, Serialize};

use crate::output::ColumnValue;
use crate::Classification;

/// The best match's row; every match column is None for an ORPHAN.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SherlockRow {
    pub classification: String,
    pub association_type: Option<String>,
    pub catalogue_table_name: Option<String>,
    pub catalogue_object_id: Option<String>,
    pub catalogue_object_type: Option<String>,
    #[serde(rename = "raDeg")]
    pub ra_deg: Option<f64>,
    #[serde(rename = "decDeg")]
    pub dec_deg: Option<f64>,
    #[serde(rename = "separationArcsec")]
    pub separation_arcsec: Option<f64>,
    #[serde(rename = "northSeparationArcsec")]
    pub north_separation_arcsec: Option<f64>,
    #[serde(rename = "eastSeparationArcsec")]
    pub east_separation_arcsec: Option<f64>,
    pub physical_separation_kpc: Option<f64>,
    pub direct_distance: Option<f64>,
    pub best_distance: Option<f64>,
    pub best_distance_flag: Option<String>,
    pub best_distance_source: Option<String>,
    pub z: Option<f64>,
    #[serde(rename = "photoZ")]
    pub photo_z: Option<f64>,
    #[serde(rename = "photoZErr")]
    pub photo_z_err: Option<f64>,
    #[serde(rename = "Mag")]
    pub mag: Option<f64>,
    #[serde(rename = "MagFilter")]
    pub mag_filter: Option<String>,
    #[serde(rename = "MagErr")]
    pub mag_err: Option<f64>,
    #[serde(rename = "classificationReliability")]
    pub classification_reliability: Option<i64>,
    pub major_axis_arcsec: Option<f64>,
    pub description: String,
}

/// The `sherlock_classifications` columns after the object id, in Lasair's order: the
/// order of [`SherlockRow::values`]. (`distance` is Lasair's deprecated copy of
/// `best_distance`; `annotator`, `additional_output` and `summary` Sherlock never sets.)
pub const SHERLOCK_ROW_COLUMNS: [&str; 28] = [
    "classification",
    "association_type",
    "catalogue_table_name",
    "catalogue_object_id",
    "catalogue_object_type",
    "raDeg",
    "decDeg",
    "separationArcsec",
    "northSeparationArcsec",
    "eastSeparationArcsec",
    "physical_separation_kpc",
    "direct_distance",
    "distance",
    "best_distance",
    "best_distance_flag",
    "best_distance_source",
    "z",
    "photoZ",
    "photoZErr",
    "Mag",
    "MagFilter",
    "MagErr",
    "classificationReliability",
    "major_axis_arcsec",
    "annotator",
    "additional_output",
    "description",
    "summary",
];

impl SherlockRow {
    /// The row's values in the order of [`SHERLOCK_ROW_COLUMNS`] (NaN and ∞ as NULL).
    pub fn values(&self) -> [ColumnValue<'_>; 28] {
        use ColumnValue as V;
        fn text(v: &Option<String>) -> ColumnValue<'_> {
            v.as_deref().map_or(ColumnValue::Null, ColumnValue::Text)
        }
        fn real<'a>(v: Option<f64>) -> ColumnValue<'a> {
            v.filter(|x| x.is_finite())
                .map_or(ColumnValue::Null, ColumnValue::Real)
        }
        [
            V::Text(&self.classification),
            text(&self.association_type),
            text(&self.catalogue_table_name),
            text(&self.catalogue_object_id),
            text(&self.catalogue_object_type),
            real(self.ra_deg),
            real(self.dec_deg),
            real(self.separation_arcsec),
            real(self.north_separation_arcsec),
            real(self.east_separation_arcsec),
            real(self.physical_separation_kpc),
            real(self.direct_distance),
            real(self.best_distance),
            real(self.best_distance),
            text(&self.best_distance_flag),
            text(&self.best_distance_source),
            real(self.z),
            real(self.photo_z),
            real(self.photo_z_err),
            real(self.mag),
            text(&self.mag_filter),
            real(self.mag_err),
            self.classification_reliability.map_or(V::Null, V::Int),
            real(self.major_axis_arcsec),
            V::Null,
            V::Null,
            V::Text(&self.description),
            V::Null,
        ]
    }
}

impl From<&Classification> for SherlockRow {
    fn from(c: &Classification) -> SherlockRow {
        let mut row = SherlockRow {
            classification: c.classification.as_str().to_string(),
            description: c.description.clone(),
            ..SherlockRow::default()
        };
        if let Some(m) = &c.best {
            row.association_type = Some(m.association_type.as_str().to_string());
            row.catalogue_table_name = Some(m.catalogue_table_name.clone());
            row.catalogue_object_id = Some(m.catalogue_object_id.clone());
            row.catalogue_object_type = m.catalogue_object_type.clone();
            row.ra_deg = Some(m.ra_deg);
            row.dec_deg = Some(m.dec_deg);
            row.separation_arcsec = Some(m.separation_arcsec);
            row.north_separation_arcsec = Some(m.north_separation_arcsec);
            row.east_separation_arcsec = Some(m.east_separation_arcsec);
            row.physical_separation_kpc = m.physical_separation_kpc;
            row.direct_distance = m.direct_distance_mpc;
            row.best_distance = m.best_distance_mpc;
            row.best_distance_flag = m.best_distance_flag.map(|f| f.as_str().to_string());
            row.best_distance_source = m.best_distance_source.clone();
            row.z = m.z;
            row.photo_z = m.photo_z;
            row.photo_z_err = m.photo_z_err;
            row.mag = m.mag;
            row.mag_filter = m.mag_filter.clone();
            row.mag_err = m.mag_err;
            row.classification_reliability = Some(m.reliability.as_int());
            row.major_axis_arcsec = m.major_axis_arcsec;
        }
        row
    }
}
