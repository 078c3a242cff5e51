//! Brokers' and models' class names in one coarse vocabulary, so that what Solas's models,
//! Fink, ALeRCE and AMPEL say about an object can be compared (the consensus view and its
//! "disagree" flag). Each says either that an object *is* of a broad class or, for a
//! binary model below its threshold (`not SN`), that it is *not*; names that commit to
//! nothing (`Unknown`, `Ambiguous`) say neither.

/// The broad classes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Broad {
    Supernova,
    Kilonova,
    /// Other extragalactic transients: TDE, nuclear transients, GRB afterglows.
    OtherTransient,
    Agn,
    /// Stars and stellar variability: periodic variables, CVs, novae, flares, YSOs.
    Star,
    Microlensing,
    SolarSystem,
    Bogus,
}

impl Broad {
    pub fn as_str(self) -> &'static str {
        match self {
            Broad::Supernova => "SN",
            Broad::Kilonova => "KN",
            Broad::OtherTransient => "transient",
            Broad::Agn => "AGN",
            Broad::Star => "star",
            Broad::Microlensing => "microlensing",
            Broad::SolarSystem => "solar system",
            Broad::Bogus => "bogus",
        }
    }
}

/// What a class name says: the broad class and whether the object is (true) or is not
/// (false) of it; None for names that commit to nothing or that this vocabulary lacks.
pub fn stance(classification: &str) -> Option<(Broad, bool)> {
    let name = classification.trim().to_ascii_lowercase();
    if let Some(rest) = name.strip_prefix("not ") {
        return broad(rest).map(|b| (b, false));
    }
    broad(&name).map(|b| (b, true))
}

fn broad(name: &str) -> Option<Broad> {
    let name = name.trim();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    // Order matters: "kilonova" before "nova" (a star), "slsn" is a supernova.
    let noncommittal = [
        "unknown",
        "ambiguous",
        "unclear",
        "other",
        "orphan",
        "none",
        "fail",
    ];
    if name.is_empty() || noncommittal.iter().any(|w| name.starts_with(w)) {
        return None;
    }
    if has(&["kilonova"]) || name == "kn" {
        return Some(Broad::Kilonova);
    }
    if has(&["sn", "supernova"]) || name == "ia" {
        return Some(Broad::Supernova);
    }
    if has(&[
        "tde",
        "tidal",
        "nuclear transient",
        "grb",
        "afterglow",
        "fast transient",
    ]) || name == "nt"
    {
        return Some(Broad::OtherTransient);
    }
    if has(&["agn", "qso", "quasar", "blazar", "seyfert"]) {
        return Some(Broad::Agn);
    }
    if has(&["microlens", "ulens"]) {
        return Some(Broad::Microlensing);
    }
    if has(&["solar system", "asteroid", "sso", "comet", "mpc"]) {
        return Some(Broad::SolarSystem);
    }
    if has(&["bogus", "artefact", "artifact"]) {
        return Some(Broad::Bogus);
    }
    let stellar = [
        "star",
        "variable",
        "rrl",
        "rr lyr",
        "cepheid",
        "lpv",
        "mira",
        "dsct",
        "delta scuti",
        "yso",
        "cv",
        "nova",
        "flare",
        "eclipsing",
        "periodic",
        "binary",
        "dwarf",
        "m-dwarf",
    ];
    if has(&stellar) || matches!(name, "e" | "eb" | "cep" | "vs" | "bs") {
        return Some(Broad::Star);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brokers_names_map_to_one_vocabulary() {
        let cases = [
            // Solas's models
            ("KN", Some((Broad::Kilonova, true))),
            ("not KN", Some((Broad::Kilonova, false))),
            ("SN", Some((Broad::Supernova, true))),
            ("not SN", Some((Broad::Supernova, false))),
            // Fink
            ("SN candidate", Some((Broad::Supernova, true))),
            ("Early SN Ia candidate", Some((Broad::Supernova, true))),
            ("Kilonova candidate", Some((Broad::Kilonova, true))),
            ("Solar System MPC", Some((Broad::SolarSystem, true))),
            ("QSO", Some((Broad::Agn, true))),
            ("Microlensing candidate", Some((Broad::Microlensing, true))),
            ("Ambiguous", None),
            ("Unknown", None),
            // ALeRCE
            ("SNIa", Some((Broad::Supernova, true))),
            ("SLSN", Some((Broad::Supernova, true))),
            ("TDE", Some((Broad::OtherTransient, true))),
            ("Blazar", Some((Broad::Agn, true))),
            ("CV/Nova", Some((Broad::Star, true))),
            ("RRL", Some((Broad::Star, true))),
            ("E", Some((Broad::Star, true))),
            ("Periodic-Other", Some((Broad::Star, true))),
            ("YSO", Some((Broad::Star, true))),
            // Sherlock-like
            ("VS", Some((Broad::Star, true))),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(stance(name), want, "{name:?}");
        }
    }
}
