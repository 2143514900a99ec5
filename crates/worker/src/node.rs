//! A worker that is a cluster's node reports in on it, and drains when told or when its instance
//! is about to be taken away: the spot interruption notice, read from the instance metadata
//! service (or, locally, a file at the same path), or an order from the control plane (an
//! EventBridge interruption warning, a scale-down).
//!
//! Draining for an interruption hands every running task back at once, so that another node takes
//! it now rather than when its lease runs out; a decommission lets running tasks finish. Either
//! way the worker stops claiming, reports itself drained once it holds nothing, and exits.

use std::path::PathBuf;
use std::time::Duration;

use lakeplane_control::clusters::{NodeOrder, NodeReport};
use lakeplane_control::Control;
use lakeplane_core::cluster::DrainReason;
use tokio_util::sync::CancellationToken;

/// Where a node's interruption notice comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// None is looked for.
    None,
    /// A file: present means interrupted (what `lakeplane dev`'s nodes use).
    File(PathBuf),
    /// The instance metadata service at this base URL (`http://169.254.169.254`), IMDSv2.
    Imds(String),
}

impl Notice {
    /// Reads `imds`, `imds=URL`, `file://PATH` or `none`.
    pub fn parse(s: &str) -> Result<Notice, String> {
        match s {
            "none" | "" => Ok(Notice::None),
            "imds" => Ok(Notice::Imds("http://169.254.169.254".into())),
            _ => {
                if let Some(url) = s.strip_prefix("imds=") {
                    Ok(Notice::Imds(url.trim_end_matches('/').to_string()))
                } else if let Some(path) = s.strip_prefix("file://") {
                    Ok(Notice::File(PathBuf::from(path)))
                } else {
                    Err(format!(
                        "interruption notice '{s}': use imds, imds=URL, file://PATH or none"
                    ))
                }
            }
        }
    }

    /// Whether the notice is out. A failed look is "no" (and logged): the control plane's own
    /// order (from EventBridge) still reaches the node.
    async fn is_out(&self, http: &reqwest::Client) -> bool {
        match self {
            Notice::None => false,
            Notice::File(dir) => tokio::fs::try_exists(dir.join("spot").join("instance-action"))
                .await
                .unwrap_or(false),
            Notice::Imds(base) => {
                let token = http
                    .put(format!("{base}/latest/api/token"))
                    .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
                    .send()
                    .await
                    .and_then(|r| r.error_for_status());
                let token = match token {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(e) => {
                        tracing::debug!(error = %e, "instance metadata: no token");
                        return false;
                    }
                };
                match http
                    .get(format!("{base}/latest/meta-data/spot/instance-action"))
                    .header("X-aws-ec2-metadata-token", token)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success(),
                    Err(e) => {
                        tracing::debug!(error = %e, "instance metadata: no answer");
                        false
                    }
                }
            }
        }
    }
}

/// The node a worker is.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub cluster_id: String,
    pub node_id: String,
    pub notice: Notice,
    /// How often it reports in (and hears whether to drain).
    pub report_every: Duration,
    /// How often it looks at the interruption notice.
    pub notice_every: Duration,
}

/// What the node's agent tells the worker.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signals {
    /// Stop claiming.
    pub draining: CancellationToken,
    /// Hand running tasks back now.
    pub interrupted: CancellationToken,
    /// The node is done (drained and reported, or terminated): exit.
    pub stop: CancellationToken,
}

impl Signals {
    fn drain(&self, reason: DrainReason) {
        if reason == DrainReason::Interrupted && !self.interrupted.is_cancelled() {
            tracing::warn!("spot interruption: handing every task back and draining");
            self.interrupted.cancel();
        }
        if !self.draining.is_cancelled() {
            tracing::warn!(?reason, "draining: no more claims");
            self.draining.cancel();
        }
    }
}

/// Reports in until the node is done. `idle()` says whether the worker holds no task.
pub(crate) async fn agent(
    control: Control,
    node: NodeConfig,
    signals: Signals,
    idle: impl Fn() -> bool,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_default();
    let mut last_report = None::<tokio::time::Instant>;
    let mut noticed = false;
    loop {
        if !noticed && node.notice.is_out(&http).await {
            noticed = true;
            signals.drain(DrainReason::Interrupted);
            last_report = None;
        }
        let drained = signals.draining.is_cancelled() && idle();
        let due = last_report.is_none_or(|t| t.elapsed() >= node.report_every) || drained;
        if due {
            let report = NodeReport {
                cluster_id: node.cluster_id.clone(),
                node_id: node.node_id.clone(),
                interrupted: noticed,
                drained,
            };
            match control.clusters().report(&report).await {
                Ok(NodeOrder::Serve) => {}
                Ok(NodeOrder::Drain(reason)) => signals.drain(reason),
                Ok(NodeOrder::Stop) => {
                    tracing::info!("the node is stopped; exiting");
                    signals.draining.cancel();
                    signals.stop.cancel();
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not report in; trying again"),
            }
            last_report = Some(tokio::time::Instant::now());
            if drained {
                tracing::info!("drained; exiting");
                signals.stop.cancel();
                return;
            }
        }
        tokio::time::sleep(node.notice_every).await;
    }
}
