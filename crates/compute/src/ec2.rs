//! Nodes as EC2 instances, launched from the stack's launch template with the cluster's instance
//! type, market, zone, instance profile, EBS volumes, tags and user data. Spot capacity errors are
//! [`ComputeError::Capacity`] (the reconciler falls back to on-demand when the spec allows); a
//! request EC2 refuses as malformed is [`ComputeError::Rejected`].

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, IamInstanceProfileSpecification,
    InstanceInterruptionBehavior, InstanceMarketOptionsRequest, InstanceStateName,
    LaunchTemplateSpecification, MarketType, Placement, ResourceType, SpotInstanceType,
    SpotMarketOptions, Tag, TagSpecification, VolumeType,
};
use aws_sdk_ec2::Client;
use base64::Engine as _;
use lakeplane_core::cluster::compute::{
    Compute, ComputeError, Launch, Launched, Observed, TAG_CLUSTER,
};
use lakeplane_core::cluster::spec::EbsVolumeType;
use lakeplane_core::cluster::{node_types, Market};

use crate::boot::WorkerBoot;

/// EC2 error codes that mean "no capacity of this kind now".
const CAPACITY_CODES: &[&str] = &[
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientHostCapacity",
    "SpotMaxPriceTooLow",
    "MaxSpotInstanceCountExceeded",
    "InstanceLimitExceeded",
    "VcpuLimitExceeded",
];
/// The most instances one RunInstances asks for.
const MAX_PER_CALL: u32 = 100;

/// How the stack launches nodes.
#[derive(Debug, Clone)]
pub struct Ec2Config {
    /// The launch template (its name) holding the AMI, security groups and subnet.
    pub launch_template: Option<String>,
    /// The instance profile when a cluster names none.
    pub default_instance_profile_arn: Option<String>,
    pub boot: WorkerBoot,
}

impl Ec2Config {
    /// Reads the stack's settings: `LAKEPLANE_LAUNCH_TEMPLATE`, `LAKEPLANE_INSTANCE_PROFILE_ARN`,
    /// `LAKEPLANE_WORKER_BINARY` (without it every launch is refused, saying so), `LAKEPLANE_TABLE`
    /// (required), `LAKEPLANE_STORAGE` (required), `LAKEPLANE_RESULTS`, `LAKEPLANE_NODE_SLOTS` and
    /// `AWS_REGION`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Ec2Config, String> {
        let some = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let need = |k: &str| some(k).ok_or_else(|| format!("{k} must be set"));
        Ok(Ec2Config {
            launch_template: some("LAKEPLANE_LAUNCH_TEMPLATE"),
            default_instance_profile_arn: some("LAKEPLANE_INSTANCE_PROFILE_ARN"),
            boot: WorkerBoot {
                binary_url: some("LAKEPLANE_WORKER_BINARY").unwrap_or_default(),
                state: format!("dynamodb://{}", need("LAKEPLANE_TABLE")?),
                storage: need("LAKEPLANE_STORAGE")?,
                results: some("LAKEPLANE_RESULTS"),
                region: some("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
                slots: match some("LAKEPLANE_NODE_SLOTS") {
                    None => 4,
                    Some(s) => s
                        .parse()
                        .map_err(|_| format!("LAKEPLANE_NODE_SLOTS must be a number, got '{s}'"))?,
                },
            },
        })
    }
}

/// The EC2 adapter.
#[derive(Debug, Clone)]
pub struct Ec2Compute {
    client: Client,
    config: Ec2Config,
}

fn failed(action: &'static str, e: impl ProvideErrorMetadata + std::fmt::Display) -> ComputeError {
    ComputeError::Unavailable {
        action,
        message: match (e.code(), e.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            _ => e.to_string(),
        },
    }
}

impl Ec2Compute {
    pub fn new(client: Client, config: Ec2Config) -> Ec2Compute {
        Ec2Compute { client, config }
    }

    /// EC2's latest spot price for `launch`'s type (and zone), if it answers.
    async fn spot_price(&self, launch: &Launch, zone: Option<&str>) -> Option<f64> {
        let out = self
            .client
            .describe_spot_price_history()
            .instance_types(launch.instance_type.as_str().into())
            .product_descriptions("Linux/UNIX")
            .set_availability_zone(zone.map(str::to_string))
            .max_results(5)
            .send()
            .await
            .ok()?;
        out.spot_price_history()
            .iter()
            .filter_map(|p| p.spot_price()?.parse::<f64>().ok())
            .next()
    }

    fn market_options(launch: &Launch) -> Option<InstanceMarketOptionsRequest> {
        (launch.market == Market::Spot).then(|| {
            InstanceMarketOptionsRequest::builder()
                .market_type(MarketType::Spot)
                .spot_options(
                    SpotMarketOptions::builder()
                        .set_max_price(launch.max_price.map(|p| format!("{p:.4}")))
                        .spot_instance_type(SpotInstanceType::OneTime)
                        .instance_interruption_behavior(InstanceInterruptionBehavior::Terminate)
                        .build(),
                )
                .build()
        })
    }

