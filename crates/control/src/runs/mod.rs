//! Runs: start them (run-now, submit: [`start`]), read, list, cancel and delete them, and move them
//! forward as their tasks end ([`Runs::advance`]).

mod start;

use std::collections::BTreeMap;

use lakeplane_core::run::{self, Run, TaskRun};
use lakeplane_core::{JobId, RunId};
use lakeplane_store::Index;

use crate::doc::{retry, Documents, PageRequest, Paged, Record, Versioned};
use crate::error::{ControlError, ControlResult};
use crate::layout::{
    run_part, run_partition, runs_of_job, task_run_alias, RunPart, ACTIVE_RUNS, RUNS,
};
use crate::time::now_ms;
use crate::views::RunView;

/// Filters of `runs/list`.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job_id: Option<JobId>,
    pub active_only: bool,
    pub completed_only: bool,
}

/// What `run-now` asks for beyond the job.
#[derive(Debug, Clone, Default)]
pub struct RunNow {
    /// Overrides of the job's parameter defaults; each must name a defined parameter.
    pub job_parameters: BTreeMap<String, String>,
    /// Legacy overrides of the SQL tasks' own parameters.
    pub sql_params: BTreeMap<String, String>,
}

/// A run and its task runs with the versions they were read at.
struct VersionedRun {
    run: Versioned<Run>,
    tasks: Vec<Versioned<TaskRun>>,
}

impl VersionedRun {
    fn view(self) -> RunView {
        RunView {
            run: self.run.doc,
            tasks: self.tasks.into_iter().map(|t| t.doc).collect(),
        }
    }
}

/// The runs area.
#[derive(Debug, Clone)]
pub struct Runs {
    docs: Documents,
    /// How long after its start the reconciler first looks at a run.
    first_check_ms: i64,
}

