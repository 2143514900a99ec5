//! How each record is laid out in the state store: its key, its listings, its place in the work
//! queue and its alias. One place, matching `infra/dynamodb-table.md`.

mod catalog;
mod cluster;
pub mod mlflow;
mod sql;

use lakeplane_core::job::Job;
use lakeplane_core::run::{Run, TaskRun, TaskState, MAX_CLOCK_SKEW_MS};
use lakeplane_core::{JobId, RunId, TaskKey};
use lakeplane_store::{IndexEntry, Item, Key, QueueEntry};

pub use catalog::{functions_of, schemas_of, tables_of};
pub use cluster::{
    cluster_events, cluster_partition, is_node, node_alias, EventRef, NodeRef, StoredEvent,
    ACTIVE_CLUSTERS, CLUSTERS,
};

use crate::doc::Record;
use crate::queries::SavedQuery;
use crate::tokens::Token;

/// The listing of all jobs.
pub const JOBS: &str = "JOBS";
/// The listing of all runs, newest first.
pub const RUNS: &str = "RUNS";
/// The listing of all saved queries.
pub const QUERIES: &str = "QUERIES";
/// The listing of all catalogs, by name.
pub const CATALOGS: &str = "CATALOGS";
/// The listing of all users and service principals, by id.
pub const PRINCIPALS: &str = "PRINCIPALS";
/// The listing of all groups, by id.
pub const GROUPS: &str = "GROUPS";
/// The status listing of the statements that have ended, oldest first (for expiry).
pub const ENDED_STATEMENTS: &str = "ENDED_STATEMENTS";
/// The listing of all SQL warehouses, by id.
pub const WAREHOUSES: &str = "WAREHOUSES";
/// The status listing of the runs that have not ended, newest first.
pub const ACTIVE_RUNS: &str = "ACTIVE_RUNS";
/// The work queue tasks go to unless they name another (a cluster's or a warehouse's, later).
pub const DEFAULT_QUEUE: &str = "default";
/// The queue active runs wait in until the reconciler should look at them (`Run::check_at`).
pub const RECONCILE_QUEUE: &str = "reconcile";
const RUN_SK: &str = "RUN";
const TASK_SK_PREFIX: &str = "TASK#";

/// Zero-padded so that string order is numeric order.
pub(crate) fn padded(n: u64) -> String {
    format!("{n:020}")
}

/// Newest first in an ascending listing.
fn newest_first(n: u64) -> String {
    padded(u64::MAX - n)
}

/// The partition of a run and its task runs.
pub fn run_partition(id: RunId) -> String {
    format!("RUN#{}", padded(id.0))
}

/// The listing of the jobs with one name (names compare case-insensitively).
pub fn jobs_named(name: &str) -> String {
    format!("JOBNAME#{}", name.to_lowercase())
}

/// The listing of one job's runs, newest first.
pub fn runs_of_job(job: JobId) -> String {
    format!("JOB#{}#RUNS", padded(job.0))
}

/// What an item of a run's partition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPart {
    Run,
    Task,
    Other,
}

/// Which record an item of a run's partition holds.
pub fn run_part(item: &Item) -> RunPart {
    if item.key.sk == RUN_SK {
        RunPart::Run
    } else if item.key.sk.starts_with(TASK_SK_PREFIX) {
        RunPart::Task
    } else {
        RunPart::Other
    }
}

impl Record for Job {
    const KIND: &'static str = "Job";
    type Id = JobId;

    fn key_of(id: &JobId) -> Key {
        Key::new(format!("JOB#{}", padded(id.0)), "JOB")
    }

    fn id(&self) -> JobId {
        self.job_id
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(JOBS, padded(self.job_id.0)));
        item.parent = Some(IndexEntry::new(
            jobs_named(self.settings.display_name()),
            padded(self.job_id.0),
        ));
    }
}

impl Record for Run {
    const KIND: &'static str = "Run";
    type Id = RunId;

