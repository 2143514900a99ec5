//! The worker's lease protocol: claim a due task run, renew the lease with heartbeats, record how
//! the attempt ended.
//!
//! - Each claim makes a fresh lease token; every later write for the attempt is fenced by the token
//!   (and by the task run's version), so a worker whose lease was taken over can never write, even
//!   under the same worker name.
//! - A lease is renewed by moving only the task run's queue entry ([`Documents::touch`]).
//! - A task whose worker stopped renewing is due again once its lease has expired by more than the
//!   tolerated clock skew; whoever finds it (a worker claiming, or the reconciler) files the lost
//!   attempt and queues the task again, or ends it FAILED after too many losses
//!   (`Settings::max_lease_losses`, `MAX_LEASE_LOSSES` by default).
//! - A task of a run that is being cancelled, has ended or has run out of time is never started.

use lakeplane_core::run::{Finished, Run, TaskOutput, TaskResult, TaskRun};
use lakeplane_core::{DomainResult, RunId};

use crate::doc::{retry, Documents, Record, Versioned};
use crate::error::{ControlError, ControlResult};
use crate::runs::Runs;
use crate::time::now_ms;
use crate::views::{Claim, Deadline, Heartbeat};

/// How many due task runs one claim attempt looks at.
const CLAIM_BATCH: usize = 16;

/// The leases area.
#[derive(Debug, Clone)]
pub struct Leases {
    docs: Documents,
    runs: Runs,
    max_lease_losses: u32,
}

impl Leases {
    /// Leases that end a task FAILED once it has lost its worker `max_lease_losses` times.
    pub(crate) fn new(docs: Documents, runs: Runs, max_lease_losses: u32) -> Leases {
        Leases {
            docs,
            runs,
            max_lease_losses: max_lease_losses.max(1),
        }
    }

    /// Claims one due task run from the first of `queues` that has one. Returns `None` when nothing
    /// is due.
    pub async fn claim_next(
        &self,
        worker: &str,
        queues: &[String],
        lease_ms: i64,
    ) -> ControlResult<Option<Claim>> {
        for queue in queues {
            let now = now_ms();
            for candidate in self.docs.due::<TaskRun>(queue, now, CLAIM_BATCH).await? {
                let Some(candidate) = self.take_over_if_lost(candidate, now).await? else {
                    continue;
                };
                if let Some(claim) = self.try_claim(worker, candidate, lease_ms).await? {
                    return Ok(Some(claim));
                }
            }
        }
        Ok(None)
    }

    /// A due task run, made claimable if its worker's lease expired (see [`Leases::file_lost`]).
    /// `None` if it cannot be claimed now.
    async fn take_over_if_lost(
        &self,
        found: Versioned<TaskRun>,
        now: i64,
    ) -> ControlResult<Option<Versioned<TaskRun>>> {
        if !found.doc.lease_expired(now) {
            return Ok(Some(found));
        }
        Ok(self
            .file_lost(found, now)
            .await?
            .filter(|t| !t.doc.is_terminal()))
    }

