//! Cutouts in an S3-compatible object store (AWS S3, MinIO, Ceph, …) through the
//! `object_store` crate: one object per cutout at `<prefix>/<survey>/<source_id>/<kind>.fits.lz4`.
//! A put returns once the store has the object, so `sync` has nothing left to do. The
//! object store is async; the pipeline's stages are threads, so calls run on a small runtime
//! of this store's own.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use solas_core::{CutoutKind, Survey};

use crate::{BlobStore, StoreError};

pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Always Some until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for S3BlobStore {
    /// Dropping a runtime blocks, which tokio forbids inside another runtime (a web server
    /// holding this store); shutting it down in the background is allowed anywhere.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("object store: {e}"))
}

impl S3BlobStore {
    /// `url` is `s3://bucket[/prefix]`; the endpoint, region and credentials come from the
    /// usual `AWS_*` environment variables (`AWS_ENDPOINT`, `AWS_ALLOW_HTTP=true` for a
    /// local server, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), and
    /// `options` (the same keys without `AWS_`, lower case, e.g. `("endpoint", "http://…")`)
    /// override them. `max_retries` and `retry_timeout_secs` set the client's own retry
    /// budget.
    pub fn open(url: &str, options: &[(&str, &str)]) -> Result<S3BlobStore, StoreError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| StoreError::Invalid(format!("{url:?} is not an s3:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::Invalid(format!("{url:?} names no bucket")));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let mut retry = object_store::RetryConfig::default();
        for (key, value) in options {
            // The client's own retry budget (default 10 tries within 3 minutes); past it a
            // put fails transiently and the pipeline waits on its own.
            let number = || {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| StoreError::Invalid(format!("S3 option {key}: {value:?}")))
            };
            match *key {
                "max_retries" => {
                    retry.max_retries = number()? as usize;
                    continue;
                }
                "retry_timeout_secs" => {
                    retry.retry_timeout = std::time::Duration::from_secs_f64(number()?);
                    continue;
                }
                _ => {}
            }
            let key: object_store::aws::AmazonS3ConfigKey = format!("aws_{key}")
                .parse()
                .map_err(|e| StoreError::Invalid(format!("S3 option {key:?}: {e}")))?;
            builder = builder.with_config(key, *value);
        }
        let store = builder.with_retry(retry).build().map_err(backend)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| StoreError::io("tokio runtime", e))?;
        Ok(S3BlobStore {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_string(),
            runtime: Some(runtime),
        })
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(f),
            None => unreachable!("the runtime is taken only when the store is dropped"),
        }
    }

    fn path(&self, survey: Survey, source_id: i64, kind: CutoutKind) -> ObjectPath {
        let key = format!("{}/{source_id}/{}.fits.lz4", survey.as_str(), kind.as_str());
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }
}

impl BlobStore for S3BlobStore {
    fn put_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
        fits: &[u8],
    ) -> Result<u64, StoreError> {
        let stored = super::encode(fits)?;
        let len = stored.len() as u64;
        let path = self.path(survey, source_id, kind);
        // Re-putting the same cutout writes the same bytes: idempotent without a lookup.
        self.block_on(self.store.put(&path, stored.into()))
            .map_err(backend)?;
        Ok(len)
    }

    fn get_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(survey, source_id, kind);
        let bytes = self.block_on(async {
            match self.store.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        match bytes.map_err(backend)? {
            Some(b) => Ok(Some(super::decode(&b)?)),
            None => Ok(None),
        }
    }

    fn stored_size(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<u64>, StoreError> {
        let path = self.path(survey, source_id, kind);
        match self.block_on(self.store.head(&path)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
