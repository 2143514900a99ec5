//! The `file://` object store of every SQL session: the local file system, read-only, where every
//! object a query lists or opens is first checked against the [`AccessPolicy`]. A folder or glob in
//! `read_files` that holds a symlink out of the roots fails the query instead of reading through it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use deltalake::datafusion::object_store::local::LocalFileSystem;
use deltalake::datafusion::object_store::path::Path as ObjectPath;
use deltalake::datafusion::object_store::{
    self as os, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::access::AccessPolicy;
use crate::error::EngineError;

/// Read-only local files, confined to the policy's roots.
#[derive(Debug)]
pub(crate) struct ConfinedFiles {
    inner: LocalFileSystem,
    policy: Arc<AccessPolicy>,
}

impl fmt::Display for ConfinedFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConfinedFiles({} roots)",
            self.policy.local_roots().len()
        )
    }
}

impl ConfinedFiles {
    pub(crate) fn new(policy: Arc<AccessPolicy>) -> ConfinedFiles {
        ConfinedFiles {
            inner: LocalFileSystem::new(),
            policy,
        }
    }

    fn check(&self, location: &ObjectPath) -> os::Result<()> {
        let path = std::path::PathBuf::from(format!("/{location}"));
        let shown = path.display().to_string();
        self.policy
            .check_local(&shown, &path)
            .map(|_| ())
            .map_err(|e| match e {
                EngineError::NotFound { .. } => os::Error::NotFound {
                    path: shown,
                    source: Box::new(e),
                },
                e => os::Error::PermissionDenied {
                    path: shown,
                    source: Box::new(e),
                },
            })
    }

    fn read_only(location: &ObjectPath) -> os::Error {
        os::Error::NotSupported {
            source: format!("{location}: SQL may not write local files").into(),
        }
    }
}

#[async_trait]
impl ObjectStore for ConfinedFiles {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        _payload: PutPayload,
        _opts: PutOptions,
    ) -> os::Result<PutResult> {
        Err(Self::read_only(location))
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        _opts: PutMultipartOptions,
    ) -> os::Result<Box<dyn MultipartUpload>> {
        Err(Self::read_only(location))
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> os::Result<GetResult> {
        self.check(location)?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, os::Result<ObjectPath>>,
    ) -> BoxStream<'static, os::Result<ObjectPath>> {
        locations
            .map(|l| l.and_then(|l| Err(Self::read_only(&l))))
            .boxed()
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, os::Result<ObjectMeta>> {
        let policy = ConfinedFiles::new(self.policy.clone());
        if let Some(p) = prefix {
            if let Err(e) = self.check(p) {
                return futures::stream::once(async move { Err(e) }).boxed();
            }
        }
        self.inner
            .list(prefix)
            .map(move |meta| {
                let meta = meta?;
                policy.check(&meta.location)?;
                Ok(meta)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> os::Result<ListResult> {
        if let Some(p) = prefix {
            self.check(p)?;
        }
        let listed = self.inner.list_with_delimiter(prefix).await?;
        for meta in &listed.objects {
            self.check(&meta.location)?;
        }
        Ok(listed)
    }

    async fn copy_opts(
        &self,
        _from: &ObjectPath,
        to: &ObjectPath,
        _options: CopyOptions,
    ) -> os::Result<()> {
        Err(Self::read_only(to))
    }
}
