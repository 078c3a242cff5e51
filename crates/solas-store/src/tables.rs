//! Column sets of the main-database tables that are not lightcurve features: the context
//! classification, in Lasair's `sherlock_classifications` shape (Lasair-ZTF keys it on
//! `objectId`, Lasair-LSST on `diaObjectId`).

use solas_features::{Column, ColumnType};

macro_rules! columns {
    ($key:literal, $key_ty:ident; $($name:literal : $ty:ident),* $(,)?) => {
        &[
            Column { name: $key, ty: ColumnType::$key_ty },
            $(Column { name: $name, ty: ColumnType::$ty }),*
        ]
    };
}

/// Every column after the key, in Lasair's order.
macro_rules! sherlock_columns {
    ($key:literal, $key_ty:ident) => {
        columns!($key, $key_ty;
            "classification": Text, "association_type": Text, "catalogue_table_name": Text,
            "catalogue_object_id": Text, "catalogue_object_type": Text, "raDeg": Float,
            "decDeg": Float, "separationArcsec": Float, "northSeparationArcsec": Float,
            "eastSeparationArcsec": Float, "physical_separation_kpc": Float,
            "direct_distance": Float, "distance": Float, "best_distance": Float,
            "best_distance_flag": Text, "best_distance_source": Text, "z": Float,
            "photoZ": Float, "photoZErr": Float, "Mag": Float, "MagFilter": Text,
            "MagErr": Float, "classificationReliability": Int, "major_axis_arcsec": Float,
            "annotator": Text, "additional_output": Text, "description": Text, "summary": Text,
        )
    };
}

pub const SHERLOCK_COLUMNS: &[Column] = sherlock_columns!("diaObjectId", Int);
pub const ZTF_SHERLOCK_COLUMNS: &[Column] = sherlock_columns!("objectId", Text);
