//! The work-queue part of the contract: due items, named queues over shards, lease renewals.

use std::sync::Arc;

use super::{item, queued, Q};
use crate::{Item, Key, QueueEntry, StateStore, StoreError};

pub async fn due_queue_orders_and_drops_items(store: Arc<dyn StateStore>) {
    let mut items = Vec::new();
    for (sk, due) in [
        ("a", Some(30)),
        ("b", Some(10)),
        ("c", None),
        ("d", Some(99)),
    ] {
        let mut it = item("RUN#1", sk, "{}");
        it.queue = due.and_then(queued);
        items.push(it);
    }
    store.insert(items).await.unwrap();
    let due: Vec<String> = store
        .due(Q, 50, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key.sk)
        .collect();
    assert_eq!(due, vec!["b", "a"]);
    let b = store.get(&Key::new("RUN#1", "b")).await.unwrap();
    store.replace(Item { queue: None, ..b }, 1).await.unwrap();
    let due: Vec<String> = store
        .due(Q, 100, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key.sk)
        .collect();
    assert_eq!(due, vec!["a", "d"]);
    assert_eq!(store.due(Q, 100, 1).await.unwrap().len(), 1);
}

/// Items wait in the queue they name; a queue's items are all found, however they spread over
/// shard partitions.
pub async fn queues_are_separate_and_span_shards(store: Arc<dyn StateStore>) {
    let items: Vec<Item> = (0..40)
        .map(|i| {
            let mut it = item(&format!("RUN#{i:03}"), "TASK#a", "{}");
            it.queue = Some(QueueEntry::new(if i % 4 == 0 { "cluster-1" } else { Q }, i));
            it
        })
        .collect();
    store.insert(items).await.unwrap();
    let mut default: Vec<String> = store
        .due(Q, 100, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key.pk)
        .collect();
    default.sort();
    let want: Vec<String> = (0..40)
        .filter(|i| i % 4 != 0)
        .map(|i| format!("RUN#{i:03}"))
        .collect();
    assert_eq!(default, want, "every item of the queue, from every shard");
    let cluster = store.due("cluster-1", 100, 1000).await.unwrap();
    assert_eq!(cluster.len(), 10);
    assert!(cluster
        .iter()
        .all(|i| i.queue.as_ref().is_some_and(|q| q.name == "cluster-1")));
    assert!(store.due("nobody", 100, 10).await.unwrap().is_empty());
    // A limit is honoured whatever the shards hold.
    assert_eq!(store.due(Q, 100, 3).await.unwrap().len(), 3);
}

/// `touch` changes the version and the queue entry, and nothing else.
pub async fn touch_moves_only_the_queue_entry(store: Arc<dyn StateStore>) {
    let mut it = item("RUN#1", "TASK#a", r#"{"big":"body"}"#);
    it.queue = queued(10);
    it.alias = Some("TASKRUN#9".into());
    store.insert(vec![it]).await.unwrap();
    let key = Key::new("RUN#1", "TASK#a");
    assert_eq!(store.touch(&key, 1, queued(500)).await.unwrap(), 2);
    let got = store.get(&key).await.unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.body, r#"{"big":"body"}"#);
    assert_eq!(got.alias.as_deref(), Some("TASKRUN#9"));
    assert_eq!(got.queue, queued(500));
    assert!(store.due(Q, 100, 10).await.unwrap().is_empty());
    assert_eq!(store.due(Q, 500, 10).await.unwrap().len(), 1);
    assert!(matches!(
        store.touch(&key, 1, queued(600)).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.touch(&Key::new("RUN#2", "TASK#a"), 1, None).await,
        Err(StoreError::NotFound { .. })
    ));
    store.touch(&key, 2, None).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap().queue, None);
    assert!(store.due(Q, 1000, 10).await.unwrap().is_empty());
}
