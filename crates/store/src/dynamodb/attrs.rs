//! Items as DynamoDB attributes, and DynamoDB's errors as the port's: the adapter's mapping, in one
//! place, so no SDK type crosses the port.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::schema::*;
use crate::{IndexEntry, Item, Key, QueueEntry, StoreError, StoreResult};

/// Error codes that mean "slow down"; the SDK retries them with backoff before we see them.
pub(super) const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
];

/// `TransactionCanceledException` reasons that mean "slow down", not "a condition failed".
pub(super) const THROTTLING_REASONS: &[&str] = &[
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

pub(super) type Attrs = HashMap<String, AttributeValue>;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s(attrs: &Attrs, name: &str) -> Option<String> {
    attrs.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn get_n<T: std::str::FromStr>(attrs: &Attrs, name: &str) -> Option<T> {
    attrs
        .get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Which of `shards` partitions an item's sharded index entries go to: a stable hash of its key
/// (FNV-1a, so every process and every release agrees).
pub(super) fn shard_of(key: &Key, shards: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.pk.bytes().chain([0]).chain(key.sk.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards.max(1)
}

/// The stored partition of a sharded listing or queue.
pub(super) fn sharded(name: &str, shard: u32) -> String {
    format!("{name}#{shard}")
}

/// The logical name of a sharded partition.
fn unsharded(stored: &str) -> String {
    match stored.rsplit_once('#') {
        Some((name, shard)) if shard.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
        _ => stored.to_string(),
    }
}

/// The queue attributes of an entry: `q_pk` and `due_at`.
pub(super) fn queue_attrs(
    key: &Key,
    queue: &QueueEntry,
    shards: u32,
) -> [(String, AttributeValue); 2] {
    [
        (
            QUEUE_PK.into(),
            s(sharded(&queue.name, shard_of(key, shards))),
        ),
        (DUE_AT.into(), n(queue.due_at)),
    ]
}

pub(super) fn to_attrs(item: &Item, version: u64, shards: u32) -> Attrs {
    let mut a = Attrs::new();
    a.insert(PK.into(), s(&item.key.pk));
    a.insert(SK.into(), s(&item.key.sk));
    a.insert(VERSION.into(), n(version));
    a.insert(BODY.into(), s(&item.body));
    if let Some(e) = &item.collection {
        let shard = shard_of(&item.key, shards);
        a.insert(COLLECTION_PK.into(), s(sharded(&e.partition, shard)));
        a.insert(COLLECTION_SK.into(), s(&e.sort));
    }
    if let Some(e) = &item.parent {
        a.insert(PARENT_PK.into(), s(&e.partition));
        a.insert(PARENT_SK.into(), s(&e.sort));
    }
    if let Some(e) = &item.status {
        a.insert(STATUS_PK.into(), s(&e.partition));
        a.insert(STATUS_SK.into(), s(&e.sort));
    }
    if let Some(q) = &item.queue {
        a.extend(queue_attrs(&item.key, q, shards));
    }
    if let Some(al) = &item.alias {
        a.insert(ALIAS.into(), s(al));
    }
    a
}

pub(super) fn from_attrs(a: &Attrs) -> StoreResult<Item> {
    let (Some(pk), Some(sk)) = (get_s(a, PK), get_s(a, SK)) else {
        return Err(StoreError::unavailable(
            "DynamoDB returned an item without a key",
        ));
    };
    let entry = |p: &str, s: &str| match (get_s(a, p), get_s(a, s)) {
        (Some(p), Some(s)) => Some(IndexEntry::new(p, s)),
        _ => None,
    };
    Ok(Item {
        key: Key::new(pk, sk),
        version: get_n(a, VERSION).unwrap_or(0),
        body: get_s(a, BODY).unwrap_or_default(),
        collection: entry(COLLECTION_PK, COLLECTION_SK).map(|e| IndexEntry {
            partition: unsharded(&e.partition),
            ..e
        }),
        parent: entry(PARENT_PK, PARENT_SK),
        status: entry(STATUS_PK, STATUS_SK),
        queue: match (get_s(a, QUEUE_PK), get_n(a, DUE_AT)) {
            (Some(q), Some(due_at)) => Some(QueueEntry {
                name: unsharded(&q),
                due_at,
            }),
            _ => None,
        },
        alias: get_s(a, ALIAS),
    })
}

pub(super) fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([(PK.to_string(), s(&key.pk)), (SK.to_string(), s(&key.sk))])
}

/// Maps any SDK error that is not a condition failure, keeping it as the source.
pub(super) fn sdk_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    classify(
        code.as_deref(),
        DisplayErrorContext(&e).to_string(),
        e.into(),
    )
}

pub(super) fn classify(code: Option<&str>, message: String, source: crate::BoxError) -> StoreError {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => StoreError::Throttled { source },
        Some("TransactionConflictException") => StoreError::conflict("a transaction", message),
        Some("ValidationException") => StoreError::Invalid(message),
        _ => StoreError::Unavailable { source },
    }
}

/// Classifies an operation's own error (already taken out of its `SdkError`).
pub(super) fn service_err<E>(e: &E) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let message = DisplayErrorContext(e).to_string();
    classify(e.code(), message.clone(), message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_conflicts_are_classified() {
        let c = |code: Option<&str>| classify(code, String::new(), "source".into());
        assert!(matches!(
            c(Some("ProvisionedThroughputExceededException")),
            StoreError::Throttled { .. }
        ));
        assert!(matches!(
            c(Some("TransactionConflictException")),
            StoreError::Conflict { .. }
        ));
        assert!(matches!(c(None), StoreError::Unavailable { .. }));
    }

    #[test]
    fn items_round_trip_through_attributes() {
        let mut item = Item::new(Key::new("RUN#1", "TASK#a"), "{}");
        item.collection = Some(IndexEntry::new("RUNS", "0001"));
        item.status = Some(IndexEntry::new("ACTIVE", "0001"));
        item.queue = Some(QueueEntry::new("default", 42));
        item.alias = Some("TASKRUN#2".into());
        let a = to_attrs(&item, 3, 8);
        let shard = shard_of(&item.key, 8);
        assert_eq!(get_s(&a, QUEUE_PK), Some(format!("default#{shard}")));
        assert_eq!(get_s(&a, COLLECTION_PK), Some(format!("RUNS#{shard}")));
        let back = from_attrs(&a).unwrap();
        assert_eq!(back, Item { version: 3, ..item });
    }

    #[test]
    fn shards_are_stable_and_spread() {
        let keys: Vec<Key> = (0..800)
            .map(|i| Key::new(format!("RUN#{i}"), "TASK#a"))
            .collect();
        let mut counts = [0; 8];
        for k in &keys {
            counts[shard_of(k, 8) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (60..140).contains(c)), "{counts:?}");
        assert_eq!(shard_of(&keys[0], 8), shard_of(&keys[0].clone(), 8));
        assert_eq!(shard_of(&keys[0], 1), 0);
    }
}
