//! Launching a cluster's nodes: markets by `first_on_demand` and `availability`, spot falling back
//! to on-demand when allowed, every launch recorded at once with an event.

use lakeplane_core::cluster::compute::{self, ComputeError, Launch, Volumes};
use lakeplane_core::cluster::{
    node_types, Availability, Cluster, ClusterEvent, EventType, Market, Node, NodeRole,
};

use super::ClusterReconciler;
use crate::error::ControlResult;
use crate::time::now_ms;

impl ClusterReconciler {
    /// Launches `count` nodes of `role`, on-demand while fewer than `first_on_demand` are, spot
    /// after (on-demand when spot has no capacity and the spec allows).
    pub(super) async fn launch(
        &self,
        c: &Cluster,
        role: NodeRole,
        count: u32,
        on_demand: &mut u32,
    ) -> ControlResult<Launched> {
        let aws = c.spec.aws();
        let mut added = Vec::new();
        let mut left = count;
        while left > 0 {
            let market = aws.market_for(*on_demand);
            let n = match market {
                Market::OnDemand if aws.availability() != Availability::OnDemand => {
                    left.min(aws.first_on_demand().saturating_sub(*on_demand).max(1))
                }
                _ => left,
            };
            let request = self.request(c, role, n, market);
            let result = match self.compute.launch(&request).await {
                Err(e)
                    if e.is_capacity()
                        && market == Market::Spot
                        && aws.availability() == Availability::SpotWithFallback =>
                {
                    self.clusters
                        .record(failed_event(c, &request, &e).with("fallback", "ON_DEMAND"))
                        .await;
                    let fallback = Launch {
                        market: Market::OnDemand,
                        max_price: None,
                        ..request.clone()
                    };
                    self.compute.launch(&fallback).await.map(|l| (fallback, l))
                }
                other => other.map(|l| (request.clone(), l)),
            };
            let (request, launched) = match result {
                Ok(r) => r,
                Err(e @ ComputeError::Rejected { .. }) => {
                    self.clusters.record(failed_event(c, &request, &e)).await;
                    return Ok(Launched::Fatal(e.to_string()));
                }
                Err(e) => {
                    tracing::warn!(cluster_id = %c.cluster_id, error = %e, "could not launch nodes; the next pass tries again");
                    self.clusters.record(failed_event(c, &request, &e)).await;
                    return Ok(if added.is_empty() {
                        Launched::Later
                    } else {
                        Launched::Nodes(added)
                    });
                }
            };
            let now = now_ms();
            let mut these = Vec::new();
            for l in launched {
                let node = Node {
                    cluster_id: c.cluster_id.clone(),
                    node_id: l.node_id,
                    role,
                    generation: c.generation,
                    instance_type: request.instance_type.clone(),
                    market: request.market,
                    zone: l.zone,
                    private_ip: l.private_ip,
                    price_per_hour: l.price_per_hour,
                    launched_at: now,
                    reported_at: None,
                    last_seen: None,
                    drain: None,
                    drain_requested_at: None,
                    drained_at: None,
                    terminated_at: None,
                    termination_cause: None,
                };
                self.docs.create(&node).await?;
                these.push(node);
            }
            if request.market == Market::OnDemand {
                *on_demand += these.len() as u32;
            }
            self.clusters
                .record(
                    ClusterEvent::new(&c.cluster_id, now, EventType::NodesAdded)
                        .with("target_num_workers", c.target_workers)
                        .with_nodes(&these),
                )
                .await;
            added.extend(these);
            left = left.saturating_sub(n);
        }
        Ok(Launched::Nodes(added))
    }

    /// The launch request for `count` nodes of `c`.
    fn request(&self, c: &Cluster, role: NodeRole, count: u32, market: Market) -> Launch {
        let aws = c.spec.aws();
        let instance_type = match role {
            NodeRole::Driver => c.spec.driver_node_type(),
            NodeRole::Worker => c.spec.node_type(),
        }
        .to_string();
        let mut tags = c.spec.custom_tags.clone();
        tags.insert(compute::TAG_MANAGED.into(), "true".into());
        tags.insert(compute::TAG_CLUSTER.into(), c.cluster_id.clone());
        tags.insert(compute::TAG_CREATOR.into(), c.creator_user_name.clone());
        tags.insert(compute::TAG_ROLE.into(), format!("{role:?}").to_lowercase());
        tags.insert(compute::TAG_GENERATION.into(), c.generation.to_string());
        if let Some(run) = c.run_id {
            tags.insert(compute::TAG_RUN.into(), run.to_string());
        }
        tags.insert(
            "Name".into(),
            format!(
                "lakeplane-{}",
                c.spec.cluster_name.as_deref().unwrap_or(&c.cluster_id)
            ),
        );
        let price = node_types::on_demand_price(&instance_type);
        let max_price = (market == Market::Spot && price > 0.0)
            .then(|| price * f64::from(aws.spot_bid_price_percent()) / 100.0);
        let volumes = match (aws.ebs_volume_count, aws.ebs_volume_size) {
            (Some(count), Some(size)) if count > 0 => Some(Volumes {
                kind: aws
                    .ebs_volume_type
                    .unwrap_or(lakeplane_core::cluster::spec::EbsVolumeType::GeneralPurposeSsd),
                count,
                size_gib: size,
                iops: aws.ebs_volume_iops,
                throughput: aws.ebs_volume_throughput,
            }),
            _ => None,
        };
        Launch {
            cluster_id: c.cluster_id.clone(),
            queue: c.queue(),
            role,
            generation: c.generation,
            count,
            instance_type,
            market,
            max_price,
            zone: aws.zone().map(str::to_string),
            instance_profile_arn: aws.instance_profile_arn.clone(),
            volumes,
            tags,
        }
    }
}

pub(super) enum Launched {
    Nodes(Vec<Node>),
    /// The spec cannot be launched: the cluster fails.
    Fatal(String),
    /// Nothing launched now; the next pass tries again.
    Later,
}

fn failed_event(c: &Cluster, r: &Launch, e: &ComputeError) -> ClusterEvent {
    let code = match e {
        ComputeError::Capacity { .. } => "AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE",
        ComputeError::Rejected { .. } | ComputeError::Unavailable { .. } => {
            "CLOUD_PROVIDER_LAUNCH_FAILURE"
        }
    };
    let mut params = serde_json::Map::new();
    params.insert("aws_error_message".into(), e.to_string().into());
    ClusterEvent::new(&c.cluster_id, now_ms(), EventType::AddNodesFailed)
        .with_reason(code, "CLOUD_FAILURE", params)
        .with("instance_type", r.instance_type.clone())
        .with("market", r.market.as_str())
        .with("count", r.count)
}
