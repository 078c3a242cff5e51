//! The survey-neutral core of Solas.
//!
//! Every stage of the pipeline speaks the types in [`model`]: an [`Alert`] about one
//! astronomical object, carrying its detections, forced photometry, non-detections and
//! cutouts. Survey adapters (in `solas-decode`) build these from the typed records in
//! [`survey`]; nothing downstream of decoding needs to know which survey an alert came
//! from, except where the survey's own columns are copied through (see [`SurveyObject`]).
//!
//! Identifiers are 64-bit integers everywhere. ZTF's textual object names are packed
//! losslessly into one (see [`ids`]).

pub mod band;
pub mod classes;
pub mod ids;
pub mod model;
pub mod night;
pub mod recent;
pub mod sky;
pub mod survey;

pub use band::Band;
pub use ids::{IdError, ObjectKey};
pub use model::{
    Alert, Cutout, CutoutKind, Detection, Envelope, ForcedPhot, NonDetection, RawRecord,
    RecordSchema, Survey, SurveyObject, ZtfContext,
};
