//! Control-plane use cases over the state store port: jobs, runs, the task lease protocol that workers
//! follow, saved queries and API tokens. The API handlers and the worker call these; neither touches the
//! store directly.
//!
//! Every state change is a read, a domain transition, and a write conditional on the version read. On a
//! conflict the use case reads again and re-applies the transition, so concurrent API calls and workers
//! converge without locks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use lakeplane_control::Control;
//! use lakeplane_store::embedded::EmbeddedStore;
//! let control = Control::new(Arc::new(EmbeddedStore::open("/tmp/state.db").await?));
//! let settings = lakeplane_core::job::JobSettings::from_json(serde_json::json!({
//!     "name": "j", "tasks": [{"task_key": "a", "sql_task": {"file": {"path": "/a.sql"}}}]}))?;
//! let job = control.create_job(settings, "me").await?;
//! let run = control.run_now(job, Default::default(), Default::default(), "me").await?;
//! # Ok(()) }
//! ```

pub mod error;
pub mod model;
pub mod records;
pub mod time;

use std::collections::BTreeMap;
use std::sync::Arc;

use lakeplane_core::job::{Job, JobSettings, Task};
use lakeplane_core::run::{
    self, Run, RunState, RunType, TaskOutput, TaskResult, TaskRun, TaskState,
};
use lakeplane_core::{JobId, RunId};
use lakeplane_store::{cursor_after, Index, Item, Key, StateStore, StoreError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use error::{ControlError, ControlResult};
pub use model::{Claim, Heartbeat, Paged, Principal, RunView, SavedQuery};
use records::*;
use time::now_ms;

/// How many times a read-modify-write is retried on a version conflict before giving up.
const MAX_CONFLICT_RETRIES: usize = 32;

/// Maps a store miss to a `NotFound` that names the object: "Job 7 does not exist.".
fn missing(what: impl std::fmt::Display) -> impl FnOnce(StoreError) -> ControlError {
    move |e| match e {
        StoreError::NotFound(_) => ControlError::NotFound(format!("{what} does not exist.")),
        e => e.into(),
    }
}

/// The control plane's use cases, over one state store.
#[derive(Clone)]
pub struct Control {
    store: Arc<dyn StateStore>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

/// Filters of `runs/list`.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job_id: Option<JobId>,
    pub active_only: bool,
    pub completed_only: bool,
}

impl Control {
    pub fn new(store: Arc<dyn StateStore>) -> Control {
        Control { store }
    }

    // ---- jobs ----------------------------------------------------------------------------------

    /// Validates and stores a new job.
    pub async fn create_job(&self, settings: JobSettings, creator: &str) -> ControlResult<JobId> {
        settings.validate()?;
        let id = JobId(self.store.increment("job", 1).await?);
        let job = Job {
            job_id: id,
            created_time: now_ms(),
            creator_user_name: creator.to_string(),
            settings,
        };
        self.store.insert(vec![job_item(&job)?]).await?;
        tracing::info!(job_id = %id, "job created");
        Ok(id)
    }

    pub async fn get_job(&self, id: JobId) -> ControlResult<Job> {
        self.read(&job_key(id), format!("Job {id}")).await
    }

    /// Reads one document; a missing one is `NotFound` naming `what`.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        key: &Key,
        what: impl std::fmt::Display,
    ) -> ControlResult<T> {
        decode(&self.store.get(key).await.map_err(missing(what))?)
    }

    /// Read-modify-write of one document, retried on version conflicts: `f` changes the document and
    /// says whether it did (nothing is written when it did not). Returns the document as stored and
    /// whether this call changed it. A missing document is `NotFound` naming `what`.
    async fn update<T: serde::de::DeserializeOwned>(
        &self,
        key: &Key,
        what: impl std::fmt::Display,
        to_item: impl Fn(&T) -> ControlResult<Item>,
        f: impl Fn(&mut T) -> ControlResult<bool>,
    ) -> ControlResult<(T, bool)> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let item = self.store.get(key).await.map_err(missing(&what))?;
            let mut doc: T = decode(&item)?;
            if !f(&mut doc)? {
                return Ok((doc, false));
            }
            match self.store.replace(to_item(&doc)?, item.version).await {
                Ok(_) => return Ok((doc, true)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ControlError::Conflict(format!(
            "{what} is being changed concurrently; try again"
        )))
    }

    /// Jobs in id order. `name` keeps only jobs with exactly that name (case-insensitive).
    pub async fn list_jobs(
        &self,
        limit: usize,
        page_token: Option<&str>,
        offset: usize,
        name: Option<&str>,
    ) -> ControlResult<Paged<Job>> {
        self.list_filtered(
            Index::Collection,
            JOBS,
            limit,
            page_token,
            offset,
            |j: &Job| name.is_none_or(|n| j.settings.display_name().eq_ignore_ascii_case(n)),
        )
        .await
    }

    /// One page of a listing: up to `limit` items that pass `keep`, after skipping `offset` of them
    /// (the legacy offset), with a token that resumes right after the last item returned.
    async fn list_filtered<T: serde::de::DeserializeOwned>(
        &self,
        index: Index,
        partition: &str,
        limit: usize,
        page_token: Option<&str>,
        offset: usize,
        keep: impl Fn(&T) -> bool,
    ) -> ControlResult<Paged<T>> {
        let mut items = Vec::new();
        let mut skip = offset;
        let mut after = page_token.map(str::to_string);
        loop {
            let page = self
                .store
                .list(index, partition, limit, after.as_deref())
                .await?;
            let count = page.items.len();
            for (i, item) in page.items.iter().enumerate() {
                let v: T = decode(item)?;
                if !keep(&v) {
                    continue;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                items.push(v);
                if items.len() == limit {
                    let exhausted = i + 1 == count && page.next.is_none();
                    let next_page_token = (!exhausted).then(|| cursor_after(index, item));
                    return Ok(Paged {
                        items,
                        next_page_token,
                    });
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => {
                    return Ok(Paged {
                        items,
                        next_page_token: None,
                    })
                }
            }
        }
    }

    /// Replaces a job's settings (`jobs/reset`).
    pub async fn reset_job(&self, id: JobId, settings: JobSettings) -> ControlResult<()> {
        settings.validate()?;
        self.modify_job(id, |_| Ok(settings.clone())).await
    }

    /// Partially updates a job's settings (`jobs/update`).
    pub async fn update_job(
        &self,
        id: JobId,
        new_settings: Map<String, Value>,
        fields_to_remove: Vec<String>,
    ) -> ControlResult<()> {
        self.modify_job(id, |s| {
            Ok(s.apply_update(new_settings.clone(), &fields_to_remove)?)
        })
        .await
    }

    async fn modify_job(
        &self,
        id: JobId,
        f: impl Fn(&JobSettings) -> ControlResult<JobSettings>,
    ) -> ControlResult<()> {
        self.update(
            &job_key(id),
            format!("Job {id}"),
            job_item,
            |job: &mut Job| {
                job.settings = f(&job.settings)?;
                Ok(true)
            },
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_job(&self, id: JobId) -> ControlResult<()> {
        self.store
            .delete(&job_key(id), None)
            .await
            .map_err(missing(format!("Job {id}")))
    }

    // ---- runs ----------------------------------------------------------------------------------

    /// Starts a run of a job (`jobs/run-now`). `job_parameters` override the job's parameter defaults
    /// and must name defined parameters; `sql_params` (legacy, free-form) are added as given.
    pub async fn run_now(
        &self,
        job_id: JobId,
        job_parameters: BTreeMap<String, String>,
        sql_params: BTreeMap<String, String>,
        creator: &str,
    ) -> ControlResult<RunId> {
        let job = self.get_job(job_id).await?;
        if job.settings.tasks.is_empty() {
            return Err(ControlError::InvalidParameter(format!(
                "Job {job_id} has no tasks to run."
            )));
        }
        let mut params: BTreeMap<String, String> = job
            .settings
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        for (k, v) in job_parameters {
            if !params.contains_key(&k) {
                return Err(ControlError::InvalidParameter(format!(
                    "job_parameters: '{k}' is not a parameter of job {job_id}"
                )));
            }
            params.insert(k, v);
        }
        params.extend(sql_params);
        self.start_run(
            Some(job_id),
            job.settings.display_name().to_string(),
            RunType::JobRun,
            job.settings.tasks,
            params,
            creator,
        )
        .await
    }

    /// Starts a one-time run of tasks that belong to no job (`jobs/runs/submit`).
    pub async fn submit_run(
        &self,
        run_name: Option<String>,
        tasks: Vec<Task>,
        creator: &str,
    ) -> ControlResult<RunId> {
        let settings = JobSettings {
            name: run_name,
            tasks,
            ..Default::default()
        };
        settings.validate()?;
        if settings.tasks.is_empty() {
            return Err(ControlError::InvalidParameter(
                "tasks must not be empty".into(),
            ));
        }
        let name = settings.display_name().to_string();
        self.start_run(
            None,
            name,
            RunType::SubmitRun,
            settings.tasks,
            BTreeMap::new(),
            creator,
        )
        .await
    }

    async fn start_run(
        &self,
        job_id: Option<JobId>,
        run_name: String,
        run_type: RunType,
        tasks: Vec<Task>,
        job_parameters: BTreeMap<String, String>,
        creator: &str,
    ) -> ControlResult<RunId> {
        let n = tasks.len() as u64;
        let last = self.store.increment("run", n + 1).await?;
        let run_id = RunId(last - n);
        let now = now_ms();
        let run = Run {
            run_id,
            job_id,
            run_name,
            run_type,
            creator_user_name: creator.to_string(),
            job_parameters,
            state: RunState::Pending,
            state_message: String::new(),
            start_time: now,
            end_time: None,
            user_cancelled: false,
        };
        let mut items = vec![run_item(&run)?];
        for (i, task) in tasks.into_iter().enumerate() {
            let tr = TaskRun::new(RunId(run_id.0 + 1 + i as u64), run_id, task, now);
            items.push(task_run_item(&tr)?);
        }
        self.store.insert(items).await?;
        tracing::info!(run_id = %run_id, job_id = ?job_id.map(|j| j.0), tasks = n, "run created");
        Ok(run_id)
    }

    /// A run and its task runs.
    pub async fn get_run(&self, id: RunId) -> ControlResult<RunView> {
        Ok(self.read_run(id).await?.0)
    }

    /// The run, its task runs, and the versions read (run first, then tasks in the same order).
    async fn read_run(&self, id: RunId) -> ControlResult<(RunView, u64, Vec<u64>)> {
        let items = self.store.query_partition(&run_pk(id)).await?;
        let mut run: Option<(Run, u64)> = None;
        let mut tasks: Vec<(TaskRun, u64)> = Vec::new();
        for item in &items {
            if item.key.sk == RUN_SK {
                run = Some((decode(item)?, item.version));
            } else if item.key.sk.starts_with(TASK_SK_PREFIX) {
                tasks.push((decode(item)?, item.version));
            }
        }
        let Some((run, version)) = run else {
            return Err(ControlError::NotFound(format!("Run {id} does not exist.")));
        };
        tasks.sort_by_key(|(t, _)| t.run_id);
        let (tasks, versions): (Vec<TaskRun>, Vec<u64>) = tasks.into_iter().unzip();
        Ok((RunView { run, tasks }, version, versions))
    }

    /// Runs newest first, optionally of one job, with their tasks if `expand_tasks`.
    pub async fn list_runs(
        &self,
        filter: &RunFilter,
        limit: usize,
        page_token: Option<&str>,
        offset: usize,
        expand_tasks: bool,
    ) -> ControlResult<Paged<RunView>> {
        if filter.active_only && filter.completed_only {
            return Err(ControlError::InvalidParameter(
                "active_only and completed_only cannot both be true".into(),
            ));
        }
        let (index, partition) = match filter.job_id {
            Some(j) => (Index::Parent, runs_of_job(j)),
            None => (Index::Collection, RUNS.to_string()),
        };
        let page = self
            .list_filtered(index, &partition, limit, page_token, offset, |r: &Run| {
                (!filter.active_only || !r.is_terminal())
                    && (!filter.completed_only || r.is_terminal())
            })
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for run in page.items {
            if expand_tasks {
                items.push(self.get_run(run.run_id).await?);
            } else {
                items.push(RunView { run, tasks: vec![] });
            }
        }
        Ok(Paged {
            items,
            next_page_token: page.next_page_token,
        })
    }

    /// Asks a run to stop: waiting tasks are cancelled at once, running ones at their next heartbeat.
    pub async fn cancel_run(&self, id: RunId) -> ControlResult<()> {
        let (_, changed) = self
            .update(
                &run_key(id),
                format!("Run {id}"),
                run_item,
                |run: &mut Run| Ok(run.request_cancel()),
            )
            .await?;
        if !changed {
            return Ok(());
        }
        tracing::info!(run_id = %id, "run cancel requested");
        self.flag_running_tasks_cancelled(id).await?;
        self.advance(id).await
    }

    async fn flag_running_tasks_cancelled(&self, id: RunId) -> ControlResult<()> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let (view, _, versions) = self.read_run(id).await?;
            let mut clean = true;
            for (mut t, v) in view.tasks.into_iter().zip(versions) {
                if t.state == TaskState::Running && !t.cancel_requested {
                    t.cancel_requested = true;
                    match self.store.replace(task_run_item(&t)?, v).await {
                        Ok(_) => {}
                        Err(StoreError::Conflict(_)) => clean = false,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            if clean {
                return Ok(());
            }
        }
        Err(ControlError::Conflict(format!(
            "run {id} is changing; try again"
        )))
    }

    /// Deletes an ended run and its task runs.
    pub async fn delete_run(&self, id: RunId) -> ControlResult<()> {
        let (view, _, _) = self.read_run(id).await?;
        if !view.run.is_terminal() {
            return Err(ControlError::InvalidState(format!(
                "Run {id} is still active; cancel it before deleting it."
            )));
        }
        for item in self.store.query_partition(&run_pk(id)).await? {
            match self.store.delete(&item.key, None).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The output of one task run, with its parent run. A run id with exactly one task is accepted too.
    pub async fn get_output(&self, id: RunId) -> ControlResult<(RunView, TaskRun)> {
        match self.store.get_by_alias(&task_run_alias(id)).await {
            Ok(item) => {
                let task: TaskRun = decode(&item)?;
                let parent = self.get_run(task.parent_run_id).await?;
                return Ok((parent, task));
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let view = self.get_run(id).await?;
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
        'again: for _ in 0..MAX_CONFLICT_RETRIES {
            let (view, run_version, versions) = self.read_run(id).await?;
            let plan = run::plan(&view.run, &view.tasks);
            if plan.is_empty() {
                return Ok(());
            }
            let now = now_ms();
            for (t, v) in view.tasks.iter().zip(&versions) {
                let mut t = t.clone();
                if plan.queue.contains(t.key()) {
                    t.unblock(now)?;
                } else if let Some((_, result, msg)) =
                    plan.skip.iter().find(|(k, _, _)| k == t.key())
                {
                    t.skip(*result, msg.clone(), now)?;
                } else {
                    continue;
                }
                match self.store.replace(task_run_item(&t)?, *v).await {
                    Ok(_) => {}
                    Err(StoreError::Conflict(_)) => continue 'again,
                    Err(e) => return Err(e.into()),
                }
            }
            if let Some((result, message)) = plan.finish {
                let mut run = view.run;
                run.terminate(result, message, now)?;
                match self.store.replace(run_item(&run)?, run_version).await {
                    Ok(_) => {
                        tracing::info!(run_id = %id, result = ?result, "run ended");
                        return Ok(());
                    }
                    Err(StoreError::Conflict(_)) => continue 'again,
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(());
        }
        Err(ControlError::Conflict(format!(
            "run {id} kept changing while advancing it"
        )))
    }

    // ---- the worker's lease protocol --------------------------------------------------------------

    /// Claims one due task run for `worker`: a queued one, or a running one whose lease expired (its
    /// worker died). Returns `None` when nothing is due.
    pub async fn claim_next(&self, worker: &str, lease_ms: i64) -> ControlResult<Option<Claim>> {
        let now = now_ms();
        for item in self.store.due(now, 16).await? {
            let mut task: TaskRun = decode(&item)?;
            if task.claim(worker, now, lease_ms).is_err() {
                continue;
            }
            let version = match self
                .store
                .replace(task_run_item(&task)?, item.version)
                .await
            {
                Ok(v) => v,
                // Another worker won this one (or it changed); try the next.
                Err(StoreError::Conflict(_)) | Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if task.executions > 1 {
                tracing::warn!(task_run_id = %task.run_id, executions = task.executions,
                    "claimed a task whose previous worker's lease expired");
            }
            let run = self.mark_run_started(task.parent_run_id).await?;
            return Ok(Some(Claim {
                worker: worker.to_string(),
                job_parameters: run.job_parameters,
                task,
                version,
            }));
        }
        Ok(None)
    }

    async fn mark_run_started(&self, id: RunId) -> ControlResult<Run> {
        self.update(
            &run_key(id),
            format!("Run {id}"),
            run_item,
            |run: &mut Run| Ok(run.start()?),
        )
        .await
        .map(|(run, _)| run)
    }

    /// Renews the claim's lease. `Cancel` means the run was cancelled; `LeaseLost` means another worker
    /// took the task over and this one must drop its work.
    pub async fn heartbeat(&self, claim: &mut Claim, lease_ms: i64) -> ControlResult<Heartbeat> {
        let worker = claim.worker.clone();
        self.update_claimed(claim, |t| t.heartbeat(&worker, now_ms(), lease_ms))
            .await
            .map(|t| {
                if t.cancel_requested {
                    Heartbeat::Cancel
                } else {
                    Heartbeat::Continue
                }
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
        self.advance(run_id).await
    }

    /// Applies a transition to the claimed task run, re-reading on conflicts (a cancel flag may have
    /// been set meanwhile). A refused transition means the lease is gone.
    async fn update_claimed(
        &self,
        claim: &mut Claim,
        f: impl Fn(&mut TaskRun) -> lakeplane_core::DomainResult<()>,
    ) -> ControlResult<TaskRun> {
        let key = task_run_key(&claim.task);
        let mut version = claim.version;
        let mut task = claim.task.clone();
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut next = task.clone();
            f(&mut next).map_err(|e| ControlError::LeaseLost(e.to_string()))?;
            match self.store.replace(task_run_item(&next)?, version).await {
                Ok(v) => {
                    claim.version = v;
                    claim.task = next.clone();
                    return Ok(next);
                }
                Err(StoreError::Conflict(_)) => {
                    let item = self.store.get(&key).await?;
                    task = decode(&item)?;
                    version = item.version;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ControlError::Conflict(format!(
            "task run {} kept changing",
            claim.task.run_id
        )))
    }

    // ---- saved queries -----------------------------------------------------------------------------

    pub async fn create_query(
        &self,
        display_name: String,
        query_text: String,
        warehouse_id: Option<String>,
        description: Option<String>,
        owner: &str,
    ) -> ControlResult<SavedQuery> {
        if query_text.trim().is_empty() {
            return Err(ControlError::InvalidParameter(
                "query.query_text must not be empty".into(),
            ));
        }
        let now = now_ms();
        let q = SavedQuery {
            id: new_query_id(now, self.store.increment("query", 1).await?),
            display_name,
            query_text,
            warehouse_id,
            description,
            owner_user_name: owner.to_string(),
            created_ms: now,
            updated_ms: now,
        };
        self.store.insert(vec![query_item(&q)?]).await?;
        Ok(q)
    }

    pub async fn get_query(&self, id: &str) -> ControlResult<SavedQuery> {
        self.read(&query_key(id), format!("Query {id}")).await
    }

    pub async fn list_queries(
        &self,
        limit: usize,
        page_token: Option<&str>,
    ) -> ControlResult<Paged<SavedQuery>> {
        self.list_filtered(
            Index::Collection,
            QUERIES,
            limit,
            page_token,
            0,
            |_: &SavedQuery| true,
        )
        .await
    }

    pub async fn delete_query(&self, id: &str) -> ControlResult<()> {
        self.store
            .delete(&query_key(id), None)
            .await
            .map_err(missing(format!("Query {id}")))
    }

    // ---- tokens ----------------------------------------------------------------------------------

    /// Stores a token for a user. Only its SHA-256 is kept.
    pub async fn add_token(&self, token: &str, user_name: &str) -> ControlResult<()> {
        let principal = Principal {
            user_name: user_name.to_string(),
        };
        let item = Item::new(token_key(&hash_token(token)), encode(&principal)?);
        match self.store.insert(vec![item.clone()]).await {
            Ok(()) => Ok(()),
            Err(StoreError::AlreadyExists(_)) => {
                let old = self.store.get(&item.key).await?;
                self.store.replace(item, old.version).await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The principal a token belongs to, or `None` for an unknown token.
    pub async fn authenticate(&self, token: &str) -> ControlResult<Option<Principal>> {
        match self.store.get(&token_key(&hash_token(token))).await {
            Ok(item) => Ok(Some(decode(&item)?)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A query id shaped like Databricks' (a UUID), unique from the counter and time.
fn new_query_id(now: i64, n: u64) -> String {
    let h = Sha256::digest(format!("{now}:{n}").as_bytes());
    let x = hex::encode(&h[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}
