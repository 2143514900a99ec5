//! How domain objects are laid out as store items: keys, listing entries, queue and alias attributes.
//! One place, so the layout is read and written the same way everywhere.

use lakeplane_core::run::{Run, TaskRun};
use lakeplane_core::{JobId, RunId};
use lakeplane_store::{IndexEntry, Item, Key};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ControlError, ControlResult};
use crate::model::SavedQuery;

pub const JOBS: &str = "JOBS";
pub const RUNS: &str = "RUNS";
pub const QUERIES: &str = "QUERIES";
pub const RUN_SK: &str = "RUN";
pub const TASK_SK_PREFIX: &str = "TASK#";

/// Zero-padded so that string order is numeric order.
fn padded(n: u64) -> String {
    format!("{n:020}")
}

/// Newest first in an ascending listing.
fn newest_first(n: u64) -> String {
    padded(u64::MAX - n)
}

pub fn job_key(id: JobId) -> Key {
    Key::new(format!("JOB#{}", padded(id.0)), "JOB")
}

pub fn run_pk(id: RunId) -> String {
    format!("RUN#{}", padded(id.0))
}

pub fn run_key(id: RunId) -> Key {
    Key::new(run_pk(id), RUN_SK)
}

pub fn task_run_alias(id: RunId) -> String {
    format!("TASKRUN#{}", id.0)
}

pub fn query_key(id: &str) -> Key {
    Key::new(format!("QUERY#{id}"), "QUERY")
}

pub fn token_key(hash: &str) -> Key {
    Key::new(format!("TOKEN#{hash}"), "TOKEN")
}

pub fn runs_of_job(job: JobId) -> String {
    format!("JOB#{}#RUNS", padded(job.0))
}

pub fn encode<T: Serialize>(v: &T) -> ControlResult<String> {
    serde_json::to_string(v).map_err(|e| ControlError::Internal(format!("encode: {e}")))
}

pub fn decode<T: DeserializeOwned>(item: &Item) -> ControlResult<T> {
    serde_json::from_str(&item.body)
        .map_err(|e| ControlError::Internal(format!("stored item {} is unreadable: {e}", item.key)))
}

pub fn job_item(job: &lakeplane_core::job::Job) -> ControlResult<Item> {
    let mut item = Item::new(job_key(job.job_id), encode(job)?);
    item.collection = Some(IndexEntry::new(JOBS, padded(job.job_id.0)));
    Ok(item)
}

pub fn run_item(run: &Run) -> ControlResult<Item> {
    let mut item = Item::new(run_key(run.run_id), encode(run)?);
    item.collection = Some(IndexEntry::new(RUNS, newest_first(run.run_id.0)));
    item.parent = run
        .job_id
        .map(|j| IndexEntry::new(runs_of_job(j), newest_first(run.run_id.0)));
    Ok(item)
}

pub fn task_run_key(t: &TaskRun) -> Key {
    Key::new(
        run_pk(t.parent_run_id),
        format!("{TASK_SK_PREFIX}{}", t.key()),
    )
}

pub fn task_run_item(t: &TaskRun) -> ControlResult<Item> {
    let mut item = Item::new(task_run_key(t), encode(t)?);
    item.due_at = t.due_at();
    item.alias = Some(task_run_alias(t.run_id));
    Ok(item)
}

pub fn query_item(q: &SavedQuery) -> ControlResult<Item> {
    let mut item = Item::new(query_key(&q.id), encode(q)?);
    item.collection = Some(IndexEntry::new(
        QUERIES,
        format!("{}#{}", padded(q.created_ms.max(0) as u64), q.id),
    ));
    Ok(item)
}
