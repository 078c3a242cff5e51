//! Cutouts in append-only pack files with an index, in one directory:
//!
//! ```text
//! <root>/packs/00000001.pack   compressed cutouts, one after another (rolled at 1 GiB)
//! <root>/index.db              (survey, source id, kind) → (pack, offset, length)
//! ```
//!
//! One file per cutout would mean three new inodes per alert, 30 million a night at Rubin
//! rates; creating them dominated ingest time in the benchmark. Appending to a pack costs a
//! memcpy. Each cutout is its image HDU as an LZ4 frame (readable with the `lz4` tool).
//!
//! Durability is per batch: [`BlobStore::sync`] fsyncs the pack, then commits the batch's
//! index entries. The index never points at bytes that are not on disk; bytes whose index
//! entry was lost in a crash are re-written when the alert is re-read (its source position
//! was not acknowledged). A cutout already indexed is not written again.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use solas_core::{CutoutKind, Survey};

use crate::{BlobStore, StoreError};

const MAX_PACK_BYTES: u64 = 1 << 30;

pub struct PackBlobStore {
    root: PathBuf,
    writer: Mutex<PackWriter>,
    /// Two connections on the index: lookups never wait behind a batch's commit (WAL).
    index: Mutex<Connection>,
    index_writer: Mutex<Connection>,
}

type Key = (Survey, i64, CutoutKind);

