//! The home page: live counts of what is stored and the most recently updated objects of
//! each survey, linking to their object pages.

use axum::extract::State;
use axum::response::IntoResponse;
use rusqlite::Connection;

use super::layout::{esc, json_table, page, PageResult};
use super::session::Viewer;
use crate::db::{blocking, has_table, read_only, rows_json};
use crate::AppState;

/// `SELECT count(*)` of a table, None when the table does not exist (yet).
pub(crate) fn count(conn: &Connection, table: &str) -> Result<Option<i64>, rusqlite::Error> {
    if !has_table(conn, table)? {
        return Ok(None);
    }
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .map(Some)
}

/// A number with thousands separators.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

struct Home {
    counts: Vec<(&'static str, Option<i64>)>,
    lsst: String,
    ztf: String,
}

fn gather(state: &AppState, viewer: Option<i64>) -> Result<Home, crate::error::ApiError> {
    let main = read_only(&state.shared.config.main_db())?;
    let lc = read_only(&state.shared.config.data_dir.join("lightcurves.db"))?;
    // Filters and watchlists count only what the viewer may see: their own and public.
    let visible = |table: &str| -> Result<Option<i64>, rusqlite::Error> {
        if !has_table(&main, table)? {
            return Ok(None);
        }
        main.query_row(
            &format!("SELECT count(*) FROM {table} WHERE public OR owner = ?1"),
            [viewer.unwrap_or(-1)],
            |r| r.get(0),
        )
        .map(Some)
    };
    let counts = vec![
        ("Rubin objects", count(&main, "objects")?),
        ("ZTF objects", count(&main, "ztf_objects")?),
        ("Detections stored", count(&lc, "detections")?),
        ("Forced photometry", count(&lc, "forced_photometry")?),
        ("Filters", visible("filters")?),
        ("Watchlists", visible("watchlists")?),
        ("Watchmaps", visible("watchmaps")?),
    ];
    let lsst_cols: Vec<String> = [
        "diaObjectId",
        "ra",
        "decl",
        "nDiaSources",
        "lastDiaSourceMjdTai",
    ]
    .map(String::from)
    .to_vec();
    let lsst_rows = rows_json(
        &main,
        "SELECT diaObjectId, ra, decl, nDiaSources, lastDiaSourceMjdTai FROM objects
         ORDER BY lastDiaSourceMjdTai DESC LIMIT 20",
        [],
    )?;
    let ztf_cols: Vec<String> = ["objectId", "ramean", "decmean", "ncand", "jdmax"]
        .map(String::from)
        .to_vec();
    let ztf_rows = rows_json(
        &main,
        "SELECT objectId, ramean, decmean, ncand, jdmax FROM ztf_objects
         ORDER BY jdmax DESC LIMIT 20",
        [],
    )?;
    Ok(Home {
        counts,
        lsst: json_table(&lsst_cols, &lsst_rows, Some(("diaObjectId", "lsst"))),
        ztf: json_table(&ztf_cols, &ztf_rows, Some(("objectId", "ztf"))),
    })
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let id = viewer.user_id();
    let home = blocking(move || gather(&st, id)).await??;
    let mut body = String::from("<section class=\"counts\">");
    for (label, n) in &home.counts {
        body.push_str(&format!(
            "<div class=\"count\"><span class=\"n\">{}</span><span class=\"label\">{}</span></div>",
            n.map_or("–".to_string(), thousands),
            esc(label)
        ));
    }
    body.push_str("</section>");
    body.push_str(
        "<form class=\"inline\" method=\"get\" action=\"/objects/lookup\">\
         <input name=\"id\" placeholder=\"diaObjectId or ZTF name\" required> \
         <button>Open object</button></form>",
    );
    body.push_str(&format!(
        "<h2>Recent Rubin objects</h2>{}<h2>Recent ZTF objects</h2>{}",
        home.lsst, home.ztf
    ));
    Ok(page("Solas alert broker", viewer.0.as_ref(), &body).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::thousands(-1000), "-1,000");
    }
}
