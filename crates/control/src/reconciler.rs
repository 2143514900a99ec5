//! The reconciler: what makes stuck states impossible to keep. A task's end and its run's advance
//! are separate writes, and any write may fail part-way (a timeout, a process killed between the
//! two); workers may die holding leases with nobody left to claim their tasks. One sweep:
//!
//! 1. files every lost attempt in the given queues (expired leases): the task is queued again, or
//!    ends FAILED after too many losses, or CANCELED if its run was being cancelled;
//! 2. advances every active run: queues tasks whose dependencies ended, skips what can no longer
//!    run, stops runs past their `timeout_seconds`, carries cancellations on, and ends runs whose
//!    tasks have all ended.
//!
//! Every step is a conditional read–modify–write, so a sweep may run alongside workers, the API and
//! other sweeps. `lakeplane dev` sweeps in a loop; on AWS, `functions/scheduler` sweeps on an
//! EventBridge rate rule.

use crate::doc::PageRequest;
use crate::error::ControlResult;
use crate::leases::Leases;
use crate::runs::Runs;

/// The most active runs one sweep advances, and lost attempts it files per queue; what is left
/// waits for the next sweep.
pub const SWEEP_LIMIT: usize = 1000;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Lost attempts filed (expired leases).
    pub leases_expired: usize,
    /// Active runs looked at (each advanced if it could move).
    pub runs_checked: usize,
    /// Runs that could not be advanced this time (a store failure); the next sweep tries again.
    pub runs_failed: usize,
}

/// The reconciler area.
#[derive(Debug, Clone)]
pub struct Reconciler {
    runs: Runs,
    leases: Leases,
}

impl Reconciler {
    pub(crate) fn new(runs: Runs, leases: Leases) -> Reconciler {
        Reconciler { runs, leases }
    }

    /// One sweep over `queues` and the active runs.
    pub async fn sweep(&self, queues: &[String]) -> ControlResult<Sweep> {
        let mut sweep = Sweep::default();
        for queue in queues {
            sweep.leases_expired += self.leases.expire_lost(queue, SWEEP_LIMIT).await?;
        }
        let mut request = PageRequest {
            limit: 100,
            ..PageRequest::default()
        };
        while sweep.runs_checked < SWEEP_LIMIT {
            let page = self.runs.active(&request).await?;
            for id in page.items {
                sweep.runs_checked += 1;
                if let Err(e) = self.runs.advance(id).await {
                    sweep.runs_failed += 1;
                    tracing::warn!(run_id = %id, error = %e, "could not advance a run; next sweep");
                }
            }
            match page.next_page_token {
                Some(t) => request.page_token = Some(t),
                None => break,
            }
        }
        if sweep.leases_expired > 0 || sweep.runs_failed > 0 {
            tracing::info!(?sweep, "reconciler sweep");
        }
        Ok(sweep)
    }
}
