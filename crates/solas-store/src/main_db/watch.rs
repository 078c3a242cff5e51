//! What users watch and what the broker found for them, kept in the main database:
//! watchlists and their cones, watchmaps (the uploaded MOC bytes), the TNS copy
//! (`crossmatch_tns`, plus the operator's `TNS` watchlist of its positions, through which
//! filters join it as Lasair does), gravitational-wave events (`mma_areas`) and every hit.
//! The geometry is `solas-watch`'s; this module only stores and reads.
//!
//! Every change that alters what matches bumps a version (`cursors.watch.version`), so the
//! running filter stage knows to rebuild its indexes: a new watchlist is live within
//! seconds, with no restart.

use std::path::Path;

use solas_core::Survey;
use solas_watch::{Cone, TnsRow};

use crate::args;
use crate::db::{Db, Target};
use crate::StoreError;

/// The operator's watchlist holding TNS positions (owner 0).
pub const TNS_WATCHLIST: (i64, &str) = (0, "TNS");
pub use super::watch_hits::{ConeHit, Hits};

const VERSION_KEY: &str = "watch.version";
/// Moves only when the cones change (watchlists, TNS): rebuilding the cone index is what
/// costs at scale (a minute at 10⁸ cones), so an event or watchmap does not cause it.
const CONES_VERSION_KEY: &str = "watch.cones_version";

#[derive(Debug, Clone, PartialEq)]
pub struct Watchlist {
    pub wl_id: i64,
    pub owner: i64,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub active: bool,
    /// Default cone radius, arcsec.
    pub radius: f64,
    pub cones: i64,
    pub hits: i64,
    /// The magnitude trigger: a cone fires again for an object only when its magnitude
    /// moved by at least this much since the cone last fired (`None`: on every match).
    pub mag_change: Option<f64>,
}

/// A watchlist as uploaded, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWatchlist<'a> {
    pub owner: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub public: bool,
    /// Default cone radius, arcsec.
    pub radius_arcsec: f64,
    pub mag_change: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Watchmap {
    pub ar_id: i64,
    pub owner: i64,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub active: bool,
    pub area_deg2: Option<f64>,
    pub hits: i64,
}

/// A gravitational-wave (or other multi-messenger) event with its skymap file.
#[derive(Debug, Clone, PartialEq)]
pub struct MmaEvent {
    pub mw_id: i64,
    pub name: String,
    /// When the event happened (MJD, UTC).
    pub event_mjd: f64,
    /// Objects detected within this many days after the event are tagged.
    pub window_days: f64,
    /// The skymap file, relative to the data directory.
    pub skymap_path: String,
    pub area10: f64,
    pub area50: f64,
    pub area90: f64,
}

/// An object as stored: its key (`diaObjectId` as text, or the ZTF name).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRef {
    pub survey: Survey,
    pub key: String,
}

/// A stored object's position, for matching objects already in the database.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPosition {
    pub object: ObjectRef,
    pub ra: f64,
    pub dec: f64,
    /// The latest detection (MJD).
    pub last_mjd: Option<f64>,
    /// The host's distance from the context classification, Mpc.
    pub distance_mpc: Option<f64>,
}

pub struct WatchStore {
    db: Db,
}

fn invalid(message: String) -> StoreError {
    StoreError::Invalid(message)
}

fn bump(tx: &mut Db) -> Result<(), StoreError> {
    bump_key(tx, VERSION_KEY)
}

/// A change of cones: both versions move.
fn bump_cones(tx: &mut Db) -> Result<(), StoreError> {
    bump_key(tx, CONES_VERSION_KEY)?;
    bump_key(tx, VERSION_KEY)
}

fn bump_key(tx: &mut Db, key: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO cursors (name, value) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET value = cursors.value + 1",
        args![key],
    )?;
    Ok(())
}

/// The watchlist TNS imports fill, once one has been made.
pub(super) fn tns_watchlist(db: &mut Db) -> Result<Option<i64>, StoreError> {
    db.query_opt(
        "SELECT wl_id FROM watchlists WHERE owner = ?1 AND name = ?2",
        args![TNS_WATCHLIST.0, TNS_WATCHLIST.1],
    )?
    .map(|r| r.get(0))
    .transpose()
}

impl WatchStore {
    /// The watch tables of the main database in a SQLite file.
    pub fn open(main_db: &Path) -> Result<WatchStore, StoreError> {
        Self::connect(&Target::Sqlite(main_db.to_path_buf()))
    }

