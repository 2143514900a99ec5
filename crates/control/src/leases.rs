//! The worker's lease protocol: claim a due task run, renew the lease with heartbeats, record how
//! the task ended. Every write is conditional on the task run's version and checks that the worker
//! still holds the lease, so a worker that lost its lease can never record an outcome.

use lakeplane_core::run::{TaskOutput, TaskResult, TaskRun};
use lakeplane_core::DomainResult;

use crate::doc::{retry, Documents, Record, Versioned};
use crate::error::{ControlError, ControlResult};
use crate::runs::Runs;
use crate::time::now_ms;
use crate::views::{Claim, Heartbeat};

/// How many due task runs one claim attempt looks at.
const CLAIM_BATCH: usize = 16;

/// The leases area.
#[derive(Debug, Clone)]
pub struct Leases {
    docs: Documents,
    runs: Runs,
}

impl Leases {
    pub(crate) fn new(docs: Documents, runs: Runs) -> Leases {
        Leases { docs, runs }
    }

    /// Claims one due task run for `worker`: a queued one, or a running one whose lease expired (its
    /// worker died). Returns `None` when nothing is due.
    pub async fn claim_next(&self, worker: &str, lease_ms: i64) -> ControlResult<Option<Claim>> {
        let now = now_ms();
        for Versioned { mut doc, version } in self.docs.due::<TaskRun>(now, CLAIM_BATCH).await? {
            if doc.claim(worker, now, lease_ms).is_err() {
                continue;
            }
            let version = match self.docs.replace(&doc, version).await {
                Ok(v) => v,
                // Another worker won this one, or it changed or went away; try the next.
                Err(e) if e.is_conflict() => continue,
                Err(ControlError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if doc.executions > 1 {
                tracing::warn!(task_run_id = %doc.run_id, executions = doc.executions,
                    "claimed a task whose previous worker's lease expired");
            }
            let run = self.runs.mark_started(doc.parent_run_id).await?;
            let task_parameters = doc
                .task
                .sql()
                .map(|s| s.parameters.clone())
                .unwrap_or_default();
            return Ok(Some(Claim {
                worker: worker.to_string(),
                parameters: lakeplane_core::params::resolve(
                    &task_parameters,
                    &run.sql_params,
                    &run.job_parameters,
                ),
                task: doc,
                version,
            }));
        }
        Ok(None)
    }

    /// Renews the claim's lease. `Cancel` means the run was cancelled; `LeaseLost` means another worker
    /// took the task over and this one must drop its work.
    pub async fn heartbeat(&self, claim: &mut Claim, lease_ms: i64) -> ControlResult<Heartbeat> {
        let worker = claim.worker.clone();
        let task = self
            .update_claimed(claim, |t| t.heartbeat(&worker, now_ms(), lease_ms))
            .await?;
        Ok(match task.cancel_requested {
            true => Heartbeat::Cancel,
            false => Heartbeat::Continue,
        })
    }

    /// Records how the claimed task ended and moves its run forward.
    pub async fn complete(
        &self,
        mut claim: Claim,
        result: TaskResult,
        message: String,
        output: Option<TaskOutput>,
    ) -> ControlResult<()> {
        let worker = claim.worker.clone();
        let run_id = claim.task.parent_run_id;
        let task = self
            .update_claimed(&mut claim, |t| {
                t.finish(&worker, now_ms(), result, message.clone(), output.clone())
            })
            .await?;
        tracing::info!(run_id = %run_id, task_run_id = %task.run_id, task_key = %task.key(), result = ?result, "task ended");
        self.runs.advance(run_id).await
    }

    /// Applies a transition to the claimed task run. The first attempt writes on top of the version
    /// this worker last wrote (no read); after a conflict (a cancel flag set meanwhile) it reads the
    /// task run again. A refused transition means the lease is gone.
    async fn update_claimed(
        &self,
        claim: &mut Claim,
        transition: impl Fn(&mut TaskRun) -> DomainResult<()>,
    ) -> ControlResult<TaskRun> {
        let held = &*claim;
        let (task, version) = retry(TaskRun::KIND, held.task.id(), |attempt| {
            let transition = &transition;
            async move {
                let Versioned { mut doc, version } = match attempt {
                    0 => Versioned {
                        doc: held.task.clone(),
                        version: held.version,
                    },
                    _ => self.docs.get::<TaskRun>(&held.task.id()).await?,
                };
                transition(&mut doc).map_err(|source| ControlError::LeaseLost {
                    task_run: held.task.run_id,
                    source,
                })?;
                let version = self.docs.replace(&doc, version).await?;
                Ok((doc, version))
            }
        })
        .await?;
        claim.task = task.clone();
        claim.version = version;
        Ok(task)
    }
}
