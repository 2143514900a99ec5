//! The DynamoDB adapter: every item in one table.
//!
//! Table design (also in `infra/dynamodb-table.md` and `template.yaml`):
//!
//! | attribute | role |
//! |---|---|
//! | `pk`, `sk` (S) | primary key. A run and its task runs share `pk = RUN#<id>`, so one strongly consistent Query reads a run whole |
//! | `ver` (N) | version; every write is conditional on it |
//! | `body` (S) | the JSON document |
//! | `c_pk`, `c_sk` (S) | GSI `collection`: all items of a kind, sorted (jobs by id, runs newest first) |
//! | `p_pk`, `p_sk` (S) | GSI `parent`: items under a parent (the runs of a job) |
//! | `q_pk` (S), `due_at` (N) | GSI `queue`: sparse; only task runs a worker may claim now or at `due_at` |
//! | `alias` (S) | GSI `alias`: sparse; a task run by its own run id |
//!
//! Errors are mapped here: a failed condition is `Conflict` / `NotFound` / `AlreadyExists`, throttling
//! (after the SDK's standard retries with exponential backoff) is `Throttled`, anything else
//! `Unavailable`. No SDK type crosses the port.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use crate::schema::*;
use crate::{
    check_transaction, clamp_limit, cursor_after, Cursor, Index, IndexEntry, Item, Key, Page,
    StateStore, StoreError, StoreResult,
};

/// Error codes that mean "slow down"; the SDK retries them with backoff before we see them.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
];

/// State in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

