//! Nodes as local processes: each is `lakeplane worker` serving its cluster's queue, started by
//! this process and killed with it. A node's spot interruption notice is a file
//! (`<notices>/<node_id>/spot/instance-action`, the path the instance metadata service uses), so
//! tests can interrupt a node the way EC2 does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use lakeplane_core::cluster::compute::{Compute, ComputeError, Launch, Launched, Observed};
use lakeplane_core::cluster::{node_types, Market};
use tokio::process::{Child, Command};

/// Starts and stops worker processes.
#[derive(Debug)]
pub struct LocalProcesses {
    program: PathBuf,
    /// Arguments every worker gets (data directory, access flags, lease and slots).
    args: Vec<String>,
    notices: PathBuf,
    children: Mutex<BTreeMap<String, BTreeMap<String, Child>>>,
    next: AtomicU64,
}

impl LocalProcesses {
    /// Workers run `program worker <args> ...`; interruption notices are read under `notices`.
    pub fn new(program: PathBuf, args: Vec<String>, notices: PathBuf) -> LocalProcesses {
        LocalProcesses {
            program,
            args,
            notices,
            children: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// Where node `node_id`'s interruption notice would be.
    pub fn notice_path(&self, node_id: &str) -> PathBuf {
        self.notices
            .join(node_id)
            .join("spot")
            .join("instance-action")
    }

    fn children(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, Child>>> {
        self.children.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&self, launch: &Launch, node_id: &str) -> Result<Child, ComputeError> {
        let notice = self.notices.join(node_id);
        Command::new(&self.program)
            .arg("worker")
            .args(&self.args)
            .args(["--queue", &launch.queue])
            .args(["--id", node_id])
            .args(["--cluster-id", &launch.cluster_id])
            .args(["--node-id", node_id])
            .arg("--interruption-notice")
            .arg(format!("file://{}", notice.display()))
            .arg("--exit-with-parent")
            .arg(std::process::id().to_string())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ComputeError::Unavailable {
                action: "start a worker process",
                message: format!("{}: {e}", self.program.display()),
            })
    }
}

#[async_trait]
impl Compute for LocalProcesses {
    async fn launch(&self, launch: &Launch) -> Result<Vec<Launched>, ComputeError> {
        let on_demand = node_types::on_demand_price(&launch.instance_type);
        let price = match launch.market {
            Market::OnDemand => on_demand,
            Market::Spot => on_demand * node_types::SPOT_PRICE_ESTIMATE,
        };
        let mut out = Vec::new();
        for _ in 0..launch.count {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let node_id = format!("local-{}-{}-{n}", std::process::id(), launch.cluster_id);
            let child = self.spawn(launch, &node_id)?;
            tracing::info!(cluster_id = %launch.cluster_id, node_id, pid = child.id(), "node process started");
            self.children()
                .entry(launch.cluster_id.clone())
                .or_default()
                .insert(node_id.clone(), child);
            out.push(Launched {
                node_id,
                zone: Some("local".into()),
                private_ip: Some("127.0.0.1".into()),
                price_per_hour: price,
            });
        }
        Ok(out)
    }

    async fn terminate(&self, cluster_id: &str, node_ids: &[String]) -> Result<(), ComputeError> {
        let mut all = self.children();
        if let Some(nodes) = all.get_mut(cluster_id) {
            for id in node_ids {
                if let Some(mut child) = nodes.remove(id) {
                    let _ = child.start_kill();
                    tracing::info!(cluster_id, node_id = %id, "node process stopped");
                    // Reaped in the background so that no zombie stays.
                    tokio::spawn(async move {
                        let _ = child.wait().await;
                    });
                }
            }
        }
        Ok(())
    }

    async fn observe(&self, cluster_id: &str) -> Result<Vec<Observed>, ComputeError> {
        let mut all = self.children();
        let Some(nodes) = all.get_mut(cluster_id) else {
            return Ok(Vec::new());
        };
        let seen: Vec<Observed> = nodes
            .iter_mut()
            .map(|(id, child)| Observed {
                node_id: id.clone(),
                alive: matches!(child.try_wait(), Ok(None)),
            })
            .collect();
        // A process that exited is reported once, then forgotten.
        for o in seen.iter().filter(|o| !o.alive) {
            nodes.remove(&o.node_id);
        }
        Ok(seen)
    }
}