    fn key_of(id: &RunId) -> Key {
        Key::new(run_partition(*id), RUN_SK)
    }

    fn id(&self) -> RunId {
        self.run_id
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(RUNS, newest_first(self.run_id.0)));
        item.parent = self
            .job_id
            .map(|j| IndexEntry::new(runs_of_job(j), newest_first(self.run_id.0)));
        item.status = (!self.is_terminal())
            .then(|| IndexEntry::new(ACTIVE_RUNS, newest_first(self.run_id.0)));
        item.queue = match self.is_terminal() {
            true => None,
            false => Some(QueueEntry::new(
                RECONCILE_QUEUE,
                self.check_at.unwrap_or(self.start_time),
            )),
        };
    }

    /// The reconciler reschedules a run by moving only its queue entry.
    fn restore(&mut self, item: &Item) {
        if let Some(q) = item.queue.as_ref().filter(|_| !self.is_terminal()) {
            self.check_at = Some(q.due_at);
        }
    }
}

/// A task run's place: its run and its task's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRunRef {
    pub parent: RunId,
    pub task_key: TaskKey,
}

impl std::fmt::Display for TaskRunRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of run {}", self.task_key, self.parent)
    }
}

/// The work queue a task run waits in: its cluster's, or the default one.
pub fn task_queue(task: &TaskRun) -> String {
    match &task.cluster_id {
        Some(c) => lakeplane_core::cluster::cluster_queue(c),
        None => DEFAULT_QUEUE.to_string(),
    }
}

/// The alias under which a task run is found by its own run id.
pub fn task_run_alias(id: RunId) -> String {
    format!("TASKRUN#{}", id.0)
}

impl Record for TaskRun {
    const KIND: &'static str = "Task";
    type Id = TaskRunRef;

    fn key_of(id: &TaskRunRef) -> Key {
        Key::new(
            run_partition(id.parent),
            format!("{TASK_SK_PREFIX}{}", id.task_key),
        )
    }

    fn id(&self) -> TaskRunRef {
        TaskRunRef {
            parent: self.parent_run_id,
            task_key: self.key().clone(),
        }
    }

    fn layout(&self, item: &mut Item) {
        item.queue = self.due_at().map(|d| QueueEntry::new(task_queue(self), d));
        item.alias = Some(task_run_alias(self.run_id));
    }

    /// Heartbeats renew a lease by moving only the queue entry ([`crate::doc::Documents::touch`]),
    /// so the stored body keeps the expiry of the claim; the entry is the current one.
    fn restore(&mut self, item: &Item) {
        if let (TaskState::Running, Some(lease), Some(q)) =
            (self.state, self.lease.as_mut(), item.queue.as_ref())
        {
            lease.expires_at = q.due_at - MAX_CLOCK_SKEW_MS;
        }
    }
}

impl Record for SavedQuery {
    const KIND: &'static str = "Query";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("QUERY#{id}"), "QUERY")
    }

    fn id(&self) -> String {
        self.id.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(
            QUERIES,
            format!("{}#{}", padded(self.created_ms.max(0) as u64), self.id),
        ));
    }
}

impl Record for Token {
    const KIND: &'static str = "Token";
    type Id = String;

    fn key_of(hash: &String) -> Key {
        Key::new(format!("TOKEN#{hash}"), "TOKEN")
    }

    fn id(&self) -> String {
        self.token_hash.clone()
    }

    /// Tokens made by the token API are listed under their principal.
    fn layout(&self, item: &mut Item) {
        if let Some(id) = &self.token_id {
            item.parent = Some(IndexEntry::new(
                tokens_of(&self.principal.user_name),
                id.clone(),
            ));
        }
    }
}

/// The listing of a principal's tokens, by token id.
pub fn tokens_of(user_name: &str) -> String {
    format!("PRINCIPAL#{user_name}#TOKENS")
}