    pub fn connect(target: &Target) -> Result<WatchStore, StoreError> {
        Ok(WatchStore {
            db: super::connect(target)?,
        })
    }

    /// The connection, for the matcher's reads of objects rows.
    pub(crate) fn db(&mut self) -> &mut Db {
        &mut self.db
    }

    /// Changes whenever a watchlist, watchmap, TNS import or event changes what matches.
    pub fn version(&mut self) -> Result<i64, StoreError> {
        self.cursor(VERSION_KEY)
    }

    /// Moves when cones change (a watchlist, TNS), not when events or watchmaps do.
    pub fn cones_version(&mut self) -> Result<i64, StoreError> {
        self.cursor(CONES_VERSION_KEY)
    }

    fn cursor(&mut self, key: &str) -> Result<i64, StoreError> {
        Ok(self
            .db
            .query_opt("SELECT value FROM cursors WHERE name = ?1", args![key])?
            .map(|r| r.get(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// Store a watchlist and all its cones, or nothing.
    pub fn add_watchlist(&mut self, w: &NewWatchlist, cones: &[Cone]) -> Result<i64, StoreError> {
        let NewWatchlist {
            owner,
            name,
            description,
            public,
            radius_arcsec,
            mag_change,
        } = *w;
        if name.trim().is_empty() {
            return Err(invalid("a watchlist needs a name".into()));
        }
        super::limits::check_name_and_description("watchlist", name, description)?;
        if !(radius_arcsec.is_finite() && radius_arcsec > 0.0) {
            return Err(invalid(format!(
                "default radius {radius_arcsec} is not a positive number of arcseconds"
            )));
        }
        if mag_change.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
            return Err(invalid(format!(
                "magnitude change {} is not a positive number of magnitudes",
                mag_change.unwrap_or_default()
            )));
        }
        self.db.transaction(|tx| {
            let wl_id: i64 = tx
                .query_one(
                    "INSERT INTO watchlists (owner, name, description, public, radius, mag_change)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING wl_id",
                    args![owner, name, description, public, radius_arcsec, mag_change],
                )
                .map_err(|e| {
                    e.if_unique(|| format!("user {owner} already has a watchlist named {name:?}"))
                })?
                .get(0)?;
            insert_cones(tx, wl_id, cones)?;
            bump_cones(tx)?;
            Ok(wl_id)
        })
    }

    pub fn watchlists(&mut self) -> Result<Vec<Watchlist>, StoreError> {
        self.db
            .query(
                "SELECT w.wl_id, w.owner, w.name, w.description, w.public, w.active, w.radius,
               (SELECT COUNT(*) FROM watchlist_cones c WHERE c.wl_id = w.wl_id),
               (SELECT COUNT(*) FROM watchlist_hits h WHERE h.wl_id = w.wl_id)
             + (SELECT COUNT(*) FROM ztf_watchlist_hits h WHERE h.wl_id = w.wl_id),
               w.mag_change
             FROM watchlists w ORDER BY w.wl_id",
                &[],
            )?
            .iter()
            .map(watchlist_from_row)
            .collect()
    }

    /// Remove a watchlist with its cones and hits. Only its owner may.
    pub fn remove_watchlist(&mut self, wl_id: i64, owner: i64) -> Result<(), StoreError> {
        self.db.transaction(|tx| {
            let found: Option<i64> = tx
                .query_opt(
                    "SELECT owner FROM watchlists WHERE wl_id = ?1",
                    args![wl_id],
                )?
                .map(|r| r.get(0))
                .transpose()?;
            match found {
                None => return Err(invalid(format!("no watchlist {wl_id}"))),
                Some(o) if o != owner => {
                    return Err(invalid(format!(
                        "watchlist {wl_id} belongs to another user"
                    )))
                }
                Some(_) => {}
            }
            for table in [
                "watchlist_cones",
                "watchlist_hits",
                "ztf_watchlist_hits",
                "watchlists",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE wl_id = ?1"),
                    args![wl_id],
                )?;
            }
            bump_cones(tx)
        })
    }

    /// Every cone of every active watchlist: (wl_id, cone_id, ra, dec, radius arcsec), the
    /// list's default radius standing in for cones without their own.
    pub fn for_each_cone(
        &mut self,
        mut f: impl FnMut(i64, i64, f64, f64, f64),
    ) -> Result<(), StoreError> {
        let rows = self.db.query(
            "SELECT c.wl_id, c.cone_id, c.ra, c.decl, COALESCE(c.radius, w.radius)
             FROM watchlist_cones c JOIN watchlists w ON w.wl_id = c.wl_id WHERE w.active <> 0",
            &[],
        )?;
        for r in rows {
            f(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        }
        Ok(())
    }

    pub fn add_watchmap(
        &mut self,
        owner: i64,
        name: &str,
        description: &str,
        public: bool,
        moc: &[u8],
        area_deg2: f64,
    ) -> Result<i64, StoreError> {
        if name.trim().is_empty() {
            return Err(invalid("a watchmap needs a name".into()));
        }
        super::limits::check_name_and_description("watchmap", name, description)?;
        self.db.transaction(|tx| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO watchmaps (owner, name, description, public, moc, area_deg2)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING ar_id",
                    args![owner, name, description, public, moc, area_deg2],
                )
                .map_err(|e| {
                    e.if_unique(|| format!("user {owner} already has a watchmap named {name:?}"))
                })?
                .get(0)?;
            bump(tx)?;
            Ok(id)
        })
    }

    pub fn watchmaps(&mut self) -> Result<Vec<Watchmap>, StoreError> {
        self.db
            .query(
                "SELECT m.ar_id, m.owner, m.name, m.description, m.public, m.active, m.area_deg2,
               (SELECT COUNT(*) FROM area_hits h WHERE h.ar_id = m.ar_id)
             + (SELECT COUNT(*) FROM ztf_area_hits h WHERE h.ar_id = m.ar_id)
             FROM watchmaps m ORDER BY m.ar_id",
                &[],
            )?
            .iter()
            .map(watchmap_from_row)
            .collect()
    }

    /// The MOC bytes of every active watchmap.
    pub fn active_mocs(&mut self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.db
            .query(
                "SELECT ar_id, moc FROM watchmaps WHERE active <> 0 ORDER BY ar_id",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    pub fn remove_watchmap(&mut self, ar_id: i64, owner: i64) -> Result<(), StoreError> {
        self.db.transaction(|tx| {
            let found: Option<i64> = tx
                .query_opt("SELECT owner FROM watchmaps WHERE ar_id = ?1", args![ar_id])?
                .map(|r| r.get(0))
                .transpose()?;
            match found {
                None => return Err(invalid(format!("no watchmap {ar_id}"))),
                Some(o) if o != owner => {
                    return Err(invalid(format!("watchmap {ar_id} belongs to another user")))
                }
                Some(_) => {}
            }
            for table in ["area_hits", "ztf_area_hits", "watchmaps"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE ar_id = ?1"),
                    args![ar_id],
                )?;
            }
            bump(tx)
        })
    }

    /// Upsert TNS rows (a full export or an incremental one) and rebuild the `TNS`
    /// watchlist from the whole table, so matching and filters see them at once. Returns
    /// the TNS watchlist's id.
    pub fn import_tns(&mut self, rows: &[TnsRow], radius_arcsec: f64) -> Result<i64, StoreError> {
        self.db.transaction(|tx| {
        for r in rows {
            tx.execute(
                "INSERT INTO crossmatch_tns (id, tns_name, tns_prefix, ra, decl, disc_mag, disc_mag_filter,
                   type, z, hostz, host_name, ext_catalogs, disc_int_name, disc_date, lastmodified_date,
                   sender, reporters, source_group, lasairmodified_date)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18, CURRENT_TIMESTAMP)
                 ON CONFLICT (id) DO UPDATE SET tns_name = excluded.tns_name, tns_prefix = excluded.tns_prefix,
                   ra = excluded.ra, decl = excluded.decl, disc_mag = excluded.disc_mag,
                   disc_mag_filter = excluded.disc_mag_filter, type = excluded.type, z = excluded.z,
                   hostz = excluded.hostz, host_name = excluded.host_name, ext_catalogs = excluded.ext_catalogs,
                   disc_int_name = excluded.disc_int_name, disc_date = excluded.disc_date,
                   lastmodified_date = excluded.lastmodified_date, sender = excluded.sender,
                   reporters = excluded.reporters, source_group = excluded.source_group,
                   lasairmodified_date = CURRENT_TIMESTAMP",
                args![
                    r.id,
                    &r.tns_name,
                    r.tns_prefix.clone(),
                    r.ra,
                    r.decl,
                    r.disc_mag,
                    r.disc_mag_filter.clone(),
                    r.r#type.clone(),
                    r.z,
                    r.hostz,
                    r.host_name.clone(),
                    r.ext_catalogs.clone(),
                    r.disc_int_name.clone(),
                    r.disc_date.clone(),
                    r.lastmodified_date.clone(),
                    r.sender.clone(),
                    r.reporters.clone(),
                    r.source_group.clone()
                ],
            )?;
        }
        let existing: Option<i64> = tx
            .query_opt(
                "SELECT wl_id FROM watchlists WHERE owner = ?1 AND name = ?2",
                args![TNS_WATCHLIST.0, TNS_WATCHLIST.1],
            )?
            .map(|r| r.get(0))
            .transpose()?;
        let wl_id = match existing {
            Some(id) => {
                tx.execute(
                    "UPDATE watchlists SET radius = ?2 WHERE wl_id = ?1",
                    args![id, radius_arcsec],
                )?;
                id
            }
            None => tx
                .query_one(
                    "INSERT INTO watchlists (owner, name, description, public, radius)
                     VALUES (?1, ?2, 'Transient Name Server public objects', 1, ?3) RETURNING wl_id",
                    args![TNS_WATCHLIST.0, TNS_WATCHLIST.1, radius_arcsec],
                )?
                .get(0)?,
        };
        tx.execute("DELETE FROM watchlist_cones WHERE wl_id = ?1", args![wl_id])?;
        tx.execute(
            "INSERT INTO watchlist_cones (wl_id, name, ra, decl)
             SELECT CAST(?1 AS BIGINT), tns_name, ra, decl FROM crossmatch_tns",
            args![wl_id],
        )?;
        // Cone ids changed: the old hits point at cones that no longer exist.
        tx.execute("DELETE FROM watchlist_hits WHERE wl_id = ?1", args![wl_id])?;
        tx.execute("DELETE FROM ztf_watchlist_hits WHERE wl_id = ?1", args![wl_id])?;
        bump_cones(tx)?;
        Ok(wl_id)
        })
    }

