//! S3 object stores for what SQL reads (`read_files`, `.sql` files), one per bucket, built once from
//! the binary's one AWS configuration (`SdkConfig`: region, endpoint, the standard credentials chain)
//! and shared by every session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use deltalake::datafusion::object_store::aws::{AmazonS3Builder, AwsCredential};
use deltalake::datafusion::object_store::{self as os, CredentialProvider, ObjectStore};

use crate::error::{EngineError, EngineResult};

/// One S3 store per bucket, made on first use.
#[derive(Debug, Clone)]
pub(crate) struct S3Stores {
    config: Option<aws_config::SdkConfig>,
    stores: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl S3Stores {
    /// Stores made from `config`; without one, from the `AWS_*` environment variables.
    pub(crate) fn new(config: Option<aws_config::SdkConfig>) -> S3Stores {
        S3Stores {
            config,
            stores: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The store of `bucket`.
    pub(crate) fn bucket(&self, bucket: &str) -> EngineResult<Arc<dyn ObjectStore>> {
        let mut stores = self
            .stores
            .lock()
            .map_err(|_| EngineError::invalid("the S3 client registry is poisoned"))?;
        if let Some(s) = stores.get(bucket) {
            return Ok(s.clone());
        }
        let store: Arc<dyn ObjectStore> = Arc::new(self.build(bucket)?);
        stores.insert(bucket.to_string(), store.clone());
        Ok(store)
    }

    /// A store of `bucket` that can presign URLs (not shared with the SQL's reads).
    pub(crate) fn amazon(
        &self,
        bucket: &str,
    ) -> EngineResult<Arc<deltalake::datafusion::object_store::aws::AmazonS3>> {
        Ok(Arc::new(self.build(bucket)?))
    }

    fn build(
        &self,
        bucket: &str,
    ) -> EngineResult<deltalake::datafusion::object_store::aws::AmazonS3> {
        let failed = |source| EngineError::ObjectStore {
            path: format!("s3://{bucket}"),
            source,
        };
        let Some(config) = &self.config else {
            return AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(failed);
        };
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
        if let Some(region) = config.region() {
            builder = builder.with_region(region.to_string());
        }
        if let Some(endpoint) = config.endpoint_url() {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some(provider) = config.credentials_provider() {
            builder = builder.with_credentials(Arc::new(SdkCredentials {
                provider,
                cached: Mutex::new(None),
            }));
        }
        builder.build().map_err(failed)
    }
}

/// The SDK's credentials chain as an object store credential provider, cached until shortly before
/// the credentials expire.
#[derive(Debug)]
struct SdkCredentials {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

/// Credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

#[async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> os::Result<Arc<AwsCredential>> {
        if let Ok(cached) = self.cached.lock() {
            if let Some((credential, expiry)) = cached.as_ref() {
                let fresh = expiry.is_none_or(|e| SystemTime::now() + RENEW_BEFORE < e);
                if fresh {
                    return Ok(credential.clone());
                }
            }
        }
        let c = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| os::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        let credential = Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        });
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((credential.clone(), c.expiry()));
        }
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::provider::future;
    use aws_credential_types::Credentials;

    use super::*;

    /// Hands out credentials that expire `lifetime` from now, counting the calls.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = SystemTime::now() + self.lifetime;
            future::ProvideCredentials::ready(Ok(Credentials::new(
                "key",
                "secret",
                None,
                Some(expiry),
                "test",
            )))
        }
    }

    async fn calls_for(lifetime: Duration) -> usize {
        let calls = Arc::new(AtomicUsize::new(0));
        let creds = SdkCredentials {
            provider: SharedCredentialsProvider::new(Counting {
                calls: calls.clone(),
                lifetime,
            }),
            cached: Mutex::new(None),
        };
        for _ in 0..3 {
            assert_eq!(creds.get_credential().await.unwrap().key_id, "key");
        }
        calls.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn credentials_are_cached_until_shortly_before_they_expire() {
        assert_eq!(calls_for(Duration::from_secs(3600)).await, 1);
        assert_eq!(
            calls_for(Duration::from_secs(60)).await,
            3,
            "within the renewal window"
        );
    }
}