    fn volumes(launch: &Launch) -> Vec<BlockDeviceMapping> {
        let Some(v) = &launch.volumes else {
            return Vec::new();
        };
        (0..v.count.min(10))
            .map(|i| {
                let kind = match v.kind {
                    EbsVolumeType::GeneralPurposeSsd => VolumeType::Gp3,
                    EbsVolumeType::ThroughputOptimizedHdd => VolumeType::St1,
                };
                BlockDeviceMapping::builder()
                    .device_name(format!("/dev/xvd{}", (b'b' + i as u8) as char))
                    .ebs(
                        EbsBlockDevice::builder()
                            .volume_type(kind)
                            .volume_size(v.size_gib as i32)
                            .set_iops(v.iops.map(|n| n as i32))
                            .set_throughput(v.throughput.map(|n| n as i32))
                            .delete_on_termination(true)
                            .encrypted(true)
                            .build(),
                    )
                    .build()
            })
            .collect()
    }

    fn tags(launch: &Launch, kind: ResourceType) -> TagSpecification {
        TagSpecification::builder()
            .resource_type(kind)
            .set_tags(Some(
                launch
                    .tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .build()
    }
}

#[async_trait::async_trait]
impl Compute for Ec2Compute {
    async fn launch(&self, launch: &Launch) -> Result<Vec<Launched>, ComputeError> {
        if self.config.boot.binary_url.is_empty() {
            return Err(ComputeError::Rejected {
                cluster_id: launch.cluster_id.clone(),
                message: "the stack has no worker binary to install on nodes: set the \
                          WorkerBinaryUri parameter (LAKEPLANE_WORKER_BINARY)"
                    .into(),
            });
        }
        let user_data =
            base64::engine::general_purpose::STANDARD.encode(self.config.boot.script(launch));
        let profile = launch
            .instance_profile_arn
            .clone()
            .or_else(|| self.config.default_instance_profile_arn.clone());
        let count = launch.count.clamp(1, MAX_PER_CALL) as i32;
        let mut request = self
            .client
            .run_instances()
            .instance_type(launch.instance_type.as_str().into())
            .min_count(count)
            .max_count(count)
            .set_instance_market_options(Self::market_options(launch))
            .set_block_device_mappings(Some(Self::volumes(launch)).filter(|v| !v.is_empty()))
            .tag_specifications(Self::tags(launch, ResourceType::Instance))
            .tag_specifications(Self::tags(launch, ResourceType::Volume))
            .user_data(user_data)
            .set_placement(
                launch
                    .zone
                    .as_ref()
                    .map(|z| Placement::builder().availability_zone(z).build()),
            )
            .set_iam_instance_profile(
                profile.map(|arn| IamInstanceProfileSpecification::builder().arn(arn).build()),
            );
        match &self.config.launch_template {
            Some(name) => {
                request = request.launch_template(
                    LaunchTemplateSpecification::builder()
                        .launch_template_name(name)
                        .version("$Default")
                        .build(),
                )
            }
            // Without a template (tests), any AMI: the user data is what makes it a node.
            None => request = request.image_id("ami-12c6146b"),
        }
        let out = request.send().await.map_err(|e| {
            let code = e.code().unwrap_or_default().to_string();
            let message = e.message().unwrap_or_default().to_string();
            if CAPACITY_CODES.contains(&code.as_str()) {
                ComputeError::Capacity {
                    instance_type: launch.instance_type.clone(),
                    market: if launch.market == Market::Spot {
                        "spot"
                    } else {
                        "on-demand"
                    },
                    message: format!("{code}: {message}"),
                }
            } else if code.starts_with("Invalid")
                || code == "UnauthorizedOperation"
                || code == "Unsupported"
            {
                ComputeError::Rejected {
                    cluster_id: launch.cluster_id.clone(),
                    message: format!("{code}: {message}"),
                }
            } else {
                failed("RunInstances", e)
            }
        })?;
        let on_demand = node_types::on_demand_price(&launch.instance_type);
        let mut launched = Vec::new();
        for i in out.instances() {
            let zone = i
                .placement()
                .and_then(|p| p.availability_zone())
                .map(str::to_string);
            let price = match launch.market {
                Market::OnDemand => on_demand,
                Market::Spot => self
                    .spot_price(launch, zone.as_deref())
                    .await
                    .unwrap_or(on_demand * node_types::SPOT_PRICE_ESTIMATE),
            };
            launched.push(Launched {
                node_id: i.instance_id().unwrap_or_default().to_string(),
                private_ip: i.private_ip_address().map(str::to_string),
                zone,
                price_per_hour: price,
            });
        }
        Ok(launched)
    }

    async fn terminate(&self, _cluster_id: &str, node_ids: &[String]) -> Result<(), ComputeError> {
        for chunk in node_ids.chunks(MAX_PER_CALL as usize) {
            match self
                .client
                .terminate_instances()
                .set_instance_ids(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if e.code() == Some("InvalidInstanceID.NotFound") => {}
                Err(e) => return Err(failed("TerminateInstances", e)),
            }
        }
        Ok(())
    }

    async fn observe(&self, cluster_id: &str) -> Result<Vec<Observed>, ComputeError> {
        let mut seen = Vec::new();
        let mut pages = self
            .client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{TAG_CLUSTER}"))
                    .values(cluster_id)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("DescribeInstances", e))?;
            for r in page.reservations() {
                for i in r.instances() {
                    let state = i.state().and_then(|s| s.name());
                    seen.push(Observed {
                        node_id: i.instance_id().unwrap_or_default().to_string(),
                        alive: matches!(
                            state,
                            Some(InstanceStateName::Pending | InstanceStateName::Running)
                        ),
                    });
                }
            }
        }
        Ok(seen)
    }
}
