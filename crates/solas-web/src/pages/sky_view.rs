//! The object page's sky view: a HiPS survey image around the object from CDS's hips2fits
//! service (north up, east left, gnomonic), with the transient and its catalogue matches
//! drawn over it by the server. The image loads when the browser is online; offline the
//! marks still show where everything is. Aladin Lite would be the richer viewer, but it is
//! GPL-3.0, which Solas keeps out of its binary; Aladin Lite is one link away.

use maud::{html, Markup};
use serde_json::Value;

/// Image side in pixels and field of view in degrees.
const SIDE: u32 = 320;
const FOV_DEG: f64 = 2.0 / 60.0;

/// The HiPS surveys offered: (hips id, label).
const SURVEYS: [(&str, &str); 3] = [
    ("CDS/P/DSS2/color", "DSS2 colour"),
    ("CDS/P/PanSTARRS/DR1/color-z-zg-g", "Pan-STARRS DR1 colour"),
    (
        "CDS/P/DESI-Legacy-Surveys/DR10/color",
        "Legacy Surveys DR10 colour",
    ),
];

fn image_url(hips: &str, ra: f64, dec: f64) -> String {
    format!(
        "https://alasky.cds.unistra.fr/hips-image-services/hips2fits?hips={}&width={SIDE}&height={SIDE}&fov={FOV_DEG}&projection=TAN&coordsys=icrs&ra={ra:.6}&dec={dec:.6}&format=jpg",
        hips.replace('/', "%2F")
    )
}

/// A position's place in the image: gnomonic offsets from the centre, east to the left.
fn pixel(ra0: f64, dec0: f64, ra: f64, dec: f64) -> Option<(f64, f64)> {
    let (a0, d0, a, d) = (
        ra0.to_radians(),
        dec0.to_radians(),
        ra.to_radians(),
        dec.to_radians(),
    );
    let cos_c = d0.sin() * d.sin() + d0.cos() * d.cos() * (a - a0).cos();
    if cos_c <= 0.0 {
        return None;
    }
    let xi = d.cos() * (a - a0).sin() / cos_c;
    let eta = (d0.cos() * d.sin() - d0.sin() * d.cos() * (a - a0).cos()) / cos_c;
    let scale = f64::from(SIDE) / FOV_DEG.to_radians();
    let half = f64::from(SIDE) / 2.0;
    Some((half - xi * scale, half - eta * scale))
}

/// The view: the image, a mark on the transient, a circle on each crossmatch (numbered by
/// rank), a survey choice and the Aladin Lite link.
pub(crate) fn sky_view(ra: f64, dec: f64, matches: &[Value]) -> Markup {
    let side = f64::from(SIDE);
    let marks: Vec<(String, f64, f64)> = matches
        .iter()
        .filter_map(|m| {
            let (mra, mdec) = (m.get("raDeg")?.as_f64()?, m.get("decDeg")?.as_f64()?);
            let (x, y) = pixel(ra, dec, mra, mdec)?;
            let rank = m.get("rank").map(|r| r.to_string()).unwrap_or_default();
            ((0.0..=side).contains(&x) && (0.0..=side).contains(&y)).then_some((rank, x, y))
        })
        .collect();
    html! {
        figure.sky-view #sky-view {
            div.sky-frame style=(format!("width:{SIDE}px;max-width:100%;aspect-ratio:1")) {
                img #sky-image src=(image_url(SURVEYS[0].0, ra, dec)) alt="" width=(SIDE) height=(SIDE)
                    loading="lazy" referrerpolicy="no-referrer"
                    onerror="this.style.visibility='hidden'" onload="this.style.visibility='visible'";
                svg.sky-marks viewBox=(format!("0 0 {SIDE} {SIDE}")) role="img"
                    aria-label="the transient (cross) and its catalogue matches (circles)" {
                    @let c = side / 2.0;
                    path.sky-cross d=(format!("M{} {c}h-9M{} {c}h9M{c} {}v-9M{c} {}v9", c - 5.0, c + 5.0, c - 5.0, c + 5.0)) {}
                    @for (rank, x, y) in &marks {
                        circle.sky-match cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="9" {}
                        text.sky-rank x=(format!("{:.1}", x + 11.0)) y=(format!("{:.1}", y - 8.0)) { (rank) }
                    }
                    text.sky-compass x="10" y="18" { "N↑ E←" }
                    text.sky-compass x=(SIDE - 10) y=(SIDE - 8) text-anchor="end" { (format!("{:.0}′ across", FOV_DEG * 60.0)) }
                }
            }
            figcaption {
                label {
                    "Survey "
                    select #sky-survey data-ra=(format!("{ra:.6}")) data-dec=(format!("{dec:.6}")) {
                        @for (id, label) in SURVEYS { option value=(id) { (label) } }
                    }
                }
                " · "
                a href=(format!("https://aladin.cds.unistra.fr/AladinLite/?target={ra:.6}%20{dec:+.6}&fov=0.05"))
                    rel="noopener" target="_blank" { "Aladin Lite" }
                br;
                span.note { "Images from CDS hips2fits when online; the cross marks the transient, circles its catalogue matches by rank." }
            }
        }
        script {
            (maud::PreEscaped(r#"(function(){var s=document.getElementById('sky-survey'),i=document.getElementById('sky-image');if(!s||!i)return;s.addEventListener('change',function(){i.src=i.src.replace(/hips=[^&]*/,'hips='+encodeURIComponent(s.value));});})();"#))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn east_is_left_and_north_is_up() {
        let (x, y) = pixel(10.0, 20.0, 10.0, 20.0).unwrap();
        assert!((x - 160.0).abs() < 1e-9 && (y - 160.0).abs() < 1e-9);
        // 10″ east: to the left; 10″ north: up; the scale is SIDE pixels per FOV.
        let (xe, _) = pixel(
            10.0,
            20.0,
            10.0 + 10.0 / 3600.0 / 20f64.to_radians().cos(),
            20.0,
        )
        .unwrap();
        let (_, yn) = pixel(10.0, 20.0, 10.0, 20.0 + 10.0 / 3600.0).unwrap();
        let per_arcsec = 320.0 / 120.0;
        assert!((160.0 - xe - 10.0 * per_arcsec).abs() < 0.01, "{xe}");
        assert!((160.0 - yn - 10.0 * per_arcsec).abs() < 0.01, "{yn}");
    }
}
