//! Typed records exactly as the surveys define them (field names unchanged), one struct
//! per record kind covering every supported schema version. Decoders read Avro straight
//! into these; the adapters in `solas-decode` turn them into the neutral [`crate::model`].

pub mod lsst {
    //! Rubin records, schemas 7.0–11.1.
    include!("lsst_records.rs");
}

pub mod ztf {
    //! ZTF records, schemas 3.2–4.02.
    include!("ztf_records.rs");
}
