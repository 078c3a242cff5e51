//! The one-sentence description stored with a classification (Lasair's `description`).
//! Written for people reading an object page: the verdict first, then the evidence
//! (distance, direction, the source and its catalogue, a redshift or magnitude).

use solas_catalogue::ObjectKind;

use crate::{Class, Match};

pub(crate) const ORPHAN_DESCRIPTION: &str =
    "No catalogued source is close enough to say what this transient is.";

fn noun(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Galaxy => "galaxy",
        ObjectKind::Star => "star",
        ObjectKind::BrightStar => "bright star",
        ObjectKind::Agn => "AGN",
        ObjectKind::Cv => "cataclysmic variable",
        ObjectKind::VariableStar => "variable star",
        ObjectKind::Unclear => "source",
    }
}

fn angle(arcsec: f64) -> String {
    if arcsec < 1.0 {
        format!("{arcsec:.2}″")
    } else if arcsec < 100.0 {
        format!("{arcsec:.1}″")
    } else {
        format!("{arcsec:.0}″")
    }
}

/// 8-point compass direction of the transient as seen from the source.
fn compass(north: f64, east: f64) -> &'static str {
    const POINTS: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
    let pa = east.atan2(north).to_degrees().rem_euclid(360.0);
    POINTS[((pa + 22.5) / 45.0) as usize % 8]
}

/// "7.9″ (0.57 kpc) SE of" / "0.13″ from".
fn offset(m: &Match) -> String {
    let mut s = angle(m.separation_arcsec);
    if let Some(kpc) = m.physical_separation_kpc {
        s.push_str(&format!(" ({kpc:.2} kpc)"));
    }
    // A direction means nothing for a coincident source.
    if m.separation_arcsec >= 1.0 {
        format!(
            "{s} {} of",
            compass(m.north_separation_arcsec, m.east_separation_arcsec)
        )
    } else {
        format!("{s} from")
    }
}

/// " (z = 0.0035)", " (V = 9.52)", " (type RRAB)" or "".
fn detail(m: &Match) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &m.catalogue_object_type {
        parts.push(format!("type {t}"));
    }
    if let Some(z) = m.z {
        parts.push(format!("z = {z:.4}"));
    } else if let Some(z) = m.photo_z {
        parts.push(format!("photo-z = {z:.3}"));
    }
    if let (Some(mag), true) = (m.mag, matches!(m.association_type, Class::BS | Class::VS)) {
        let filter = m.mag_filter.as_deref().unwrap_or("mag");
        parts.push(format!("{filter} = {mag:.2}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

pub(crate) fn describe(best: Option<&Match>) -> String {
    let Some(m) = best else {
        return ORPHAN_DESCRIPTION.to_owned();
    };
    let source = format!(
        "the {} {} in {}{}",
        noun(m.catalogue_kind),
        m.catalogue_object_id,
        m.catalogue_table_name,
        detail(m)
    );
    let verdict = match m.association_type {
        Class::SN => "The transient is possibly a supernova",
        Class::NT => "The transient is possibly a nuclear transient (such as a tidal disruption event or an AGN flare)",
        Class::AGN => "The transient is probably variability of an active galactic nucleus",
        Class::CV => "The transient is probably an outburst of a cataclysmic variable",
        Class::VS => "The transient is probably a variable star",
        Class::BS => "The transient is probably an artefact of a bright star",
        Class::UNCLEAR => "The nature of the transient is unclear",
        Class::ORPHAN => return ORPHAN_DESCRIPTION.to_owned(),
    };
    format!("{verdict}: it lies {} {source}.", offset(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compass_points() {
        assert_eq!(compass(1.0, 0.0), "N");
        assert_eq!(compass(-1.0, 1.0), "SE");
        assert_eq!(compass(0.0, -1.0), "W");
        assert_eq!(compass(1.0, -0.9), "NW");
    }

    #[test]
    fn orphan_text() {
        assert_eq!(describe(None), ORPHAN_DESCRIPTION);
    }
}
