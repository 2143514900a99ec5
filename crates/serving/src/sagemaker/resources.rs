//! SageMaker's side of a deployment: resource names, errors, and the model packed as
//! `model.tar.gz` (MLmodel at its root, as the MLflow image expects).

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use lakeplane_core::mlflow::artifacts::check_path;
use lakeplane_core::serving::port::{BoxError, DeployedModel, Deployment, ServingError};

use super::{SageMakerServing, MAX_MODEL_BYTES};

/// A SageMaker name from parts: letters, digits and `-`, at most 63 characters (long names keep
/// a hash of the whole, so they stay distinct and the same every time).
pub fn resource_name(parts: &[&str]) -> String {
    let joined: String = parts
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut name = joined.trim_matches('-').to_string();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    if name.len() <= 63 {
        return name;
    }
    let hash = joined.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{}-{:08x}", name[..54].trim_end_matches('-'), hash as u32)
}

pub(super) fn endpoint_name(endpoint: &str) -> String {
    resource_name(&["lakeplane", endpoint])
}

pub(super) fn config_name(d: &Deployment) -> String {
    resource_name(&["lakeplane", &d.endpoint, &format!("v{}", d.version)])
}

pub(super) fn model_name(d: &Deployment, m: &DeployedModel) -> String {
    resource_name(&[
        "lakeplane",
        &d.endpoint,
        &format!("v{}", d.version),
        &m.name,
    ])
}

pub(super) fn fail(d: &str, action: &'static str, e: impl Into<BoxError>) -> ServingError {
    ServingError::Backend {
        endpoint: d.to_string(),
        action,
        source: e.into(),
    }
}

/// An SDK error's code and message.
fn code_of<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

/// Whether a create failed only because the resource is there (a retried deploy).
pub(super) fn exists<E: ProvideErrorMetadata>(
    e: &aws_sdk_sagemaker::error::SdkError<E, aws_sdk_sagemaker::config::http::HttpResponse>,
) -> bool {
    e.as_service_error().is_some_and(|s| {
        let (_, m) = code_of(s);
        m.contains("already exist")
    })
}

/// Whether a describe or delete failed because the resource is not there.
pub(super) fn missing<E: ProvideErrorMetadata>(
    e: &aws_sdk_sagemaker::error::SdkError<E, aws_sdk_sagemaker::config::http::HttpResponse>,
) -> bool {
    e.as_service_error().is_some_and(|s| {
        let (c, m) = code_of(s);
        c == "ValidationException" && (m.contains("Could not find") || m.contains("does not exist"))
    })
}

impl SageMakerServing {
    /// Packs a model's files as `model.tar.gz` (MLmodel at its root) beside them; returns its URL.
    pub(super) async fn pack(
        &self,
        d: &Deployment,
        m: &DeployedModel,
    ) -> Result<String, ServingError> {
        let files = self
            .artifacts
            .walk(&m.artifact_path)
            .await
            .map_err(|e| fail(&d.endpoint, "read the model's files", e))?;
        if !files.iter().any(|f| f.path == "MLmodel") {
            return Err(fail(
                &d.endpoint,
                "pack the model",
                format!(
                    "{} version {} has no MLmodel file",
                    m.model_name, m.model_version
                ),
            ));
        }
        let total: u64 = files.iter().filter_map(|f| f.file_size).sum();
        if total > MAX_MODEL_BYTES {
            return Err(fail(
                &d.endpoint,
                "pack the model",
                format!(
                    "the model's files are {total} bytes, over the {MAX_MODEL_BYTES} byte limit"
                ),
            ));
        }
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for f in files {
            let rel = check_path(&f.path)
                .map_err(|e| fail(&d.endpoint, "pack the model", e.to_string()))?;
            let bytes = self
                .artifacts
                .get(&format!("{}/{rel}", m.artifact_path))
                .await
                .map_err(|e| fail(&d.endpoint, "read the model's files", e))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, &rel, bytes.as_slice())
                .map_err(|e| fail(&d.endpoint, "pack the model", e))?;
        }
        let gz = tar
            .into_inner()
            .and_then(|gz| gz.finish())
            .map_err(|e| fail(&d.endpoint, "pack the model", e))?;
        let path = format!(
            "serving/{}/v{}/{}/model.tar.gz",
            d.endpoint, d.version, m.name
        );
        self.artifacts
            .put(&path, gz)
            .await
            .map_err(|e| fail(&d.endpoint, "store model.tar.gz", e))?;
        Ok(self.artifacts.url(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sagemaker_names_and_stable() {
        assert_eq!(
            resource_name(&["lakeplane", "my_endpoint", "v2"]),
            "lakeplane-my-endpoint-v2"
        );
        let long = "e".repeat(80);
        let a = resource_name(&["lakeplane", &long, "v1"]);
        assert!(a.len() <= 63 && a == resource_name(&["lakeplane", &long, "v1"]));
        assert_ne!(a, resource_name(&["lakeplane", &long, "v2"]));
    }
}