    /// Files the attempt of a worker whose lease expired: the task is queued again, or ends (and
    /// its run moves on). Returns the task run as written, or `None` if someone else changed it
    /// first.
    async fn file_lost(
        &self,
        found: Versioned<TaskRun>,
        now: i64,
    ) -> ControlResult<Option<Versioned<TaskRun>>> {
        let Versioned { mut doc, version } = found;
        let next_id = RunId(self.docs.next_ids("run", 1).await?);
        doc.expire(now, next_id, self.max_lease_losses)?;
        let version = match self.docs.replace(&doc, version).await {
            Ok(v) => v,
            Err(e) if e.is_conflict() => return Ok(None),
            Err(ControlError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        tracing::warn!(run_id = %doc.parent_run_id, task_key = %doc.key(), lease_losses = doc.lease_losses,
            state = ?doc.state, "a task's worker stopped renewing its lease; its attempt was filed");
        if doc.is_terminal() {
            self.runs.advance(doc.parent_run_id).await?;
        }
        Ok(Some(Versioned { doc, version }))
    }

    /// Claims one queued task run if its run still accepts work.
    async fn try_claim(
        &self,
        worker: &str,
        found: Versioned<TaskRun>,
        lease_ms: i64,
    ) -> ControlResult<Option<Claim>> {
        let now = now_ms();
        let Versioned { mut doc, version } = found;
        if !doc.claimable(now) {
            return Ok(None);
        }
        // One conditional write checks the run still accepts work and marks it started; another
        // worker may have run the task and ended the run since the queue was read.
        let (run, _) = self
            .docs
            .update(&doc.parent_run_id, |run: &mut Run| {
                match run.accepts_work(now) {
                    true => Ok(run.start()?),
                    false => Ok(false),
                }
            })
            .await?;
        if !run.accepts_work(now) {
            // Cancelled, ended or out of time: the run's advance skips the task.
            self.runs.advance(run.run_id).await?;
            return Ok(None);
        }
        let token = uuid::Uuid::new_v4().to_string();
        doc.claim(worker, &token, now, lease_ms)?;
        let version = match self.docs.replace(&doc, version).await {
            Ok(v) => v,
            // Another worker won this one, or it changed or went away.
            Err(e) if e.is_conflict() => return Ok(None),
            Err(ControlError::NotFound { .. }) => return Ok(None),
            Err(e) if e.is_transient() => {
                // The write may have happened with its reply lost: the token says.
                let now = self.docs.get::<TaskRun>(&doc.id()).await?;
                match now.doc.lease.as_ref().is_some_and(|l| l.token == token) {
                    true => now.version,
                    false => return Ok(None),
                }
            }
            Err(e) => return Err(e),
        };
        tracing::info!(run_id = %doc.parent_run_id, task_key = %doc.key(), attempt = doc.attempt_number,
            worker, "task claimed");
        let task_parameters = doc
            .task
            .sql()
            .map(|s| s.parameters.clone())
            .unwrap_or_default();
        Ok(Some(Claim {
            worker: worker.to_string(),
            token,
            parameters: lakeplane_core::params::resolve(
                &task_parameters,
                &run.sql_params,
                &run.job_parameters,
            ),
            deadline: deadline(&doc, &run, now),
            run_as: run.runs_as().to_string(),
            task: doc,
            version,
        }))
    }

    /// Renews the claim's lease. `Cancel` means the run is being cancelled or ran out of time;
    /// `LeaseLost` means the claim no longer holds the task and the worker must drop its work.
    pub async fn heartbeat(&self, claim: &mut Claim, lease_ms: i64) -> ControlResult<Heartbeat> {
        let token = claim.token.clone();
        let (task, _) = self
            .update_claimed(claim, true, |t| {
                t.heartbeat(&token, now_ms(), lease_ms).map(|()| true)
            })
            .await?;
        Ok(match task.cancel_requested {
            true => Heartbeat::Cancel,
            false => Heartbeat::Continue,
        })
    }

    /// Records how the claimed attempt ended (queuing a retry if its policy says so) and moves the
    /// run forward. Idempotent: a completion whose first write succeeded unseen is recognised.
    /// Once the outcome is recorded this succeeds even if moving the run forward fails; the
    /// reconciler finishes that.
    pub async fn complete(
        &self,
        mut claim: Claim,
        result: TaskResult,
        message: String,
        output: Option<TaskOutput>,
    ) -> ControlResult<Finished> {
        let token = claim.token.clone();
        let run_id = claim.task.parent_run_id;
        let retry_id = match claim.task.retries_after(result) {
            true => Some(RunId(self.docs.next_ids("run", 1).await?)),
            false => None,
        };
        let finished = std::sync::Mutex::new(Finished::AlreadyRecorded);
        let (task, _) = self
            .update_claimed(&mut claim, false, |t| {
                let f = t.finish(
                    &token,
                    now_ms(),
                    result,
                    message.clone(),
                    output.clone(),
                    retry_id,
                )?;
                if let Ok(mut slot) = finished.lock() {
                    *slot = f;
                }
                Ok(f != Finished::AlreadyRecorded)
            })
            .await?;
        let finished = finished.into_inner().unwrap_or(Finished::AlreadyRecorded);
        tracing::info!(run_id = %run_id, task_run_id = %task.run_id, task_key = %task.key(),
            result = ?result, finished = ?finished, "attempt ended");
        if let Err(e) = self.runs.advance(run_id).await {
            tracing::warn!(run_id = %run_id, error = %e,
                "the task's end is recorded but the run could not move on; the reconciler will");
        }
        Ok(finished)
    }

    /// Files every lost attempt due in `queue` (workers whose leases expired), whether or not a
    /// worker is there to claim the tasks. Returns how many it filed.
    pub async fn expire_lost(&self, queue: &str, limit: usize) -> ControlResult<usize> {
        let now = now_ms();
        let mut filed = 0;
        for found in self.docs.due::<TaskRun>(queue, now, limit).await? {
            if found.doc.lease_expired(now) && self.file_lost(found, now).await?.is_some() {
                filed += 1;
            }
        }
        Ok(filed)
    }

    /// A draining worker hands the claimed attempt back (its node is being taken away): the task
    /// is queued again at once, as a new attempt, so another worker takes it now rather than after
    /// the lease expires. Fenced by the claim's token; `LeaseLost` if the claim no longer holds it.
    pub async fn hand_back(&self, mut claim: Claim, why: &str) -> ControlResult<()> {
        let token = claim.token.clone();
        let next = RunId(self.docs.next_ids("run", 1).await?);
        let max_losses = self.max_lease_losses;
        let (task, _) = self
            .update_claimed(&mut claim, false, |t| {
                t.hand_back(&token, now_ms(), next, max_losses, why)
                    .map(|()| true)
            })
            .await?;
        tracing::info!(run_id = %task.parent_run_id, task_key = %task.key(), next_attempt = task.attempt_number,
            why, "attempt handed back");
        if task.is_terminal() {
            self.runs.advance(task.parent_run_id).await?;
        }
        Ok(())
    }

    /// Applies a transition to the claimed task run, fenced by the claim's token (the transition
    /// refuses) and by version. The first attempt writes on top of the version this worker last
    /// wrote (no read); later ones read again. `lease_only` writes just the queue entry.
    /// `transition` says whether there is anything to write.
    async fn update_claimed(
        &self,
        claim: &mut Claim,
        lease_only: bool,
        transition: impl Fn(&mut TaskRun) -> DomainResult<bool>,
    ) -> ControlResult<(TaskRun, u64)> {
        let held = &*claim;
        let run_id = held.task.run_id;
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
                let write = transition(&mut doc).map_err(|source| ControlError::LeaseLost {
                    task_run: run_id,
                    source,
                })?;
                if !write {
                    return Ok((doc, version));
                }
                let version = match lease_only {
                    true => self.docs.touch(&doc, version).await?,
                    false => self.docs.replace(&doc, version).await?,
                };
                Ok((doc, version))
            }
        })
        .await?;
        claim.task = task.clone();
        claim.version = version;
        Ok((task, version))
    }
}

/// When the attempt must stop: the task's own timeout from its start, or the run's, whichever
/// comes first.
fn deadline(task: &TaskRun, run: &Run, now: i64) -> Option<Deadline> {
    let own = task.task.retry.timeout_ms().map(|ms| Deadline {
        at: now.saturating_add(ms),
        message: format!(
            "Task timed out after {} seconds (timeout_seconds)",
            ms / 1000
        ),
    });
    let run = run.deadline().map(|at| Deadline {
        at,
        message: format!(
            "Run timed out after {} seconds (timeout_seconds of the job)",
            run.timeout_seconds.unwrap_or_default()
        ),
    });
    match (own, run) {
        (Some(a), Some(b)) => Some(if a.at <= b.at { a } else { b }),
        (a, b) => a.or(b),
    }
}