    pub fn tns_watchlist(&mut self) -> Result<Option<i64>, StoreError> {
        tns_watchlist(&mut self.db)
    }

    pub fn add_event(&mut self, e: &MmaEvent) -> Result<i64, StoreError> {
        self.db.transaction(|tx| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO mma_areas (name, event_mjd, window_days, skymap_path, area10, area50, area90)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING mw_id",
                    args![&e.name, e.event_mjd, e.window_days, &e.skymap_path, e.area10, e.area50, e.area90],
                )
                .map_err(|err| err.if_unique(|| format!("an event named {:?} already exists", e.name)))?
                .get(0)?;
            bump(tx)?;
            Ok(id)
        })
    }

    /// An event and its skymap file (under `data_dir/skymaps/`): a new event, or a new
    /// localization of the event of that name (its region, time and areas replaced, its
    /// hits dropped for the matching to find again). The file is written before the event
    /// points at it, so an event never names a file that is not there. `map` is `skymap`
    /// read (the caller has read it already, for its checks). Returns the event and
    /// whether it is new.
    pub fn save_event(
        &mut self,
        data_dir: &Path,
        name: &str,
        event_mjd: f64,
        window_days: f64,
        skymap: &[u8],
        map: &solas_watch::Skymap,
    ) -> Result<(MmaEvent, bool), StoreError> {
        let dir = data_dir.join("skymaps");
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        // Named so that no earlier map of the event, nor another process's, has the name.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let file = format!("skymaps/{}-{stamp}.fits", std::process::id());
        let path = data_dir.join(&file);
        std::fs::write(&path, skymap).map_err(|e| StoreError::io(&path, e))?;
        let mut event = MmaEvent {
            mw_id: 0,
            name: name.to_string(),
            event_mjd,
            window_days,
            skymap_path: file,
            area10: map.region_area_deg2(10.0),
            area50: map.region_area_deg2(50.0),
            area90: map.region_area_deg2(90.0),
        };
        let old = self.event_named(name)?;
        match &old {
            Some(old) => {
                event.mw_id = old.mw_id;
                self.relocate_event(&event)?;
                if old.skymap_path != event.skymap_path {
                    let _ = std::fs::remove_file(data_dir.join(&old.skymap_path));
                }
            }
            None => event.mw_id = self.add_event(&event)?,
        }
        Ok((event, old.is_none()))
    }

    /// The event of that name, if there is one.
    pub fn event_named(&mut self, name: &str) -> Result<Option<MmaEvent>, StoreError> {
        self.db
            .query(
                "SELECT mw_id, name, event_mjd, window_days, skymap_path, area10, area50, area90
                 FROM mma_areas WHERE name = ?1",
                args![name],
            )?
            .first()
            .map(event_from_row)
            .transpose()
    }

    /// A new localization of an event (a later notice): its time, region and areas
    /// replace the old ones, and its hits go (the matching finds them again in the new
    /// region).
    pub fn relocate_event(&mut self, e: &MmaEvent) -> Result<(), StoreError> {
        self.db.transaction(|tx| {
            tx.execute(
                "UPDATE mma_areas SET event_mjd = ?2, window_days = ?3, skymap_path = ?4,
                        area10 = ?5, area50 = ?6, area90 = ?7 WHERE mw_id = ?1",
                args![
                    e.mw_id,
                    e.event_mjd,
                    e.window_days,
                    &e.skymap_path,
                    e.area10,
                    e.area50,
                    e.area90
                ],
            )?;
            delete_event_hits(tx, e.mw_id)?;
            bump(tx)
        })
    }

    /// A retracted event: it and every tag it gave go. Returns whether there was one.
    pub fn remove_event(&mut self, name: &str) -> Result<Option<MmaEvent>, StoreError> {
        let Some(e) = self.event_named(name)? else {
            return Ok(None);
        };
        self.db.transaction(|tx| {
            delete_event_hits(tx, e.mw_id)?;
            tx.execute("DELETE FROM mma_areas WHERE mw_id = ?1", args![e.mw_id])?;
            bump(tx)
        })?;
        Ok(Some(e))
    }

    pub fn events(&mut self) -> Result<Vec<MmaEvent>, StoreError> {
        self.db
            .query(
                "SELECT mw_id, name, event_mjd, window_days, skymap_path, area10, area50, area90
                 FROM mma_areas ORDER BY mw_id",
                &[],
            )?
            .iter()
            .map(event_from_row)
            .collect()
    }

    /// Write what a matching pass found; repeated hits replace the earlier ones. LSST
    /// objects matched to the TNS watchlist get `objects.tns_name` set.
    pub fn write_hits(&mut self, hits: &Hits) -> Result<(), StoreError> {
        if hits.is_empty() {
            return Ok(());
        }
        self.db
            .transaction(|tx| super::watch_hits::write_hits(tx, hits))
    }

    /// Every stored object's position, latest detection and host distance.
    pub fn positions(&mut self) -> Result<Vec<StoredPosition>, StoreError> {
        // ZTF's jdmax is a Julian date.
        let queries = [
            (
                Survey::Lsst,
                "SELECT CAST(o.\"diaObjectId\" AS TEXT), o.ra, o.decl, o.\"lastDiaSourceMjdTai\", s.distance
                 FROM objects o LEFT JOIN sherlock_classifications s ON s.\"diaObjectId\" = o.\"diaObjectId\"
                 WHERE o.ra IS NOT NULL AND o.decl IS NOT NULL",
            ),
            (
                Survey::Ztf,
                "SELECT o.\"objectId\", o.ramean, o.decmean, o.jdmax - 2400000.5, s.distance
                 FROM ztf_objects o LEFT JOIN ztf_sherlock_classifications s ON s.\"objectId\" = o.\"objectId\"
                 WHERE o.ramean IS NOT NULL AND o.decmean IS NOT NULL",
            ),
        ];
        let mut out = Vec::new();
        for (survey, sql) in queries {
            for r in self.db.query(sql, &[])? {
                out.push(StoredPosition {
                    object: ObjectRef {
                        survey,
                        key: r.get(0)?,
                    },
                    ra: r.get(1)?,
                    dec: r.get(2)?,
                    last_mjd: r.get(3)?,
                    distance_mpc: r.get(4)?,
                });
            }
        }
        Ok(out)
    }
}