impl Runs {
    pub(crate) fn new(docs: Documents, first_check: std::time::Duration) -> Runs {
        Runs {
            docs,
            first_check_ms: i64::try_from(first_check.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// A run and its task runs.
    pub async fn get(&self, id: RunId) -> ControlResult<RunView> {
        Ok(self.read(id).await?.view())
    }

    /// The run and its task runs (in task-run id order, i.e. the job's order), with versions.
    async fn read(&self, id: RunId) -> ControlResult<VersionedRun> {
        let mut run = None;
        let mut tasks: Vec<Versioned<TaskRun>> = Vec::new();
        for item in self.docs.partition(&run_partition(id)).await? {
            match run_part(&item) {
                RunPart::Run => run = Some(Versioned::from_item(&item)?),
                RunPart::Task => tasks.push(Versioned::from_item(&item)?),
                RunPart::Other => {}
            }
        }
        let Some(run) = run else {
            return Err(ControlError::NotFound {
                kind: Run::KIND,
                name: id.to_string(),
            });
        };
        tasks.sort_by_key(|t| t.doc.position());
        Ok(VersionedRun { run, tasks })
    }

    /// Runs newest first, optionally of one job, with their tasks if `expand_tasks`.
    pub async fn list(
        &self,
        filter: &RunFilter,
        request: &PageRequest,
        expand_tasks: bool,
    ) -> ControlResult<Paged<RunView>> {
        if filter.active_only && filter.completed_only {
            return Err(ControlError::InvalidParameter(
                "active_only and completed_only cannot both be true".into(),
            ));
        }
        // Active runs are few and have a listing of their own; a job's runs, or all runs, are read
        // from theirs (a job's active runs: the active listing, kept to the job's).
        let (index, partition) = match (filter.active_only, filter.job_id) {
            (true, _) => (Index::Status, ACTIVE_RUNS.to_string()),
            (false, Some(j)) => (Index::Parent, runs_of_job(j)),
            (false, None) => (Index::Collection, RUNS.to_string()),
        };
        let page = self
            .docs
            .list(index, &partition, request, |r: &Run| {
                (!filter.active_only || !r.is_terminal())
                    && (!filter.completed_only || r.is_terminal())
                    && filter.job_id.is_none_or(|j| r.job_id == Some(j))
            })
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for run in page.items {
            items.push(match expand_tasks {
                true => self.get(run.run_id).await?,
                false => RunView { run, tasks: vec![] },
            });
        }
        Ok(Paged {
            items,
            next_page_token: page.next_page_token,
        })
    }

    /// Asks a run to stop: waiting tasks are cancelled at once, running ones at their worker's next
    /// heartbeat. Idempotent: calling it again (after a failure part-way) carries the cancellation
    /// on until the run has ended.
    pub async fn cancel(&self, id: RunId) -> ControlResult<()> {
        let (run, changed) = self
            .docs
            .update(&id, |run: &mut Run| Ok(run.request_cancel()))
            .await?;
        if changed {
            tracing::info!(run_id = %id, "run cancel requested");
        }
        if run.is_terminal() {
            return Ok(());
        }
        self.advance(id).await
    }

    /// Deletes an ended run and its task runs.
    pub async fn delete(&self, id: RunId) -> ControlResult<()> {
        let run = self.read(id).await?;
        if !run.run.doc.is_terminal() {
            return Err(ControlError::InvalidState(format!(
                "Run {id} is still active; cancel it before deleting it."
            )));
        }
        for t in &run.tasks {
            self.docs.remove(&TaskRun::key_of(&t.doc.id())).await?;
        }
        self.docs.remove(&Run::key_of(&id)).await
    }

    /// The output of one task run, with its parent run. A run id with exactly one task is accepted too.
    pub async fn output(&self, id: RunId) -> ControlResult<(RunView, TaskRun)> {
        if let Some(task) = self.docs.by_alias::<TaskRun>(&task_run_alias(id)).await? {
            let parent = self.get(task.doc.parent_run_id).await?;
            return Ok((parent, task.doc));
        }
        let view = self.get(id).await?;
        match view.tasks.as_slice() {
            [only] => {
                let only = only.clone();
                Ok((view, only))
            }
            _ => Err(ControlError::InvalidParameter(format!(
                "Retrieving the output of runs with multiple tasks is not supported. \
                 Pass the run_id of one task run (runs/get lists them) instead of run {id}."
            ))),
        }
    }

    /// Moves a run forward: queues tasks whose dependencies ended, skips tasks that can no longer run,
    /// and ends the run when every task has ended. Safe to call from many places at once.
    pub async fn advance(&self, id: RunId) -> ControlResult<()> {
        retry(Run::KIND, id, |_| async {
            let VersionedRun { run, tasks } = self.read(id).await?;
            let (mut docs, versions): (Vec<TaskRun>, Vec<u64>) =
                tasks.into_iter().map(|t| (t.doc, t.version)).unzip();
            let now = now_ms();
            let plan = run::plan(&run.doc, &docs, now);
            if plan.is_empty() {
                return Ok(());
            }
            for (doc, version) in docs.iter_mut().zip(versions) {
                if plan.queue.contains(doc.key()) {
                    doc.unblock(now)?;
                } else if plan.interrupt.contains(doc.key()) {
                    doc.cancel_requested = true;
                } else if let Some((_, result, msg)) =
                    plan.skip.iter().find(|(k, _, _)| k == doc.key())
                {
                    doc.skip(*result, msg.clone(), now)?;
                } else {
                    continue;
                }
                self.docs.replace(&*doc, version).await?;
            }
            if let Some((result, message)) = plan.finish {
                let Versioned { mut doc, version } = run;
                doc.terminate(result, message, now)?;
                self.docs.replace(&doc, version).await?;
                tracing::info!(run_id = %id, result = ?result, "run ended");
            }
            Ok(())
        })
        .await
    }

    /// After the reconciler looked at run `id` at `now`: when it should look again (later the
    /// older the run), written as the run's queue entry only. Nothing for an ended run.
    pub(crate) async fn reschedule(&self, id: RunId, now: i64) -> ControlResult<()> {
        retry(Run::KIND, id, |_| async {
            let Versioned { mut doc, version } = self.docs.get::<Run>(&id).await?;
            if doc.is_terminal() {
                return Ok(());
            }
            doc.check_at = Some(doc.next_check(now, self.first_check_ms));
            self.docs.touch(&doc, version).await.map(|_| ())
        })
        .await
    }
}
