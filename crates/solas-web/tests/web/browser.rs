//! The web pages in a real browser: the shared alerts ingested, a user created, the server
//! started on a loopback port, and Debian's headless Chromium (`scripts/chromium.sh`)
//! loading the pages. `--dump-dom` gives the DOM after the page's scripts ran, so the
//! lightcurve plot drawn by `lightcurve.js` can be checked; `--screenshot` writes PNGs to
//! `target/screenshots/` for a person to look at. Forms are POSTed over plain HTTP with
//! the session cookie and CSRF token, as a browser would send them.
//!
//! Without Chromium the test is skipped with a message, unless `SOLAS_REQUIRE_BROWSER` is
//! set, in which case it installs Chromium through the script (or fails).

use crate::common;
use crate::common::between;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use solas_web::{ServeConfig, UserClass};

/// A finished HTTP exchange.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with `Connection: close` (no redirects followed, so the test
/// sees the 303s and cookies itself).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(body) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + size]);
        b = &b[end + 2 + size + 2..];
    }
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|c| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {c}"))
            .output()
            .ok()?;
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!p.is_empty()).then(|| PathBuf::from(p))
    });
    if found.is_some() {
        return found;
    }
    // Installing is opt-in: a test run should not apt-get by surprise.
    std::env::var_os("SOLAS_REQUIRE_BROWSER")?;
    let out = Command::new(common::repo().join("scripts/chromium.sh"))
        .output()
        .expect("scripts/chromium.sh runs");
    assert!(
        out.status.success(),
        "scripts/chromium.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Run headless Chromium with `args` then `url`, returning stdout; a minute at most.
/// The lightcurve JSON an object page embeds for its plot.
fn embedded_lightcurve(page: &str) -> serde_json::Value {
    let json = between(
        page,
        "<script type=\"application/json\" id=\"lc-data\">",
        "</script>",
    )
    .expect("embedded lightcurve");
    serde_json::from_str(json).expect("lightcurve JSON")
}

fn run_chromium(bin: &Path, args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new("timeout")
        .arg("90")
        .arg(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // Long enough for the page's scripts and images, then the DOM or picture is taken.
        .arg("--virtual-time-budget=5000")
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshots_dir() -> PathBuf {
    let dir = common::repo().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    dir
}

/// Width and height of a PNG from its IHDR chunk.
fn png_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[1..4], b"PNG", "not a PNG");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// NAXIS1 and NAXIS2 of the first image HDU of a FITS file.
fn fits_size(b: &[u8]) -> (u32, u32) {
    let text = String::from_utf8_lossy(b);
    let mut found = (0, 0);
    for card in text.as_bytes().chunks(80).take(2000) {
        let card = String::from_utf8_lossy(card);
        let value = || {
            card[10..]
                .split('/')
                .next()
                .unwrap_or("")
                .trim()
                .parse::<u32>()
                .unwrap_or(0)
        };
        if card.starts_with("NAXIS1 ") && found.0 == 0 {
            found.0 = value();
        } else if card.starts_with("NAXIS2 ") && found.1 == 0 {
            found.1 = value();
        }
    }
    found
}

#[test]
fn pages_in_a_browser() {
    let started = std::time::Instant::now();
    let Some(chrome) = chromium() else {
        eprintln!(
            "SKIPPED: no chromium here; run scripts/chromium.sh (or set SOLAS_REQUIRE_BROWSER=1 to install it and require this test)"
        );
        return;
    };
    let data = common::shared_data();
    let (user_id, token) = solas_web::add_user(
        data,
        "pagetester",
        "",
        Some("a-long-password-1"),
        UserClass::User,
    )
    .expect("user");
    let mut config = ServeConfig::new(data, "127.0.0.1:0".parse().expect("addr"));
    config.metrics = Some(Arc::new(|| "solas_alerts_total 42\n".to_string()));
    let server = solas_web::spawn(config).expect("server starts");
    let addr = server.local_addr();
    let base = format!("http://{addr}");
    let shots = screenshots_dir();
    let login_url = |next: &str| format!("{base}/login?token={token}&next={next}");

    // Logging in with the token sets an HttpOnly session cookie and redirects to `next`.
    let r = http(
        addr,
        "GET",
        &format!("/login?token={token}&next=/filters"),
        None,
        None,
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/filters"));
    let set_cookie = r.header("set-cookie").expect("cookie").to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("cookie pair")
        .to_string();
    assert_eq!(
        http(addr, "GET", "/login?token=nope&next=/", None, None).status,
        401
    );
    // Password login works the same way.
    let r = http(
        addr,
        "POST",
        "/login",
        None,
        Some(&form(&[
            ("username", "pagetester"),
            ("password", "a-long-password-1"),
            ("next", "/status"),
        ])),
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/status")));
    let r = http(
        addr,
        "POST",
        "/login",
        None,
        Some(&form(&[("username", "pagetester"), ("password", "wrong")])),
    );
    assert_eq!(r.status, 401);

    // Home: live counts and links to object pages.
    let home = http(addr, "GET", "/", Some(&cookie), None);
    assert_eq!(home.status, 200);
    let home = home.text();
    assert!(
        home.contains("Rubin objects") && home.contains("href=\"/objects/"),
        "{home}"
    );
    assert!(home.contains("pagetester"), "logged-in name shown");

    // Object page: the plot drawn by JS, one group per band, one point per detection.
    let (object_id, object) = common::richest_rubin_object();
    let page = http(
        addr,
        "GET",
        &format!("/objects/{object_id}"),
        Some(&cookie),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.text();
    let lc = embedded_lightcurve(&page);
    let bands = lc["bands"].as_array().expect("bands");
    let points: usize = bands
        .iter()
        .map(|b| b["points"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        points,
        object.sources.len(),
        "every detection is in the plot data"
    );
    let dom = run_chromium(
        &chrome,
        &["--dump-dom"],
        &login_url(&format!("/objects/{object_id}")),
    );
    assert_eq!(
        dom.matches("class=\"band\"").count(),
        bands.len(),
        "one SVG group per band:\n{dom}"
    );
    assert_eq!(
        dom.matches("class=\"pt\"").count(),
        points,
        "one circle per detection"
    );
    assert!(dom.contains("<title>"), "hover titles");
    assert!(dom.contains("Cutouts") && dom.contains(">Context<"));
    // A summary card first, and links out.
    assert!(dom.contains("First detection") && dom.contains("Galactic latitude"));
    for name in [
        "TNS",
        "NED",
        "SIMBAD",
        "Legacy Survey",
        "Lasair",
        "Fink",
        "ALeRCE",
        "ANTARES",
    ] {
        assert!(
            dom.contains(&format!("target=\"_blank\">{name}</a>")),
            "link to {name}"
        );
    }
    // In magnitudes, a negative difference is never drawn (as a brightening): only the
    // positive detections with a magnitude are.
    let positive_mags: usize = bands
        .iter()
        .flat_map(|b| b["points"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["positive"] != false && p["mag"].is_f64())
        .count();
    let dom_mag = run_chromium(
        &chrome,
        &["--dump-dom"],
        &login_url(&format!("/objects/{object_id}?lc=mag")),
    );
    assert_eq!(dom_mag.matches("class=\"pt\"").count(), positive_mags);

    // The three cutouts: north-up SVGs with compass and scale bar, over PNGs of the FITS
    // image's size.
    let src = between(&page, "src=\"/cutouts/lsst/", "/Science.svg").expect("cutout img");
    for kind in ["Science", "Template", "Difference"] {
        assert!(
            page.contains(&format!(
                "src=\"/cutouts/lsst/{src}/{kind}.svg?stretch=linear\""
            )),
            "{kind} <img>"
        );
        let svg = http(
            addr,
            "GET",
            &format!("/cutouts/lsst/{src}/{kind}.svg?stretch=asinh"),
            None,
            None,
        );
        assert_eq!(svg.status, 200, "{kind} {src}: {}", svg.text());
        assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
        let svg = svg.text();
        assert!(
            svg.contains("data:image/png;base64,")
                && svg.contains(">N</text>")
                && svg.contains(">E</text>")
        );
        assert!(svg.contains("″</text>"), "a scale bar in arcseconds");
        let png = http(
            addr,
            "GET",
            &format!("/cutouts/lsst/{src}/{kind}.png"),
            None,
            None,
        );
        assert_eq!(png.status, 200, "{kind} {src}: {}", png.text());
        assert_eq!(png.header("content-type"), Some("image/png"));
        let fits = http(
            addr,
            "GET",
            &format!("/fits/{src}_cutout{kind}?survey=lsst"),
            None,
            None,
        );
        assert_eq!(fits.status, 200);
        let (w, h) = png_size(&png.body);
        assert!(w >= 10 && h >= 10, "{kind} {w}×{h}");
        assert_eq!(
            (w, h),
            fits_size(&fits.body),
            "{kind}: PNG is the FITS image's size"
        );
        assert!(page.contains(&format!("href=\"/fits/{src}_cutout{kind}?survey=lsst\"")));
    }
    run_chromium(
        &chrome,
        &[
            &format!("--screenshot={}", shots.join("object.png").display()),
            "--window-size=1200,1600",
        ],
        &login_url(&format!("/objects/{object_id}")),
    );
    assert!(std::fs::metadata(shots.join("object.png"))
        .map(|m| m.len() > 10_000)
        .unwrap_or(false));

    // A ZTF object's page (ZTF21abiuvdk, a supernova with a long lightcurve): the same
    // plot, one point per detection in its alerts, and its three cutouts as images.
    let ztf = common::ztf_object("ZTF21abiuvdk");
    assert!(ztf.sources.len() > 20, "{} detections", ztf.sources.len());
    let page = http(addr, "GET", "/objects/ZTF21abiuvdk", Some(&cookie), None);
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.text();
    let dom = run_chromium(
        &chrome,
        &["--dump-dom"],
        &login_url("/objects/ZTF21abiuvdk"),
    );
    assert_eq!(
        dom.matches("class=\"pt\"").count(),
        ztf.sources.len(),
        "one circle per ZTF detection"
    );
    assert!(dom.contains("class=\"band\""), "bands drawn");
    // Its upper limits are drawn too: 16 in its alerts, 10 of them before its first
    // detection.
    let lc = embedded_lightcurve(&page);
    let limits: Vec<f64> = lc["bands"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["limits"].as_array().cloned().unwrap_or_default())
        .filter(|l| l["mag"].is_f64())
        .filter_map(|l| l["mjd"].as_f64())
        .collect();
    let first = lc["bands"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["points"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["mjd"].as_f64())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(limits.len(), 16, "{limits:?}");
    assert_eq!(
        limits.iter().filter(|&&t| t < first).count(),
        10,
        "pre-discovery limits: {limits:?} before {first}"
    );
    assert_eq!(
        dom.matches("class=\"lim\"").count(),
        limits.len(),
        "one triangle per limit"
    );
    assert!(dom.contains(" UTC"), "calendar dates in the tooltips");
    let src = between(&page, "src=\"/cutouts/ztf/", "/Science.svg").expect("ZTF cutout img");
    assert!(
        ztf.triggers.contains(&src.parse::<i64>().expect("candid")),
        "the cutouts are from one of its alerts: {src}"
    );
    for kind in ["Science", "Template", "Difference"] {
        let png = http(
            addr,
            "GET",
            &format!("/cutouts/ztf/{src}/{kind}.png"),
            None,
            None,
        );
        assert_eq!(png.status, 200, "ZTF {kind} {src}: {}", png.text());
        let (w, h) = png_size(&png.body);
        assert!(w >= 10 && h >= 10, "ZTF {kind} {w}×{h}");
        assert!(
            dom.contains(&format!(
                "src=\"/cutouts/ztf/{src}/{kind}.svg?stretch=linear\""
            )),
            "ZTF {kind} <img>"
        );
    }
    // The context in a sentence, its best match (NGC 7814) linked, the peak per band.
    assert!(dom.contains("NGC7814</a>"), "best match linked");
    assert!(dom.contains("peak mag"));
    // Any detection's stamps can be chosen: one option per detection.
    let choices = between(&dom, "id=\"stamp-detection\"", "</select>").expect("detection choice");
    assert_eq!(choices.matches("<option").count(), ztf.sources.len());
    run_chromium(
        &chrome,
        &[
            &format!("--screenshot={}", shots.join("object-ztf.png").display()),
            "--window-size=1200,1600",
        ],
        &login_url("/objects/ZTF21abiuvdk"),
    );

    // Filters: test-run a filter, save it, activate it.
    let filters = http(addr, "GET", "/filters", Some(&cookie), None).text();
    let csrf = between(&filters, "name=\"csrf\" value=\"", "\"")
        .expect("csrf field")
        .to_string();
    let draft = |name: &str, conditions: &str| {
        form(&[
            ("csrf", csrf.as_str()),
            ("name", name),
            ("survey", "lsst"),
            ("selected", "objects.diaObjectId, objects.nDiaSources"),
            ("tables", "objects"),
            ("conditions", conditions),
            ("output", "kafka"),
        ])
    };
    let r = http(
        addr,
        "POST",
        "/filters/test",
        Some(&cookie),
        Some(&draft("bright", "objects.nDiaSources >= 2")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.text();
    let n: usize = between(&t, "data-rows=\"", "\"")
        .expect("row count")
        .parse()
        .expect("number");
    assert!(n > 0, "the test run finds objects:\n{t}");
    assert!(
        t.contains(&format!("href=\"/objects/{object_id}?survey=lsst\"")) || n == 50,
        "rows link to objects"
    );
    let r = http(
        addr,
        "POST",
        "/filters/test",
        Some(&cookie),
        Some(&draft("bad", "objects.nosuchcolumn > 1")),
    );
    assert!(
        r.text().contains("id=\"test-error\""),
        "a bad filter shows its error"
    );
    let no_csrf = form(&[
        ("name", "x"),
        ("selected", "objects.diaObjectId"),
        ("tables", "objects"),
    ]);
    assert_eq!(
        http(addr, "POST", "/filters", Some(&cookie), Some(&no_csrf)).status,
        403,
        "CSRF checked"
    );
    let r = http(
        addr,
        "POST",
        "/filters",
        Some(&cookie),
        Some(&draft("bright", "objects.nDiaSources >= 2")),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("location").expect("filter page").to_string();
    let detail = http(addr, "GET", &location, Some(&cookie), None).text();
    assert!(
        detail.contains(&format!("solas_{user_id}_bright")),
        "topic shown:\n{detail}"
    );
    assert!(detail.contains("confluent_kafka"), "consumer snippet");
    let r = http(
        addr,
        "POST",
        &format!("{location}/active"),
        Some(&cookie),
        Some(&form(&[("csrf", &csrf), ("active", "alerts")])),
    );
    assert_eq!(r.status, 303);
    let detail = http(addr, "GET", &location, Some(&cookie), None).text();
    assert!(detail.contains("<td id=\"filter-active\">alerts</td>"));
    // Private to its owner: nobody else sees it.
    assert_eq!(http(addr, "GET", &location, None, None).status, 404);
    run_chromium(
        &chrome,
        &[
            &format!("--screenshot={}", shots.join("filters.png").display()),
            "--window-size=1200,1600",
        ],
        &login_url("/filters"),
    );

    // Watchlists: a bad CSV stores nothing and names the line; a good one is listed.
    let bad = "ra,dec,name\n10.0,20.0,a\nnot,a,cone\n";
    let r = http(
        addr,
        "POST",
        "/watchlists",
        Some(&cookie),
        Some(&form(&[
            ("csrf", &csrf),
            ("name", "mine"),
            ("radius", "3"),
            ("csv", bad),
        ])),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("line 3"), "{}", r.text());
    let good = format!(
        "ra,dec,name\n{},{},richest\n10.5,-5.25,other\n",
        object.ra, object.dec
    );
    let r = http(
        addr,
        "POST",
        "/watchlists",
        Some(&cookie),
        Some(&form(&[
            ("csrf", &csrf),
            ("name", "mine"),
            ("radius", "2"),
            ("csv", &good),
        ])),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("id=\"upload-ok\""));
    let dom = run_chromium(&chrome, &["--dump-dom"], &login_url("/watchlists"));
    let listed = between(&dom, "id=\"watchlist-list\"", "</table>").expect("watchlist table");
    assert!(
        listed.contains(">mine</a></td>") && listed.contains("<td class=\"num\">2</td>"),
        "{listed}"
    );
    // Others do not see a private watchlist.
    assert!(!http(addr, "GET", "/watchlists", None, None)
        .text()
        .contains(">mine</a></td>"));
    // A second one, deleted from its row's button: gone from the list.
    let r = http(
        addr,
        "POST",
        "/watchlists",
        Some(&cookie),
        Some(&form(&[
            ("csrf", &csrf),
            ("name", "short-lived"),
            ("csv", "ra,dec,name\n1.5,2.5,x\n"),
        ])),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let id = between(&text, "Stored watchlist ", " ")
        .expect("new id")
        .to_string();
    let delete = format!("/watchlists/{id}/delete");
    assert!(
        text.contains(&format!("action=\"{delete}\"")),
        "a delete button"
    );
    let r = http(
        addr,
        "POST",
        &delete,
        Some(&cookie),
        Some(&form(&[("csrf", "forged")])),
    );
    assert_eq!(r.status, 403, "a forged form deletes nothing: {}", r.text());
    let r = http(
        addr,
        "POST",
        &delete,
        Some(&cookie),
        Some(&form(&[("csrf", &csrf)])),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("id=\"delete-ok\""), "{}", r.text());
    assert!(!r.text().contains(">short-lived</a></td>"));
    assert!(r.text().contains(">mine</a></td>"));
    // The watchlist's own page lists its hit on the richest object, linked.
    // The link of the list named "mine" (other tests add lists to the same data).
    let before_mine = dom.split(">mine</a>").next().expect("the list mine");
    let wl = before_mine
        .rsplit("href=\"/watchlists/")
        .next()
        .and_then(|s| s.split('"').next())
        .expect("watchlist link")
        .to_string();
    let detail = http(
        addr,
        "GET",
        &format!("/watchlists/{wl}"),
        Some(&cookie),
        None,
    )
    .text();
    assert!(
        detail.contains(&format!("<a href=\"/objects/{object_id}\">{object_id}</a>")),
        "{detail}"
    );
    assert_eq!(
        http(addr, "GET", &format!("/watchlists/{wl}"), None, None).status,
        404,
        "private"
    );
    run_chromium(
        &chrome,
        &[
            &format!("--screenshot={}", shots.join("watchlists.png").display()),
            "--window-size=1200,1200",
        ],
        &login_url("/watchlists"),
    );

    // Watchmap from an ASCII MOC.
    let r = http(
        addr,
        "POST",
        "/watchmaps",
        Some(&cookie),
        Some(&form(&[
            ("csrf", &csrf),
            ("name", "patch"),
            ("moc", "3/1-3"),
        ])),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("id=\"upload-ok\""));

    // Status and metrics.
    let status = http(addr, "GET", "/status", None, None).text();
    assert!(status.contains("lightcurves.db: detections") && status.contains("last-batch"));
    let m = http(addr, "GET", "/metrics", None, None);
    assert_eq!(
        (m.status, m.header("content-type")),
        (
            200,
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        )
    );
    assert_eq!(m.text(), "solas_alerts_total 42\n");
    run_chromium(
        &chrome,
        &[
            &format!("--screenshot={}", shots.join("home.png").display()),
            "--window-size=1200,1400",
        ],
        &format!("{base}/"),
    );
    server.stop().expect("server stops");
    eprintln!(
        "browser test took {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
}

/// What `tests/playwright/pages.mjs` saw of one page at one width.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seen {
    name: String,
    width: u32,
    status: u16,
    scroll_width: u32,
    client_width: u32,
    sticking: Vec<String>,
    errors: Vec<String>,
    counts: std::collections::BTreeMap<String, usize>,
    texts: std::collections::BTreeMap<String, Vec<String>>,
    title: String,
}

/// Load `pages` (the job's `pages` list) in Chromium through playwright-core, logged in
/// with `cookie` ("name=value") if given; full-page screenshots go to
/// `target/screenshots/<name>-<width>.png`.
fn playwright(
    chrome: &Path,
    base: &str,
    cookie: Option<&str>,
    pages: serde_json::Value,
) -> Vec<Seen> {
    let out = Command::new(common::repo().join("scripts/playwright.sh"))
        .output()
        .expect("scripts/playwright.sh runs");
    assert!(
        out.status.success(),
        "scripts/playwright.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let cookie = cookie
        .and_then(|c| c.split_once('='))
        .map(|(name, value)| serde_json::json!({ "name": name, "value": value }));
    let job = serde_json::json!({
        "chromium": chrome,
        "base": base,
        "cookie": cookie,
        "shots": screenshots_dir(),
        "pages": pages,
    });
    let mut child = Command::new("timeout")
        .args(["300", "node"])
        .arg(dir.join("pages.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(job.to_string().as_bytes())
        .expect("job sent");
    let out = child.wait_with_output().expect("node finishes");
    assert!(
        out.status.success(),
        "pages.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pages.mjs answers JSON")
}

/// Every page a person reaches, at a desktop width and a phone's 400 px: no page scrolls
/// sideways, no script fails, and errors are the site's own pages.
#[test]
fn every_page_fits_a_phone_and_errors_are_pages() {
    let Some(chrome) = chromium() else {
        eprintln!("SKIPPED: no chromium here (see pages_in_a_browser)");
        return;
    };
    let data = common::shared_data();
    let (_, token) = solas_web::add_user(
        data,
        "phonetester",
        "",
        Some("a-long-password-2"),
        UserClass::User,
    )
    .expect("user");
    let server = solas_web::spawn(ServeConfig::new(data, "127.0.0.1:0".parse().expect("addr")))
        .expect("server starts");
    let addr = server.local_addr();
    let base = format!("http://{addr}");
    let r = http(
        addr,
        "GET",
        &format!("/login?token={token}&next=/"),
        None,
        None,
    );
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let (object_id, object) = common::richest_rubin_object();
    // Things of this user's to look at: a watchlist on the richest object, a watchmap, a
    // filter, a tag.
    let csrf = between(
        &http(addr, "GET", "/filters", Some(&cookie), None).text(),
        "name=\"csrf\" value=\"",
        "\"",
    )
    .expect("csrf")
    .to_string();
    let made = |path: &str, pairs: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        http(addr, "POST", path, Some(&cookie), Some(&form(&all)))
    };
    let cones = format!("ra,dec,name\n{},{},richest\n", object.ra, object.dec);
    let r = made(
        "/watchlists",
        &[("name", "phone list"), ("radius", "2"), ("csv", &cones)],
    );
    let wl = between(&r.text(), "Stored watchlist ", " ")
        .expect("watchlist id")
        .to_string();
    let r = made("/watchmaps", &[("name", "phone map"), ("moc", "2/1-10")]);
    let wm = between(&r.text(), "Stored watchmap ", " ")
        .expect("watchmap id")
        .to_string();
    let r = made(
        "/filters",
        &[
            ("name", "phone filter"),
            ("description", "objects seen twice"),
            ("survey", "lsst"),
            ("selected", "objects.diaObjectId"),
            ("tables", "objects"),
            ("conditions", "objects.nDiaSources >= 2"),
            ("output", "kafka"),
        ],
    );
    let filter = r.header("location").expect("filter page").to_string();
    made(
        &format!("/objects/{object_id}/tags"),
        &[("tag", "phone_tag")],
    );
    // A GW event (the real GW190814 skymap) for the event pages.
    std::fs::create_dir_all(data.join("skymaps")).expect("skymaps dir");
    std::fs::copy(
        solas_testdata::shared().join("moc/GW190814_LALInference.v1.fits.gz"),
        data.join("skymaps/phone-gw190814.fits"),
    )
    .expect("skymap copied");
    let event = solas_store::main_db::watch::WatchStore::open(&data.join("solas.db"))
        .expect("watch store")
        .add_event(&solas_store::main_db::watch::MmaEvent {
            mw_id: 0,
            name: "GW190814-phone".into(),
            event_mjd: 58709.88240,
            window_days: 14.0,
            skymap_path: "skymaps/phone-gw190814.fits".into(),
            area10: 0.7,
            area50: 4.75,
            area90: 23.1,
        })
        .expect("event");
    let widths = [1400, 400];
    let pages = [
        ("watchlist", format!("/watchlists/{wl}")),
        ("watchmap", format!("/watchmaps/{wm}")),
        ("filter-detail", filter.clone()),
        ("filter-edit", format!("{filter}/edit")),
        ("tags", "/tags".to_string()),
        ("event", format!("/events/{event}")),
        ("tag", "/tags/phone_tag".to_string()),
        ("home", "/".to_string()),
        ("search-name", "/search?q=ztf21abiuvdk".to_string()),
        (
            "search-position",
            "/search?q=00+03+14.4+%2B16+08+43&radius=600".to_string(),
        ),
        ("objects-ztf", "/objects?survey=ztf".to_string()),
        ("object-rubin", format!("/objects/{object_id}")),
        ("object-ztf", "/objects/ZTF21abiuvdk".to_string()),
        ("filters", "/filters".to_string()),
        ("watchlists", "/watchlists".to_string()),
        ("watchmaps", "/watchmaps".to_string()),
        ("status", "/status".to_string()),
        ("events", "/events".to_string()),
        ("profile", "/profile".to_string()),
        ("api-docs", "/docs/api".to_string()),
        ("login", "/login".to_string()),
        ("error-unknown-path", "/no/such/page".to_string()),
        ("error-bad-id", "/filters/abc".to_string()),
        ("error-no-object", "/objects/999".to_string()),
    ];
    let job: Vec<serde_json::Value> = pages
        .iter()
        .map(|(name, path)| {
            serde_json::json!({
                "name": name, "path": path, "widths": widths,
                "count": { "search box": "form[action='/search'] input[name=q]",
                           "header": "header a.brand" },
            })
        })
        .collect();
    // Two interactions: ZTF's apparent magnitudes drawn, and the detection table sorted by
    // magpsf (its fourth column).
    let mut job = job;
    job.push(serde_json::json!({
        "name": "object-ztf-apparent", "path": "/objects/ZTF21abiuvdk", "widths": [1400],
        "click": ["#lc-dc", "#detections > summary", "#detection-table thead th:nth-child(4)"],
        "count": { "header": "header a.brand", "points": "#lc-plot g.band circle" },
        "text": { "axis": "#lc-plot text", "magpsf": "#detection-table tbody td:nth-child(4)" },
    }));
    let seen = playwright(&chrome, &base, Some(&cookie), serde_json::Value::Array(job));
    assert_eq!(seen.len(), pages.len() * widths.len() + 1);
    let apparent = seen.last().expect("the interaction");
    assert!(
        apparent.texts["axis"]
            .iter()
            .any(|t| t == "apparent magnitude (DC)"),
        "{:?}",
        apparent.texts["axis"]
    );
    assert_eq!(
        apparent.counts["points"], 34,
        "every detection has an apparent magnitude"
    );
    let magpsf: Vec<f64> = apparent.texts["magpsf"]
        .iter()
        .map(|t| t.parse().expect("a magnitude"))
        .collect();
    assert_eq!(magpsf.len(), 34);
    assert!(
        magpsf.windows(2).all(|w| w[0] <= w[1]),
        "sorted: {magpsf:?}"
    );
    let mut wrong = Vec::new();
    for s in &seen {
        if s.scroll_width > s.client_width {
            wrong.push(format!(
                "{} at {} px scrolls sideways ({} px wide): {:?}",
                s.name, s.width, s.scroll_width, s.sticking
            ));
        }
        if !s.errors.is_empty() {
            wrong.push(format!(
                "{} at {} px: script errors {:?}",
                s.name, s.width, s.errors
            ));
        }
        if s.counts.get("header") != Some(&1) {
            wrong.push(format!("{} at {} px is not a site page", s.name, s.width));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let status_of = |name: &str| {
        seen.iter()
            .find(|s| s.name == name)
            .map(|s| (s.status, s.title.clone(), s.counts["search box"]))
    };
    // Errors are styled pages with a way on: the search box.
    let (status, title, search) = status_of("error-unknown-path").expect("seen");
    assert_eq!((status, search), (404, 1), "{title}");
    let (status, _, search) = status_of("error-bad-id").expect("seen");
    assert_eq!((status, search), (400, 1));
    let (status, _, search) = status_of("error-no-object").expect("seen");
    assert_eq!((status, search), (404, 1));
    // The API keeps answering JSON, which is what its clients read.
    let r = http(addr, "GET", "/api/nosuch/", None, None);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    server.stop().expect("server stops");
}

/// Sessions live beside the users, not in one server's memory: a restarted server and a
/// second server on the same data both know a logged-in browser, and logging out on one
/// ends it on both.
#[test]
fn sessions_survive_a_restart_and_are_shared_between_servers() {
    let data = common::shared_data();
    let (_, token) = solas_web::add_user(
        data,
        "sessiontester",
        "",
        Some("a-long-password-3"),
        UserClass::User,
    )
    .expect("user");
    let start = || {
        solas_web::spawn(ServeConfig::new(data, "127.0.0.1:0".parse().expect("addr")))
            .expect("server starts")
    };
    let first = start();
    let r = http(
        first.local_addr(),
        "GET",
        &format!("/login?token={token}&next=/"),
        None,
        None,
    );
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    first.stop().expect("server stops");
    let (a, b) = (start(), start());
    for server in [&a, &b] {
        let home = http(server.local_addr(), "GET", "/", Some(&cookie), None).text();
        assert!(
            home.contains("sessiontester"),
            "logged in on {}",
            server.local_addr()
        );
    }
    // Log out on one: the other no longer knows the session either.
    let filters = http(a.local_addr(), "GET", "/filters", Some(&cookie), None).text();
    let csrf = between(&filters, "name=\"csrf\" value=\"", "\"").expect("csrf");
    let r = http(
        a.local_addr(),
        "POST",
        "/logout",
        Some(&cookie),
        Some(&form(&[("csrf", csrf)])),
    );
    assert_eq!(r.status, 303);
    let home = http(b.local_addr(), "GET", "/", Some(&cookie), None).text();
    assert!(!home.contains("sessiontester"), "logged out everywhere");
    a.stop().expect("stops");
    b.stop().expect("stops");
}