fn insert_cones(tx: &mut Db, wl_id: i64, cones: &[Cone]) -> Result<(), StoreError> {
    let rows: Vec<Vec<crate::db::Value>> = cones
        .iter()
        .map(|c| args![wl_id, &c.name, c.ra, c.dec, c.radius_arcsec].to_vec())
        .collect();
    tx.execute_rows(
        "INSERT INTO watchlist_cones (wl_id, name, ra, decl, radius) VALUES",
        "",
        &rows,
    )?;
    Ok(())
}

/// A `watchlists` row with its two counts after the table's columns (wl_id, owner, name,
/// description, public, active, radius, cones, hits, mag_change).
pub(crate) fn watchlist_from_row(r: &crate::db::Row) -> Result<Watchlist, StoreError> {
    Ok(Watchlist {
        wl_id: r.get(0)?,
        owner: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        public: r.get(4)?,
        active: r.get(5)?,
        radius: r.get(6)?,
        cones: r.get(7)?,
        hits: r.get(8)?,
        mag_change: r.get(9)?,
    })
}

/// An `mma_areas` row (mw_id, name, event_mjd, window_days, skymap_path, area10, area50,
/// area90).
fn delete_event_hits(tx: &mut Db, mw_id: i64) -> Result<(), StoreError> {
    for table in ["mma_area_hits", "ztf_mma_area_hits"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE mw_id = ?1"),
            args![mw_id],
        )?;
    }
    Ok(())
}