struct PackWriter {
    file: File,
    number: u32,
    len: u64,
    /// Written to the pack, not yet in the index.
    pending: Vec<(Key, u32, u64, u64)>,
    pending_keys: HashSet<Key>,
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, StoreError> {
    m.lock()
        .map_err(|_| StoreError::Invalid("cutout store lock poisoned by a failed writer".into()))
}

impl PackBlobStore {
    pub fn open(root: &Path) -> Result<PackBlobStore, StoreError> {
        let packs = root.join("packs");
        std::fs::create_dir_all(&packs).map_err(|e| StoreError::io(&packs, e))?;
        let index_path = root.join("index.db");
        crate::db::Db::open(&crate::db::Target::Sqlite(index_path.clone()))?.migrate(
            "schema_migrations",
            &[crate::db::Migration {
                version: 1,
                name: "cutout index",
                sql: "CREATE TABLE cutouts (
                    survey INTEGER NOT NULL, source_id INTEGER NOT NULL, kind TEXT NOT NULL,
                    pack INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
                    PRIMARY KEY (survey, source_id, kind)) WITHOUT ROWID;"
                    .into(),
            }],
        )?;
        let index = crate::sqlite::open(&index_path)?;
        // Append to the newest pack.
        let newest = std::fs::read_dir(&packs)
            .map_err(|e| StoreError::io(&packs, e))?
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".pack")?
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .unwrap_or(1);
        let (file, len) = open_pack(root, newest)?;
        let reader = crate::sqlite::open(&root.join("index.db"))?;
        Ok(PackBlobStore {
            root: root.to_path_buf(),
            writer: Mutex::new(PackWriter {
                file,
                number: newest,
                len,
                pending: Vec::new(),
                pending_keys: HashSet::new(),
            }),
            index: Mutex::new(reader),
            index_writer: Mutex::new(index),
        })
    }

    fn pack_path(root: &Path, number: u32) -> PathBuf {
        root.join("packs").join(format!("{number:08}.pack"))
    }

    /// Where a cutout is: (pack, offset, compressed length).
    fn locate(&self, key: Key) -> Result<Option<(u32, u64, u64)>, StoreError> {
        let index = lock(&self.index)?;
        let found = index
            .prepare_cached(
                "SELECT pack, offset, length FROM cutouts WHERE survey = ?1 AND source_id = ?2 AND kind = ?3",
            )?
            .query_row(params![crate::survey_code(key.0), key.1, key.2.as_str()], |r| {
                // Offsets and lengths are stored as SQLite integers (i64), always >= 0.
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))
            })
            .optional()?;
        Ok(found)
    }

    /// Compressed size of a stored cutout, if stored.
    pub fn stored_size(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<u64>, StoreError> {
        Ok(self
            .locate((survey, source_id, kind))?
            .map(|(_, _, len)| len))
    }

    /// Every indexed cutout, sorted: (survey, source id, kind, compressed length).
    pub fn list(&self) -> Result<Vec<(i64, i64, String, u64)>, StoreError> {
        let index = lock(&self.index)?;
        let mut stmt = index.prepare(
            "SELECT survey, source_id, kind, length FROM cutouts ORDER BY survey, source_id, kind",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

fn open_pack(root: &Path, number: u32) -> Result<(File, u64), StoreError> {
    let path = PackBlobStore::pack_path(root, number);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(&path, e))?.len();
    Ok((file, len))
}

impl BlobStore for PackBlobStore {
    fn stored_size(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<u64>, StoreError> {
        PackBlobStore::stored_size(self, survey, source_id, kind)
    }

    fn put_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
        data: &[u8],
    ) -> Result<u64, StoreError> {
        let key = (survey, source_id, kind);
        if let Some((_, _, len)) = self.locate(key)? {
            return Ok(len);
        }
        let compressed = super::encode(data)?;

        let mut w = lock(&self.writer)?;
        if w.pending_keys.contains(&key) {
            return Ok(compressed.len() as u64);
        }
        if w.len > 0 && w.len + compressed.len() as u64 > MAX_PACK_BYTES {
            // The full pack is made durable before writes move on to the next one.
            let path = Self::pack_path(&self.root, w.number);
            w.file.sync_data().map_err(|e| StoreError::io(&path, e))?;
            let (file, len) = open_pack(&self.root, w.number + 1)?;
            w.number += 1;
            (w.file, w.len) = (file, len);
        }
        let offset = w.len;
        let path = Self::pack_path(&self.root, w.number);
        if let Err(e) = w.file.write_all(&compressed) {
            // A full disk can leave part of the cutout written: cut it off, so the next try
            // (the pipeline waits and tries again) starts at the offset it will index.
            if w.file.set_len(offset).is_err() {
                w.len = w.file.metadata().map(|m| m.len()).unwrap_or(offset);
            }
            return Err(StoreError::io(&path, e));
        }
        w.len += compressed.len() as u64;
        let number = w.number;
        w.pending
            .push((key, number, offset, compressed.len() as u64));
        w.pending_keys.insert(key);
        Ok(compressed.len() as u64)
    }

    fn get_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some((pack, offset, len)) = self.locate((survey, source_id, kind))? else {
            return Ok(None);
        };
        let path = Self::pack_path(&self.root, pack);
        let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut compressed =
            vec![0; usize::try_from(len).map_err(|_| StoreError::Invalid("cutout length".into()))?];
        file.read_exact_at(&mut compressed, offset)
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(Some(super::decode(&compressed)?))
    }

    fn sync(&self) -> Result<(), StoreError> {
        // Entries leave `pending` only once the index has them: a sync that fails (a full
        // disk) is tried again with all of them.
        let pending = {
            let w = lock(&self.writer)?;
            if w.pending.is_empty() {
                return Ok(());
            }
            let path = Self::pack_path(&self.root, w.number);
            w.file.sync_data().map_err(|e| StoreError::io(&path, e))?;
            w.pending.clone()
        };
        let mut index = lock(&self.index_writer)?;
        let tx = index.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO cutouts (survey, source_id, kind, pack, offset, length)
                 VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT DO NOTHING",
            )?;
            for ((survey, source_id, kind), pack, offset, length) in &pending {
                insert.execute(params![
                    crate::survey_code(*survey),
                    source_id,
                    kind.as_str(),
                    pack,
                    *offset as i64,
                    *length as i64
                ])?;
            }
        }
        tx.commit()?;
        // Puts only append to `pending`, so the first entries are the ones just indexed.
        let mut w = lock(&self.writer)?;
        for (key, ..) in w.pending.drain(..pending.len()).collect::<Vec<_>>() {
            w.pending_keys.remove(&key);
        }
        Ok(())
    }
}
