//! The reconciler: what makes stuck states impossible to keep. A task's end and its run's advance
//! are separate writes, and any write may fail part-way (a timeout, a process killed between the
//! two); workers may die holding leases with nobody left to claim their tasks. One sweep:
//!
//! 1. files every lost attempt in the given queues (expired leases): the task is queued again, or
//!    ends FAILED after too many losses, or CANCELED if its run was being cancelled;
//! 2. advances every active run that is due for a look: queues tasks whose dependencies ended,
//!    skips what can no longer run, stops runs past their `timeout_seconds`, carries cancellations
//!    on, and ends runs whose tasks have all ended.
//!
//! An active run waits in the `reconcile` queue until its next look (`Run::check_at`): a minute
//! after it starts (`Settings::first_check`), then a quarter of its age later (at most every ten
//! minutes), and at its deadline. So a sweep reads the runs that are due, not every active run, and
//! a run that ends on its own within a minute is never read by it at all.
//!
//! Every step is a conditional read–modify–write, so a sweep may run alongside workers, the API and
//! other sweeps. `lakeplane dev` sweeps in a loop; on AWS, `functions/scheduler` sweeps on an
//! EventBridge rate rule.

use lakeplane_core::run::Run;

use crate::doc::Documents;
use crate::error::ControlResult;
use crate::layout::RECONCILE_QUEUE;
use crate::leases::Leases;
use crate::runs::Runs;
use crate::time::now_ms;

/// The most due runs one sweep advances, and lost attempts it files per queue; what is left
/// waits for the next sweep.
pub const SWEEP_LIMIT: usize = 1000;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Lost attempts filed (expired leases).
    pub leases_expired: usize,
    /// Runs due for a look, looked at (each advanced if it could move).
    pub runs_checked: usize,
    /// Runs that could not be advanced this time (a store failure); the next sweep tries again.
    pub runs_failed: usize,
}

/// The reconciler area.
#[derive(Debug, Clone)]
pub struct Reconciler {
    docs: Documents,
    runs: Runs,
    leases: Leases,
}

impl Reconciler {
    pub(crate) fn new(docs: Documents, runs: Runs, leases: Leases) -> Reconciler {
        Reconciler { docs, runs, leases }
    }

    /// One sweep over `queues` and the runs due for a look.
    pub async fn sweep(&self, queues: &[String]) -> ControlResult<Sweep> {
        let mut sweep = Sweep::default();
        for queue in queues {
            sweep.leases_expired += self.leases.expire_lost(queue, SWEEP_LIMIT).await?;
        }
        let now = now_ms();
        for due in self
            .docs
            .due::<Run>(RECONCILE_QUEUE, now, SWEEP_LIMIT)
            .await?
        {
            let id = due.doc.run_id;
            sweep.runs_checked += 1;
            let looked = match self.runs.advance(id).await {
                Ok(()) => self.runs.reschedule(id, now).await,
                Err(e) => Err(e),
            };
            if let Err(e) = looked {
                // Still due: the next sweep looks again.
                sweep.runs_failed += 1;
                tracing::warn!(run_id = %id, error = %e, "could not advance a run; next sweep");
            }
        }
        if sweep.leases_expired > 0 || sweep.runs_failed > 0 {
            tracing::info!(?sweep, "reconciler sweep");
        }
        Ok(sweep)
    }
}
