//! The Clusters API's bodies, in Databricks' shapes (`ClusterDetails`, `ClusterEvent`, ...).

use lakeplane_control::clusters::ClusterView;
use lakeplane_core::cluster::{compute, ClusterEvent, Node, NodeRole};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

/// `{"cluster_id"}` (start, restart, delete, permanent-delete, pin, unpin).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClusterIdBody {
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// restart's `restart_user`; change-owner's `owner_username`.
    #[serde(default)]
    pub owner_username: Option<String>,
}

/// `{"cluster_id"}` answered by create.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateClusterResponse {
    pub cluster_id: String,
}

/// An empty answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// A free-form JSON object (a `ClusterSpec`, `ClusterDetails`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Object(pub Map<String, Value>);

/// `clusters/list`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListClustersResponse {
    #[schema(value_type = Vec<Object>)]
    pub clusters: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `clusters/events` request.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EventsBody {
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    /// `ASC` or `DESC` (default).
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub offset: Option<usize>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub page_size: Option<usize>,
}

/// `clusters/events` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsResponse {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<ClusterEvent>,
    /// The request that reads the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub next_page: Option<Value>,
    pub total_count: usize,
}

fn spark_node(n: &Node) -> Value {
    json!({
        "node_id": n.node_id,
        "instance_id": n.node_id,
        "private_ip": n.private_ip,
        "host_private_ip": n.private_ip,
        "start_timestamp": n.launched_at,
        "node_aws_attributes": {"is_spot": n.market == lakeplane_core::cluster::Market::Spot},
        "instance_type": n.instance_type,
        "market": n.market,
        "price_per_hour": n.price_per_hour,
        "reported_at": n.reported_at,
        "draining": n.drain,
    })
}

/// `ClusterDetails`: the spec's fields, and the cluster's state, nodes and tags.
pub fn details(view: &ClusterView) -> Value {
    let c = &view.cluster;
    let mut out = match serde_json::to_value(&c.spec) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let live: Vec<&Node> = view.nodes.iter().filter(|n| !n.is_terminated()).collect();
    let driver = live.iter().find(|n| n.role == NodeRole::Driver);
    let executors: Vec<Value> = live
        .iter()
        .filter(|n| n.role == NodeRole::Worker)
        .map(|n| spark_node(n))
        .collect();
    let (cores, memory) = live.iter().fold((0u64, 0u64), |(c, m), n| {
        let t = lakeplane_core::cluster::node_types::find(&n.instance_type);
        (
            c + t.map_or(0, |t| u64::from(t.num_cores)),
            m + t.map_or(0, |t| t.memory_mb),
        )
    });
    let mut tags = Map::new();
    tags.insert(compute::TAG_CLUSTER.into(), c.cluster_id.clone().into());
    tags.insert(
        compute::TAG_CREATOR.into(),
        c.creator_user_name.clone().into(),
    );
    tags.insert(
        "ClusterName".into(),
        c.spec.cluster_name.clone().unwrap_or_default().into(),
    );
    let fields = json!({
        "cluster_id": c.cluster_id,
        "state": c.state.as_str(),
        "state_message": c.state_message,
        "creator_user_name": c.creator_user_name,
        "cluster_source": c.cluster_source,
        "start_time": c.start_time,
        "terminated_time": c.terminated_time,
        "last_restarted_time": c.last_restarted_time,
        "last_activity_time": c.last_activity_time,
        "termination_reason": c.termination_reason,
        "num_workers": if c.spec.autoscale.is_some() { executors.len() as u32 } else { c.target_workers },
        "target_num_workers": c.target_workers,
        "driver": driver.map(|n| spark_node(n)),
        "executors": executors,
        "cluster_cores": cores,
        "cluster_memory_mb": memory,
        "default_tags": tags,
        "spark_context_id": c.generation,
        "is_pinned": c.pinned,
        "spec": c.spec,
        "job_run_id": c.run_id.map(|r| r.0),
    });
    if let Value::Object(f) = fields {
        for (k, v) in f {
            if !v.is_null() {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}
