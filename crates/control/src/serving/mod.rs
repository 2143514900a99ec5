//! Serving endpoints over the serving port: created and updated as documents that name the
//! configuration serving and the one deploying; [`ServingEndpoints::sync`] moves an endpoint on
//! from what the backend reports (a pending config that is up replaces the served one, which is
//! then retired; one that failed is dropped and the served one stays). Reads sync first, so
//! whoever polls an endpoint (the SDK's waiter, `lakeplane dev`'s sweep) moves it on; writes are
//! conditional, so two syncs at once agree.

mod calls;

use std::sync::Arc;

use lakeplane_core::mlflow::artifacts::proxied_path;
use lakeplane_core::mlflow::KeyValue;
use lakeplane_core::serving::port::{
    Answer, DeployStatus, DeployedModel, Deployment, ModelServing, ServingError,
};
use lakeplane_core::serving::{EndpointConfig, ServingEndpoint};
use lakeplane_store::Index;

use crate::doc::{retry, Documents, Versioned};
use crate::error::{ControlError, ControlResult};
use crate::layout::mlflow::SERVING_ENDPOINTS;
use crate::mlflow::Mlflow;
use crate::time::now_ms;

/// Serving endpoints, deployed through one backend.
#[derive(Debug, Clone)]
pub struct ServingEndpoints {
    docs: Documents,
    mlflow: Mlflow,
    backend: Arc<dyn ModelServing>,
}

/// How many instances a workload size runs on (SageMaker).
fn instances(workload_size: &str) -> u32 {
    match workload_size {
        "Large" => 4,
        "Medium" => 2,
        _ => 1,
    }
}

impl ServingEndpoints {
    pub(crate) fn new(
        docs: Documents,
        mlflow: Mlflow,
        backend: Arc<dyn ModelServing>,
    ) -> ServingEndpoints {
        ServingEndpoints {
            docs,
            mlflow,
            backend,
        }
    }

    /// What the backend deploys for `config`: each served entity's model files, from the registry.
    pub async fn deployment(
        &self,
        e: &ServingEndpoint,
        config: &EndpointConfig,
    ) -> ControlResult<Deployment> {
        let mut models = vec![];
        for s in &config.served_entities {
            let uri = self
                .mlflow
                .download_uri(&s.entity_name, &s.entity_version)
                .await?;
            let path = proxied_path(&uri).ok_or_else(|| {
                ControlError::InvalidParameter(format!(
                    "Model {} version {} is stored at {uri}; only models logged through this \
                     workspace's tracking server (mlflow-artifacts:/…) can be served.",
                    s.entity_name, s.entity_version
                ))
            })?;
            let traffic = config
                .routes
                .iter()
                .find(|r| r.served_model_name == s.name)
                .map_or(0, |r| r.traffic_percentage);
            models.push(DeployedModel {
                name: s.name.clone(),
                model_name: s.entity_name.clone(),
                model_version: s.entity_version.clone(),
                artifact_path: path.to_string(),
                instance_type: s.instance_type.clone(),
                workload_type: s.workload_type.clone(),
                instance_count: instances(&s.workload_size),
                serverless: s.scale_to_zero_enabled,
                environment: s
                    .environment_vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                traffic_percentage: traffic,
            });
        }
        Ok(Deployment {
            endpoint: e.name.clone(),
            endpoint_id: e.id.clone(),
            version: config.config_version,
            models,
        })
    }

    pub async fn create(
        &self,
        name: &str,
        config: EndpointConfig,
        tags: Vec<KeyValue>,
        creator: &str,
    ) -> ControlResult<ServingEndpoint> {
        let mut e = ServingEndpoint::new(name.to_string(), creator.to_string(), config, now_ms())?;
        e.tags = tags;
        let pending = e
            .pending
            .clone()
            .ok_or_else(|| ControlError::InvalidState("no config".into()))?;
        let d = self.deployment(&e, &pending).await?;
        self.docs.create(&e).await?;
        self.start(&e.name, &d).await?;
        self.get(name).await
    }

    /// Asks the backend to deploy; a refusal fails the pending config with the reason.
    async fn start(&self, name: &str, d: &Deployment) -> ControlResult<()> {
        if let Err(err) = self.backend.deploy(d).await {
            tracing::warn!(endpoint = name, version = d.version, error = %err, "deploy failed");
            self.settle(name, d.version, Err(err.to_string())).await?;
        }
        Ok(())
    }

    /// Records the outcome of pending config `version`; retires what no longer serves: the config
    /// it replaced, or itself when it failed.
    async fn settle(
        &self,
        name: &str,
        version: u64,
        outcome: Result<(), String>,
    ) -> ControlResult<()> {
        let (e, retired) = retry("Serving endpoint", name, |_| async {
            let Versioned {
                mut doc,
                version: at,
            } = self.docs.get::<ServingEndpoint>(&name.to_string()).await?;
            let pending = doc.pending.clone().filter(|p| p.config_version == version);
            let Some(pending) = pending else {
                return Ok((doc, None));
            };
            let retired = match &outcome {
                Ok(()) => doc.deployed(version, now_ms()),
                Err(why) => {
                    doc.failed(version, why.clone(), now_ms());
                    Some(pending)
                }
            };
            self.docs.replace(&doc, at).await?;
            Ok((doc, retired))
        })
        .await?;
        if let Some(old) = retired {
            let d = self.deployment(&e, &old).await?;
            self.backend.retire(&d).await?;
        }
        Ok(())
    }

