//! Object identifiers as 64-bit integers.
//!
//! Rubin's `diaObjectId` already is one. ZTF names objects `ZTF` + two year digits + seven
//! lower-case letters (`ZTF21abiuvdk`); that packs exactly into an integer
//! (`year * 26^7 + base-26 letters`, under 2^40), so stores and indexes can key every survey
//! by one `i64` and the name can always be recovered.

use serde::{Deserialize, Serialize};

const LETTERS: u32 = 7;
const RADIX: i64 = 26;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("not a ZTF object name (expected ZTF + 2 digits + 7 letters a-z): {0:?}")]
    BadZtfName(String),
    #[error("integer {0} is not a packed ZTF object id")]
    BadPackedZtf(i64),
}

/// Which object an alert is about: its 64-bit key and the name users know it by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// 64-bit key (diaObjectId, or the packed ZTF name).
    pub id: i64,
    /// `ZTF21abiuvdk` for ZTF, the decimal diaObjectId for Rubin.
    pub name: String,
}

impl ObjectKey {
    pub fn lsst(dia_object_id: i64) -> ObjectKey {
        ObjectKey {
            id: dia_object_id,
            name: dia_object_id.to_string(),
        }
    }

    pub fn ztf(name: &str) -> Result<ObjectKey, IdError> {
        Ok(ObjectKey {
            id: pack_ztf_name(name)?,
            name: name.to_string(),
        })
    }
}

/// `ZTF21abiuvdk` → its packed 64-bit id.
pub fn pack_ztf_name(name: &str) -> Result<i64, IdError> {
    let bad = || IdError::BadZtfName(name.to_string());
    let rest = name.strip_prefix("ZTF").ok_or_else(bad)?.as_bytes();
    if rest.len() != 2 + LETTERS as usize {
        return Err(bad());
    }
    let (year, letters) = rest.split_at(2);
    if !year.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut id = i64::from(year[0] - b'0') * 10 + i64::from(year[1] - b'0');
    for &c in letters {
        if !c.is_ascii_lowercase() {
            return Err(bad());
        }
        id = id * RADIX + i64::from(c - b'a');
    }
    Ok(id)
}

/// The inverse of [`pack_ztf_name`].
pub fn unpack_ztf_id(id: i64) -> Result<String, IdError> {
    let span = RADIX.pow(LETTERS);
    if !(0..100 * span).contains(&id) {
        return Err(IdError::BadPackedZtf(id));
    }
    let mut letters = [b'a'; LETTERS as usize];
    let mut rest = id % span;
    for slot in letters.iter_mut().rev() {
        *slot = b'a' + (rest % RADIX) as u8;
        rest /= RADIX;
    }
    Ok(format!(
        "ZTF{:02}{}",
        id / span,
        std::str::from_utf8(&letters).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ztf_names_round_trip() {
        for name in [
            "ZTF21abiuvdk",
            "ZTF17aaaaaas",
            "ZTF99zzzzzzz",
            "ZTF00aaaaaaa",
        ] {
            let id = pack_ztf_name(name).unwrap();
            assert_eq!(unpack_ztf_id(id).unwrap(), name);
        }
        // Distinct names give distinct ids, ordered like the names.
        assert!(pack_ztf_name("ZTF21abiuvdk").unwrap() < pack_ztf_name("ZTF21abiuvdl").unwrap());
    }

    #[test]
    fn bad_ztf_names_are_refused() {
        for name in [
            "ZTF21ABIUVDK",
            "ZTF2abiuvdk",
            "ZTF21abiuvd",
            "XYZ21abiuvdk",
            "ZTF21abiuvdk1",
            "",
        ] {
            assert!(pack_ztf_name(name).is_err(), "{name}");
        }
        assert!(unpack_ztf_id(-1).is_err());
    }
}
