//! The serving endpoints API's shapes (Databricks' `ServingEndpointDetailed`, `ServedEntityInput`,
//! …), to and from the domain's [`ServingEndpoint`].

use std::collections::BTreeMap;

use lakeplane_core::mlflow::KeyValue;
use lakeplane_core::serving::config::default_entity_name;
use lakeplane_core::serving::{EndpointConfig, Route, ServedEntity, ServingEndpoint};
use lakeplane_http::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mlflow::lenient;

/// A served entity as asked for: a registered model (`entity_name`) and version.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
pub struct ServedEntityInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub entity_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub entity_version: Option<String>,
    /// The legacy `served_models` spelling.
    #[serde(default)]
    pub model_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub model_version: Option<String>,
    #[serde(default)]
    pub workload_size: Option<String>,
    #[serde(default)]
    pub workload_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub scale_to_zero_enabled: Option<bool>,
    #[serde(default)]
    pub environment_vars: Option<BTreeMap<String, String>>,
    /// A SageMaker instance type (`ml.m5.large`), a lakeplane extension.
    #[serde(default)]
    pub instance_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
pub struct RouteInput {
    #[serde(default)]
    pub served_model_name: Option<String>,
    #[serde(default)]
    pub served_entity_name: Option<String>,
    #[serde(default)]
    pub traffic_percentage: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
pub struct TrafficInput {
    #[serde(default)]
    pub routes: Vec<RouteInput>,
}

/// `EndpointCoreConfigInput` (also the body of `PUT …/config`).
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
pub struct ConfigInput {
    #[serde(default)]
    pub served_entities: Vec<ServedEntityInput>,
    #[serde(default)]
    pub served_models: Vec<ServedEntityInput>,
    #[serde(default)]
    pub traffic_config: Option<TrafficInput>,
}

impl ConfigInput {
    /// The domain's config (numbered when it is stored).
    pub fn into_config(self) -> ApiResult<EndpointConfig> {
        let mut served_entities = vec![];
        for e in self.served_entities.into_iter().chain(self.served_models) {
            let entity_name = e
                .entity_name
                .or(e.model_name)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Every served entity needs an entity_name (a registered model).",
                    )
                })?;
            let entity_version = e
                .entity_version
                .or(e.model_version)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "Served entity {entity_name} needs an entity_version."
                    ))
                })?;
            served_entities.push(ServedEntity {
                name: e
                    .name
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| default_entity_name(&entity_name, &entity_version)),
                entity_name,
                entity_version,
                workload_size: e.workload_size.unwrap_or_else(|| "Small".into()),
                workload_type: e.workload_type.unwrap_or_else(|| "CPU".into()),
                scale_to_zero_enabled: e.scale_to_zero_enabled.unwrap_or(false),
                environment_vars: e.environment_vars.unwrap_or_default(),
                instance_type: e.instance_type,
            });
        }
        let routes = self
            .traffic_config
            .unwrap_or_default()
            .routes
            .into_iter()
            .map(|r| {
                let name = r
                    .served_model_name
                    .or(r.served_entity_name)
                    .unwrap_or_default();
                Route {
                    served_model_name: name,
                    traffic_percentage: r.traffic_percentage.unwrap_or(0),
                }
            })
            .collect();
        Ok(EndpointConfig {
            config_version: 0,
            served_entities,
            routes,
            start_time: 0,
        })
    }
}

/// `POST /api/2.0/serving-endpoints`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateEndpoint {
    pub name: String,
    #[serde(default)]
    pub config: Option<ConfigInput>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntityState {
    pub deployment: String,
    pub deployment_state_message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServedEntityOutput {
    pub name: String,
    pub entity_name: String,
    pub entity_version: String,
    /// The legacy spelling of the same model.
    pub model_name: String,
    pub model_version: String,
    pub workload_size: String,
    pub workload_type: String,
    pub scale_to_zero_enabled: bool,
    pub environment_vars: BTreeMap<String, String>,
    pub creator: String,
    pub creation_timestamp: i64,
    pub state: EntityState,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteOutput {
    pub served_model_name: String,
    pub served_entity_name: String,
    pub traffic_percentage: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrafficOutput {
    pub routes: Vec<RouteOutput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigOutput {
    pub config_version: u64,
    pub served_entities: Vec<ServedEntityOutput>,
    pub served_models: Vec<ServedEntityOutput>,
    pub traffic_config: TrafficOutput,
    pub start_time: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointState {
    /// `READY` or `NOT_READY`.
    pub ready: String,
    /// `NOT_UPDATING`, `IN_PROGRESS` or `UPDATE_FAILED`.
    pub config_update: String,
    /// Why the last update failed, with the model server's last log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `ServingEndpointDetailed`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointOutput {
    pub name: String,
    pub id: String,
    pub creator: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub state: EndpointState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_config: Option<ConfigOutput>,
    pub tags: Vec<KeyValue>,
    pub permission_level: String,
    pub route_optimized: bool,
}

fn config_out(e: &ServingEndpoint, c: &EndpointConfig, deployment: &str) -> ConfigOutput {
    let entities: Vec<ServedEntityOutput> = c
        .served_entities
        .iter()
        .map(|s| ServedEntityOutput {
            name: s.name.clone(),
            entity_name: s.entity_name.clone(),
            entity_version: s.entity_version.clone(),
            model_name: s.entity_name.clone(),
            model_version: s.entity_version.clone(),
            workload_size: s.workload_size.clone(),
            workload_type: s.workload_type.clone(),
            scale_to_zero_enabled: s.scale_to_zero_enabled,
            environment_vars: s.environment_vars.clone(),
            creator: e.creator.clone(),
            creation_timestamp: c.start_time,
            state: EntityState {
                deployment: deployment.into(),
                deployment_state_message: String::new(),
            },
        })
        .collect();
    ConfigOutput {
        config_version: c.config_version,
        served_models: entities.clone(),
        served_entities: entities,
        traffic_config: TrafficOutput {
            routes: c
                .routes
                .iter()
                .map(|r| RouteOutput {
                    served_model_name: r.served_model_name.clone(),
                    served_entity_name: r.served_model_name.clone(),
                    traffic_percentage: r.traffic_percentage,
                })
                .collect(),
        },
        start_time: c.start_time,
    }
}

impl From<&ServingEndpoint> for EndpointOutput {
    fn from(e: &ServingEndpoint) -> EndpointOutput {
        EndpointOutput {
            name: e.name.clone(),
            id: e.id.clone(),
            creator: e.creator.clone(),
            creation_timestamp: e.creation_timestamp,
            last_updated_timestamp: e.last_updated_timestamp,
            state: EndpointState {
                ready: e.ready.clone(),
                config_update: e.config_update.clone(),
                message: e.failure.clone(),
            },
            config: e
                .config
                .as_ref()
                .map(|c| config_out(e, c, "DEPLOYMENT_READY")),
            pending_config: e
                .pending
                .as_ref()
                .map(|c| config_out(e, c, "DEPLOYMENT_CREATING")),
            tags: e.tags.clone(),
            permission_level: "CAN_MANAGE".into(),
            route_optimized: false,
        }
    }
}
