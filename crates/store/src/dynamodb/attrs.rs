//! Items as DynamoDB attributes, and DynamoDB's errors as the port's: the adapter's mapping, in one
//! place, so no SDK type crosses the port.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::schema::*;
use crate::{IndexEntry, Item, Key, StoreError, StoreResult};

/// Error codes that mean "slow down"; the SDK retries them with backoff before we see them.
pub(super) const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
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

pub(super) fn to_attrs(item: &Item, version: u64) -> Attrs {
    let mut a = Attrs::new();
    a.insert(PK.into(), s(&item.key.pk));
    a.insert(SK.into(), s(&item.key.sk));
    a.insert(VERSION.into(), n(version));
    a.insert(BODY.into(), s(&item.body));
    if let Some(e) = &item.collection {
        a.insert(COLLECTION_PK.into(), s(&e.partition));
        a.insert(COLLECTION_SK.into(), s(&e.sort));
    }
    if let Some(e) = &item.parent {
        a.insert(PARENT_PK.into(), s(&e.partition));
        a.insert(PARENT_SK.into(), s(&e.sort));
    }
    if let Some(d) = item.due_at {
        a.insert(QUEUE_PK.into(), s(QUEUE_PARTITION));
        a.insert(DUE_AT.into(), n(d));
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
        collection: entry(COLLECTION_PK, COLLECTION_SK),
        parent: entry(PARENT_PK, PARENT_SK),
        due_at: get_n(a, DUE_AT),
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
        item.due_at = Some(42);
        item.alias = Some("TASKRUN#2".into());
        let a = to_attrs(&item, 3);
        assert_eq!(get_s(&a, QUEUE_PK).as_deref(), Some(QUEUE_PARTITION));
        let back = from_attrs(&a).unwrap();
        assert_eq!(back, Item { version: 3, ..item });
    }
}
