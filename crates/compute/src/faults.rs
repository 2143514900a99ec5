//! A compute that fails on purpose: spot launches answer "no capacity" while `no_spot` is set,
//! as EC2 does when a spot pool is empty (moto never does). For tests of the fallback.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use lakeplane_core::cluster::compute::{Compute, ComputeError, Launch, Launched, Observed};
use lakeplane_core::cluster::Market;

/// Wraps a compute, failing spot launches while told to.
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Compute>,
    pub no_spot: AtomicBool,
    /// Spot launches refused so far.
    pub refused: AtomicU32,
}

impl Faulty {
    pub fn new(inner: Arc<dyn Compute>) -> Faulty {
        Faulty {
            inner,
            no_spot: AtomicBool::new(false),
            refused: AtomicU32::new(0),
        }
    }
}

#[async_trait]
impl Compute for Faulty {
    async fn launch(&self, launch: &Launch) -> Result<Vec<Launched>, ComputeError> {
        if launch.market == Market::Spot && self.no_spot.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(ComputeError::Capacity {
                instance_type: launch.instance_type.clone(),
                market: "spot",
                message: "InsufficientInstanceCapacity: There is no Spot capacity available that \
                          matches your request. (injected)"
                    .into(),
            });
        }
        self.inner.launch(launch).await
    }

    async fn terminate(&self, cluster_id: &str, node_ids: &[String]) -> Result<(), ComputeError> {
        self.inner.terminate(cluster_id, node_ids).await
    }

    async fn observe(&self, cluster_id: &str) -> Result<Vec<Observed>, ComputeError> {
        self.inner.observe(cluster_id).await
    }
}