type Attrs = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s(attrs: &Attrs, name: &str) -> Option<String> {
    attrs.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n<T: std::str::FromStr>(attrs: &Attrs, name: &str) -> Option<T> {
    attrs
        .get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn to_attrs(item: &Item, version: u64) -> Attrs {
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

fn from_attrs(a: &Attrs) -> StoreResult<Item> {
    let (Some(pk), Some(sk)) = (get_s(a, PK), get_s(a, SK)) else {
        return Err(StoreError::Unavailable("item without a key".into()));
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

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([(PK.to_string(), s(&key.pk)), (SK.to_string(), s(&key.sk))])
}

/// Maps any SDK error that is not a condition failure.
fn sdk_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    classify(e.code(), DisplayErrorContext(&e).to_string())
}

fn classify(code: Option<&str>, message: String) -> StoreError {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => StoreError::Throttled(message),
        Some("TransactionConflictException") => StoreError::Conflict(message),
        Some("ValidationException") => StoreError::Invalid(message),
        _ => StoreError::Unavailable(message),
    }
}

impl DynamoStore {
    /// Wraps a client (built once at cold start) and a table name.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Builds a client from the environment (region, credentials, `AWS_ENDPOINT_URL`) with standard
    /// retries: up to 8 attempts, exponential backoff with jitter from 50 ms, for throttling and
    /// transient errors.
    pub async fn from_env(table: impl Into<String>) -> DynamoStore {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(8)
                    .with_initial_backoff(Duration::from_millis(50)),
            )
            .load()
            .await;
        DynamoStore::new(Client::new(&config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with its indexes (on-demand billing). For tests and `lakeplane dev` against
    /// DynamoDB; a deployed stack gets the same table from `template.yaml`.
    pub async fn create_table(&self) -> StoreResult<()> {
        let attr = |name: &str, t: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(t)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let key = |name: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let gsi = |name: &str, hash: &str, range: Option<&str>, projection: ProjectionType| {
            let mut b = GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .projection(Projection::builder().projection_type(projection).build());
            if let Some(r) = range {
                b = b.key_schema(key(r, KeyType::Range)?);
            }
            b.build().map_err(|e| StoreError::Invalid(e.to_string()))
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(COLLECTION_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(COLLECTION_SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(PARENT_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(PARENT_SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(QUEUE_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(DUE_AT, ScalarAttributeType::N)?)
            .attribute_definitions(attr(ALIAS, ScalarAttributeType::S)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi(
                COLLECTION_INDEX,
                COLLECTION_PK,
                Some(COLLECTION_SK),
                ProjectionType::All,
            )?)
            .global_secondary_indexes(gsi(
                PARENT_INDEX,
                PARENT_PK,
                Some(PARENT_SK),
                ProjectionType::All,
            )?)
            .global_secondary_indexes(gsi(
                QUEUE_INDEX,
                QUEUE_PK,
                Some(DUE_AT),
                ProjectionType::All,
            )?)
            .global_secondary_indexes(gsi(ALIAS_INDEX, ALIAS, None, ProjectionType::All)?)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Runs a Query to the end or until `want` items, following `LastEvaluatedKey`.
    async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        values: Attrs,
        start: Option<Attrs>,
        want: Option<usize>,
        consistent: bool,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = start;
        loop {
            let remaining = want.map(|w| w.saturating_sub(items.len()));
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .set_limit(remaining.map(|r| r.min(1000) as i32))
                .set_consistent_read(consistent.then_some(true))
                .send()
                .await
                .map_err(sdk_err)?;
            for a in resp.items() {
                items.push(from_attrs(a)?);
            }
            let done = want.is_some_and(|w| items.len() >= w);
            match resp.last_evaluated_key {
                Some(k) if !done && !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}

#[async_trait]
impl StateStore for DynamoStore {
    async fn insert(&self, items: Vec<Item>) -> StoreResult<()> {
        check_transaction(&items)?;
        let condition = format!("attribute_not_exists({PK})");
        if let [item] = items.as_slice() {
            return match self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_attrs(item, 1)))
                .condition_expression(&condition)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    Err(StoreError::AlreadyExists(item.key.to_string()))
                }
                Err(e) => Err(sdk_err(e)),
            };
        }
        let mut writes = Vec::with_capacity(items.len());
        for item in &items {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_attrs(item, 1)))
                .condition_expression(&condition)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let reasons = c.cancellation_reasons();
                    let failed = reasons
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"));
                    match failed {
                        Some(i) => Err(StoreError::AlreadyExists(
                            items
                                .get(i)
                                .map(|it| it.key.to_string())
                                .unwrap_or_default(),
                        )),
                        None => Err(StoreError::Conflict(format!(
                            "transaction cancelled: {:?}",
                            reasons.iter().map(|r| r.code()).collect::<Vec<_>>()
                        ))),
                    }
                }
                other => Err(classify(
                    other.code(),
                    DisplayErrorContext(other).to_string(),
                )),
            },
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn get(&self, key: &Key) -> StoreResult<Item> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        match resp.item {
            Some(a) => from_attrs(&a),
            None => Err(StoreError::NotFound(key.to_string())),
        }
    }

    async fn replace(&self, item: Item, expected_version: u64) -> StoreResult<u64> {
        let next = expected_version + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item, next)))
            .condition_expression(format!("attribute_exists({PK}) AND {VERSION} = :expected"))
            .expression_attribute_values(":expected", n(expected_version))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(next),
            Err(SdkError::ServiceError(e)) => match e.err() {
                PutItemError::ConditionalCheckFailedException(c) => match c.item() {
                    Some(old) => Err(StoreError::Conflict(format!(
                        "{} is at version {}, not {expected_version}",
                        item.key,
                        get_n::<u64>(old, VERSION).unwrap_or(0)
                    ))),
                    None => Err(StoreError::NotFound(item.key.to_string())),
                },
                other => Err(classify(
                    other.code(),
                    DisplayErrorContext(other).to_string(),
                )),
            },
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> StoreResult<()> {
        let mut req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        req = match expected_version {
            Some(v) => req
                .condition_expression(format!("attribute_exists({PK}) AND {VERSION} = :expected"))
                .expression_attribute_values(":expected", n(v)),
            None => req.condition_expression(format!("attribute_exists({PK})")),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(c) => {
                    match c.item() {
                        Some(_) => Err(StoreError::Conflict(format!("{key} changed"))),
                        None => Err(StoreError::NotFound(key.to_string())),
                    }
                }
                other => Err(classify(other.code(), DisplayErrorContext(other).to_string())),
            },
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn query_partition(&self, pk: &str) -> StoreResult<Vec<Item>> {
        self.query_all(
            None,
            &format!("{PK} = :pk"),
            HashMap::from([(":pk".to_string(), s(pk))]),
            None,
            None,
            true,
        )
        .await
    }

    async fn list(
        &self,
        index: Index,
        partition: &str,
        limit: usize,
        after: Option<&str>,
    ) -> StoreResult<Page> {
        let limit = clamp_limit(limit);
        let cursor = after.map(Cursor::decode).transpose()?;
        let (name, ipk, isk) = match index {
            Index::Collection => (COLLECTION_INDEX, COLLECTION_PK, COLLECTION_SK),
            Index::Parent => (PARENT_INDEX, PARENT_PK, PARENT_SK),
        };
        let start = cursor.map(|c| {
            HashMap::from([
                (ipk.to_string(), s(partition)),
                (isk.to_string(), s(c.sort)),
                (PK.to_string(), s(c.pk)),
                (SK.to_string(), s(c.sk)),
            ])
        });
        let mut items = self
            .query_all(
                Some(name),
                &format!("{ipk} = :p"),
                HashMap::from([(":p".to_string(), s(partition))]),
                start,
                Some(limit + 1),
                false,
            )
            .await?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| cursor_after(index, last))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn due(&self, now: i64, limit: usize) -> StoreResult<Vec<Item>> {
        self.query_all(
            Some(QUEUE_INDEX),
            &format!("{QUEUE_PK} = :q AND {DUE_AT} <= :now"),
            HashMap::from([
                (":q".to_string(), s(QUEUE_PARTITION)),
                (":now".to_string(), n(now)),
            ]),
            None,
            Some(clamp_limit(limit)),
            false,
        )
        .await
    }

    async fn get_by_alias(&self, alias: &str) -> StoreResult<Item> {
        let items = self
            .query_all(
                Some(ALIAS_INDEX),
                &format!("{ALIAS} = :a"),
                HashMap::from([(":a".to_string(), s(alias))]),
                None,
                Some(1),
                false,
            )
            .await?;
        // The index copy may lag; read the item itself for a consistent answer.
        match items.into_iter().next() {
            Some(i) => self.get(&i.key).await,
            None => Err(StoreError::NotFound(format!("alias {alias}"))),
        }
    }

    async fn increment(&self, counter: &str, by: u64) -> StoreResult<u64> {
        let resp = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&Key::new(
                format!("COUNTER#{counter}"),
                "COUNTER",
            ))))
            .update_expression(format!("ADD {COUNTER} :by"))
            .expression_attribute_values(":by", n(by))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_err)?;
        resp.attributes
            .as_ref()
            .and_then(|a| get_n(a, COUNTER))
            .ok_or_else(|| StoreError::Unavailable(format!("counter {counter} returned no value")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_conflicts_are_classified() {
        assert!(matches!(
            classify(
                Some("ProvisionedThroughputExceededException"),
                String::new()
            ),
            StoreError::Throttled(_)
        ));
        assert!(matches!(
            classify(Some("TransactionConflictException"), String::new()),
            StoreError::Conflict(_)
        ));
        assert!(matches!(
            classify(None, String::new()),
            StoreError::Unavailable(_)
        ));
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
