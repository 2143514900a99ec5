//! Control-plane use cases over real stores, with faults injected where the contract is about them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::sync::Arc;

use lakeplane_control::{Control, ControlError, PageRequest};
use lakeplane_core::job::JobSettings;
use lakeplane_core::JobId;
use lakeplane_store::testing::{Fault, FaultyStore, Op};
use lakeplane_store::StoreError;
use serde_json::{json, Map};

mod catalogs;
mod sql;

fn settings(name: &str) -> JobSettings {
    JobSettings::from_json(json!({"name": name, "tasks": [
        {"task_key": "a", "sql_task": {"file": {"path": "/a.sql"}}}]}))
    .unwrap()
}

async fn faulty() -> (Control, Arc<FaultyStore>) {
    let store = Arc::new(FaultyStore::new(lakeplane_testing::embedded_store().await));
    (Control::new(store.clone()), store)
}

#[tokio::test]
async fn an_update_retries_version_conflicts_then_gives_up_with_a_conflict() {
    let (control, store) = faulty().await;
    let id = control.jobs().create(settings("j"), "me").await.unwrap();
    for _ in 0..3 {
        store.inject(Op::Replace, Fault::Conflict);
    }
    let rename = |name: &str| {
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m
    };
    control
        .jobs()
        .update(id, rename("renamed"), vec![])
        .await
        .unwrap();
    assert_eq!(
        store.calls(Op::Replace),
        4,
        "three conflicts, then the write"
    );
    assert_eq!(store.pending(), 0);

    for _ in 0..40 {
        store.inject(Op::Replace, Fault::Conflict);
    }
    let err = control
        .jobs()
        .update(id, rename("never"), vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ControlError::Conflict { kind: "Job", name } if name == &id.to_string()),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(
        err.to_string(),
        format!("Job {id} is being changed concurrently; try again.")
    );
    let job = control.jobs().get(id).await.unwrap();
    assert_eq!(
        job.settings.name.as_deref(),
        Some("renamed"),
        "nothing half-written"
    );
}

#[tokio::test]
async fn store_failures_keep_their_source_and_are_transient() {
    let (control, store) = faulty().await;
    store.inject(Op::Get, Fault::Unavailable);
    let err = control.jobs().get(JobId(1)).await.unwrap_err();
    assert!(
        matches!(&err, ControlError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(std::error::Error::source(&err).is_some() || err.to_string().contains("injected"));
}

#[tokio::test]
async fn a_missing_object_is_named() {
    let (control, _) = faulty().await;
    let err = control.jobs().get(JobId(7)).await.unwrap_err();
    assert!(matches!(&err, ControlError::NotFound { kind: "Job", .. }));
    assert_eq!(err.to_string(), "Job 7 does not exist.");
    let err = control
        .runs()
        .get(lakeplane_core::RunId(9))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Run 9 does not exist.");
    let err = control.queries().get("nope").await.unwrap_err();
    assert_eq!(err.to_string(), "Query nope does not exist.");
}

#[tokio::test]
async fn filtered_listings_resume_exactly_after_the_last_item() {
    let (control, _) = faulty().await;
    let mut wanted = Vec::new();
    for i in 0..9 {
        let name = if i % 3 == 0 { "keep" } else { "other" };
        let id = control.jobs().create(settings(name), "me").await.unwrap();
        if name == "keep" {
            wanted.push(id);
        }
    }
    let mut seen = Vec::new();
    let mut request = PageRequest {
        limit: 2,
        ..Default::default()
    };
    loop {
        let page = control.jobs().list(&request, Some("KEEP")).await.unwrap();
        seen.extend(page.items.iter().map(|j| j.job_id));
        match page.next_page_token {
            Some(t) => request.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, wanted, "each matching job once, in order");
    let offset = control
        .jobs()
        .list(
            &PageRequest {
                limit: 5,
                offset: 2,
                ..Default::default()
            },
            Some("keep"),
        )
        .await
        .unwrap();
    assert_eq!(
        offset.items.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        wanted[2..]
    );
    assert!(offset.next_page_token.is_none());
}

/// `jobs/list?name=` and `runs/list?active_only=true` read listings of their own: one store page,
/// however many other jobs and ended runs there are (they used to filter the whole collection).
#[tokio::test]
async fn name_and_active_filters_read_one_page_not_the_table() {
    let (control, store) = faulty().await;
    for i in 0..120 {
        control
            .jobs()
            .create(settings(&format!("other-{i}")), "me")
            .await
            .unwrap();
    }
    let wanted = control
        .jobs()
        .create(settings("Nightly"), "me")
        .await
        .unwrap();
    let before = store.calls(Op::List);
    let page = control
        .jobs()
        .list(
            &PageRequest {
                limit: 20,
                ..Default::default()
            },
            Some("nightly"),
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        vec![wanted]
    );
    assert_eq!(store.calls(Op::List) - before, 1, "one page read");

    let tasks = settings("r").tasks;
    let mut ended = Vec::new();
    for _ in 0..120 {
        let run = control
            .runs()
            .submit(None, tasks.clone(), None, "me")
            .await
            .unwrap();
        control.runs().cancel(run).await.unwrap();
        ended.push(run);
    }
    let active = control
        .runs()
        .submit(None, tasks, None, "me")
        .await
        .unwrap();
    let before = store.calls(Op::List);
    let filter = lakeplane_control::RunFilter {
        active_only: true,
        ..Default::default()
    };
    let page = control
        .runs()
        .list(
            &filter,
            &PageRequest {
                limit: 20,
                ..Default::default()
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|r| r.run.run_id).collect::<Vec<_>>(),
        vec![active]
    );
    assert_eq!(store.calls(Op::List) - before, 1, "one page read");
}
