//! The SQL Warehouses API's bodies, in Databricks' shapes.

use lakeplane_core::sql::{Warehouse, WarehouseSpec};
use lakeplane_http::extract::lenient;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Warehouse create and edit bodies.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WarehouseBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub cluster_size: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub min_num_clusters: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub max_num_clusters: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub auto_stop_mins: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_photon: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_serverless_compute: Option<bool>,
    #[serde(default)]
    pub warehouse_type: Option<String>,
    #[serde(default)]
    pub spot_instance_policy: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub instance_profile_arn: Option<String>,
    /// Accepted and ignored: the creator is the caller.
    #[serde(default)]
    #[allow(dead_code)] // accepted and ignored
    pub creator_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tags {
    #[serde(default)]
    pub custom_tags: Vec<TagPair>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TagPair {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// The longest auto-stop, in minutes (a week).
const MAX_AUTO_STOP_MINS: u64 = 7 * 24 * 60;

impl WarehouseBody {
    /// The spec this body sets; on edit, `base` supplies what the body leaves out.
    pub fn spec(self, base: Option<&WarehouseSpec>) -> Result<WarehouseSpec, String> {
        let name = self
            .name
            .or_else(|| base.map(|b| b.name.clone()))
            .ok_or("Missing required field: name")?;
        let num = |v: Option<u64>, field: &str, default: u32| -> Result<u32, String> {
            match v {
                None => Ok(default),
                Some(n) => u32::try_from(n).map_err(|_| format!("{field} is too large")),
            }
        };
        let auto_stop = self
            .auto_stop_mins
            .unwrap_or(base.map_or(120, |b| u64::from(b.auto_stop_mins)));
        if auto_stop > MAX_AUTO_STOP_MINS {
            return Err(format!(
                "auto_stop_mins must be at most {MAX_AUTO_STOP_MINS}"
            ));
        }
        Ok(WarehouseSpec {
            name,
            cluster_size: self
                .cluster_size
                .or_else(|| base.map(|b| b.cluster_size.clone()))
                .unwrap_or_else(|| "2X-Small".into()),
            min_num_clusters: num(
                self.min_num_clusters,
                "min_num_clusters",
                base.map_or(1, |b| b.min_num_clusters),
            )?,
            max_num_clusters: num(
                self.max_num_clusters,
                "max_num_clusters",
                base.map_or(1, |b| b.max_num_clusters),
            )?,
            auto_stop_mins: auto_stop as u32,
            enable_photon: self
                .enable_photon
                .or(base.map(|b| b.enable_photon))
                .unwrap_or(true),
            enable_serverless_compute: self
                .enable_serverless_compute
                .or(base.map(|b| b.enable_serverless_compute))
                .unwrap_or(false),
            warehouse_type: self
                .warehouse_type
                .or_else(|| base.and_then(|b| b.warehouse_type.clone())),
            spot_instance_policy: self
                .spot_instance_policy
                .or_else(|| base.and_then(|b| b.spot_instance_policy.clone())),
            channel: self
                .channel
                .and_then(|c| c.name)
                .or_else(|| base.and_then(|b| b.channel.clone())),
            tags: match self.tags {
                Some(t) => t
                    .custom_tags
                    .into_iter()
                    .map(|t| lakeplane_core::sql::warehouse::Tag {
                        key: t.key,
                        value: t.value,
                    })
                    .collect(),
                None => base.map(|b| b.tags.clone()).unwrap_or_default(),
            },
            instance_profile_arn: self
                .instance_profile_arn
                .or_else(|| base.and_then(|b| b.instance_profile_arn.clone())),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateWarehouseResponse {
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OdbcParams {
    pub hostname: String,
    pub path: String,
    pub port: u16,
    pub protocol: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarehouseResponse {
    pub id: String,
    pub name: String,
    pub cluster_size: String,
    pub min_num_clusters: u32,
    pub max_num_clusters: u32,
    pub num_clusters: u32,
    pub num_active_sessions: u32,
    pub auto_stop_mins: u32,
    /// STARTING, RUNNING, STOPPING, STOPPED, DELETING or DELETED.
    pub state: String,
    pub enable_photon: bool,
    pub enable_serverless_compute: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spot_instance_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    pub tags: Tags,
    pub creator_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile_arn: Option<String>,
    pub health: Health,
    pub odbc_params: OdbcParams,
    pub jdbc_url: String,
}

impl WarehouseResponse {
    pub fn new(w: &Warehouse, host: &str) -> WarehouseResponse {
        let s = &w.spec;
        let path = format!("/sql/1.0/warehouses/{}", w.id);
        let running = w.state == lakeplane_core::sql::WarehouseState::Running;
        WarehouseResponse {
            id: w.id.clone(),
            name: s.name.clone(),
            cluster_size: s.cluster_size.clone(),
            min_num_clusters: s.min_num_clusters,
            max_num_clusters: s.max_num_clusters,
            num_clusters: u32::from(running) * s.min_num_clusters,
            num_active_sessions: 0,
            auto_stop_mins: s.auto_stop_mins,
            state: w.state.as_str().into(),
            enable_photon: s.enable_photon,
            enable_serverless_compute: s.enable_serverless_compute,
            warehouse_type: s.warehouse_type.clone(),
            spot_instance_policy: s.spot_instance_policy.clone(),
            channel: s.channel.clone().map(|n| Channel { name: Some(n) }),
            tags: Tags {
                custom_tags: s
                    .tags
                    .iter()
                    .map(|t| TagPair { key: t.key.clone(), value: t.value.clone() })
                    .collect(),
            },
            creator_name: w.creator_name.clone(),
            instance_profile_arn: s.instance_profile_arn.clone(),
            health: Health {
                status: "HEALTHY".into(),
            },
            jdbc_url: format!("jdbc:databricks://{host}:443/default;transportMode=http;ssl=1;AuthMech=3;httpPath={path};"),
            odbc_params: OdbcParams {
                hostname: host.to_string(),
                path,
                port: 443,
                protocol: "https".into(),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListWarehousesResponse {
    pub warehouses: Vec<WarehouseResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