    /// Moves an endpoint on from what the backend reports (see the module's text).
    pub async fn sync(&self, name: &str) -> ControlResult<ServingEndpoint> {
        let e: ServingEndpoint = self.docs.read(&name.to_string()).await?;
        if let Some(pending) = &e.pending {
            let d = self.deployment(&e, pending).await?;
            match self.backend.status(&d).await? {
                DeployStatus::Ready => self.settle(name, d.version, Ok(())).await?,
                DeployStatus::Failed(why) => self.settle(name, d.version, Err(why)).await?,
                DeployStatus::Absent => self.start(name, &d).await?,
                DeployStatus::Starting => {}
            }
            return self.docs.read(&name.to_string()).await;
        }
        // Only when nothing deploys: the served config, as a whole, is what the backend runs.
        if let Some(config) = &e.config {
            // A backend that lost what serves (a restarted `lakeplane dev`) deploys it again.
            let d = self.deployment(&e, config).await?;
            if self.backend.status(&d).await? == DeployStatus::Absent {
                self.backend.deploy(&d).await?;
            }
        }
        self.docs.read(&name.to_string()).await
    }

    /// An endpoint, moved on first.
    pub async fn get(&self, name: &str) -> ControlResult<ServingEndpoint> {
        self.sync(name).await
    }

    /// Every endpoint, by name, as stored.
    pub async fn list(&self) -> ControlResult<Vec<ServingEndpoint>> {
        self.mlflow.all(Index::Collection, SERVING_ENDPOINTS).await
    }

    /// Moves every endpoint on (the platform's sweep).
    pub async fn sync_all(&self) -> ControlResult<()> {
        for e in self.list().await? {
            if let Err(err) = self.sync(&e.name).await {
                tracing::warn!(endpoint = %e.name, error = %err, "could not move a serving endpoint on");
            }
        }
        Ok(())
    }

    /// `PUT …/config`: deploys `config` beside the served one.
    pub async fn update_config(
        &self,
        name: &str,
        config: EndpointConfig,
    ) -> ControlResult<ServingEndpoint> {
        let current = self.docs.read::<ServingEndpoint>(&name.to_string()).await?;
        let mut probe = current.clone();
        probe.update(config.clone(), now_ms())?;
        let pending = probe
            .pending
            .clone()
            .ok_or_else(|| ControlError::InvalidState("no config".into()))?;
        self.deployment(&probe, &pending).await?;
        let (e, _) = self
            .docs
            .update::<ServingEndpoint>(&name.to_string(), |e| {
                e.update(config.clone(), now_ms())?;
                Ok(true)
            })
            .await?;
        let pending = e
            .pending
            .clone()
            .ok_or_else(|| ControlError::InvalidState("no config".into()))?;
        let d = self.deployment(&e, &pending).await?;
        self.start(name, &d).await?;
        self.docs.read(&name.to_string()).await
    }

    /// `PATCH …/tags`.
    pub async fn set_tags(
        &self,
        name: &str,
        add: Vec<KeyValue>,
        remove: Vec<String>,
    ) -> ControlResult<ServingEndpoint> {
        for t in &add {
            lakeplane_core::mlflow::limits::check_tag(&t.key, &t.value)?;
        }
        let (e, _) = self
            .docs
            .update::<ServingEndpoint>(&name.to_string(), |e| {
                for t in &add {
                    lakeplane_core::mlflow::set_tag(&mut e.tags, &t.key, &t.value);
                }
                for k in &remove {
                    lakeplane_core::mlflow::delete_tag(&mut e.tags, k);
                }
                Ok(true)
            })
            .await?;
        Ok(e)
    }

    /// Deletes an endpoint: the backend's resources first, then the document (a retry after a
    /// failure finds the document and finishes).
    pub async fn delete(&self, name: &str) -> ControlResult<()> {
        let e: ServingEndpoint = self.docs.read(&name.to_string()).await?;
        let mut deployments = vec![];
        for c in e.config.iter().chain(e.pending.iter()) {
            match self.deployment(&e, c).await {
                Ok(d) => deployments.push(d),
                // A model version deleted since: its deployment is found by the endpoint's name.
                Err(ControlError::NotFound { .. }) => deployments.push(Deployment {
                    endpoint: e.name.clone(),
                    endpoint_id: e.id.clone(),
                    version: c.config_version,
                    models: vec![],
                }),
                Err(err) => return Err(err),
            }
        }
        self.backend.delete(name, &deployments).await?;
        self.docs.delete::<ServingEndpoint>(&name.to_string()).await
    }

    /// Answers one request: routed by the served config's traffic split to one of its models.
    /// Returns the answer and the served entity's name. A request that meets a config retired
    /// under it (an update just switched) is sent again on the config that now serves.
    pub async fn invoke(
        &self,
        name: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> ControlResult<(Answer, String)> {
        for attempt in 0..3 {
            let e: ServingEndpoint = self.docs.read(&name.to_string()).await?;
            let Some(config) = e.config.as_ref() else {
                return Err(ControlError::InvalidState(format!(
                    "Serving endpoint {name} is not ready: {}",
                    e.failure
                        .as_deref()
                        .unwrap_or("its first config is still deploying")
                )));
            };
            let entity = config.route(rand::random::<u32>() % 100).ok_or_else(|| {
                ControlError::InvalidState(format!("Serving endpoint {name} routes no traffic"))
            })?;
            // Which deployment answers is all an invocation needs (no registry reads).
            let d = Deployment {
                endpoint: e.name.clone(),
                endpoint_id: e.id.clone(),
                version: config.config_version,
                models: vec![],
            };
            match self
                .backend
                .invoke(&d, &entity.name, content_type, body.clone())
                .await
            {
                Ok(answer) => return Ok((answer, entity.name.clone())),
                Err(ServingError::NotDeployed { .. }) if attempt < 2 => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(ControlError::Conflict {
            kind: "Serving endpoint",
            name: name.to_string(),
        })
    }
}