pub(crate) fn event_from_row(r: &crate::db::Row) -> Result<MmaEvent, StoreError> {
    Ok(MmaEvent {
        mw_id: r.get(0)?,
        name: r.get(1)?,
        event_mjd: r.get(2)?,
        window_days: r.get(3)?,
        skymap_path: r.get(4)?,
        area10: r.get(5)?,
        area50: r.get(6)?,
        area90: r.get(7)?,
    })
}

/// A `watchmaps` row with its hit count (ar_id, owner, name, description, public, active,
/// area_deg2, hits).
pub(crate) fn watchmap_from_row(r: &crate::db::Row) -> Result<Watchmap, StoreError> {
    Ok(Watchmap {
        ar_id: r.get(0)?,
        owner: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        public: r.get(4)?,
        active: r.get(5)?,
        area_deg2: r.get(6)?,
        hits: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A later notice of an event relocates it: same id, the new map, the old map's file
    /// and the old region's tags gone.
    #[test]
    fn a_second_skymap_of_an_event_relocates_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("solas.db");
        crate::main_db::MainDatabase::open(&db).unwrap();
        let mut store = WatchStore::open(&db).unwrap();
        let save = |store: &mut WatchStore, name: &str, mjd: f64, bytes: &[u8]| {
            let map = solas_watch::Skymap::from_fits(bytes).unwrap();
            store.save_event(dir.path(), name, mjd, 14.0, bytes, &map)
        };
        let first = solas_watch::circle_fits(10.0, 20.0, 5.0, 0.9, None, None).unwrap();
        let (e1, new) = save(&mut store, "GRB 1", 60000.0, &first).unwrap();
        assert!(new);
        store
            .write_hits(&Hits {
                mma: vec![(
                    ObjectRef {
                        survey: Survey::Ztf,
                        key: "ZTF21abiuvdk".into(),
                    },
                    e1.mw_id,
                    50.0,
                    1.0,
                    None,
                )],
                ..Default::default()
            })
            .unwrap();
        let second = solas_watch::circle_fits(10.0, 20.0, 0.1, 0.9, None, None).unwrap();
        let (e2, new) = save(&mut store, "GRB 1", 60000.1, &second).unwrap();
        assert!(!new);
        assert_eq!(e1.mw_id, e2.mw_id);
        assert!(
            e2.area90 < e1.area90 / 100.0,
            "{} vs {}",
            e2.area90,
            e1.area90
        );
        assert!(!dir.path().join(&e1.skymap_path).exists());
        assert_eq!(
            std::fs::read(dir.path().join(&e2.skymap_path)).unwrap(),
            second
        );
        assert_eq!(store.events().unwrap(), vec![e2.clone()]);
        let conn = rusqlite::Connection::open(&db).unwrap();
        let hits: i64 = conn
            .query_row("SELECT COUNT(*) FROM ztf_mma_area_hits", [], |r| r.get(0))
            .unwrap();
        assert_eq!(hits, 0, "the old region's tags are gone");
        assert!(store.remove_event("GRB 1").unwrap().is_some());
        assert!(store.events().unwrap().is_empty());
        assert!(store.remove_event("GRB 1").unwrap().is_none());
    }
}
