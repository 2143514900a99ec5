//! The DynamoDB adapter: every item in one table.
//!
//! Table design (also in `infra/dynamodb-table.md` and `template.yaml`):
//!
//! | attribute | role |
//! |---|---|
//! | `pk`, `sk` (S) | primary key. A run and its task runs share `pk = RUN#<id>`, so one strongly consistent Query reads a run whole |
//! | `ver` (N) | version; every write is conditional on it |
//! | `body` (S) | the JSON document |
//! | `c_pk`, `c_sk` (S) | GSI `collection`: all items of a kind, sorted, spread over `<kind>#<shard>` partitions |
//! | `p_pk`, `p_sk` (S) | GSI `parent`: items under a parent (the runs of a job, the jobs of a name) |
//! | `s_pk`, `s_sk` (S) | GSI `status`: sparse; items in a state (the active runs) |
//! | `q_pk` (S), `due_at` (N) | GSI `queue`: sparse; `q_pk = <queue>#<shard>`, only items a worker may claim now or at `due_at` |
//! | `alias` (S) | GSI `alias`: sparse; a task run by its own run id |
//!
//! Every index projects keys only, so a write that leaves an item's index keys alone writes no index
//! copy; reads fetch the items with a consistent `BatchGetItem` ([`reads`]).
//!
//! Errors are mapped here: a failed condition is `Conflict` / `NotFound` / `AlreadyExists`, throttling
//! (after the SDK's standard retries with exponential backoff, and inside a cancelled transaction)
//! is `Throttled`, anything else `Unavailable`. No SDK type crosses the port.

mod attrs;
mod conditions;
mod meter;
mod reads;
mod table;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use crate::schema::*;
use crate::{
    check_transaction, clamp_limit, page_of, Cursor, Index, Item, Key, Page, QueueEntry,
    StateStore, StoreError, StoreResult,
};
use attrs::{from_attrs, get_n, key_attrs, n, queue_attrs, sdk_err, service_err, to_attrs, Attrs};
use conditions::{cancelled, version_refused};
pub use meter::WriteMeter;

/// The condition of every write to an existing item: it is there, at version `:expected`.
fn at_version() -> String {
    format!("attribute_exists({PK}) AND {VERSION} = :expected")
}

/// Shard partitions per queue and per collection listing, unless set otherwise
/// ([`DynamoStore::with_shards`]). See `infra/dynamodb-table.md` for why eight.
pub const DEFAULT_SHARDS: u32 = 8;

/// State in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    pub(super) shards: u32,
    meter: Option<Arc<WriteMeter>>,
}

impl DynamoStore {
    /// A store over `table`, with a DynamoDB client made from the binary's one `SdkConfig` (built
    /// once, at cold start) and this adapter's own policies: standard retries (up to 8 attempts,
    /// exponential backoff with jitter from 50 ms) for throttling and transient errors, and a
    /// 3 s timeout per attempt within 20 s per operation, so no call waits forever.
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> DynamoStore {
        let conf = aws_sdk_dynamodb::config::Builder::from(config)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(8)
                    .with_initial_backoff(Duration::from_millis(50)),
            )
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(20))
                    .build(),
            )
            .build();
        DynamoStore {
            client: Client::from_conf(conf),
            table: table.into(),
            shards: DEFAULT_SHARDS,
            meter: None,
        }
    }

    /// Spreads each queue and each collection listing over `shards` partitions (at least 1). Every
    /// process sharing a table must use the same number.
    pub fn with_shards(mut self, shards: u32) -> DynamoStore {
        self.shards = shards.max(1);
        self
    }

    /// Counts the write units this store consumes (it then reads each replaced item's old image
    /// back with the write, to count index changes exactly).
    pub fn metered(mut self) -> (DynamoStore, Arc<WriteMeter>) {
        let meter = Arc::new(WriteMeter::default());
        self.meter = Some(meter.clone());
        (self, meter)
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl StateStore for DynamoStore {
    async fn insert(&self, items: Vec<Item>) -> StoreResult<()> {
        check_transaction(&items)?;
        let condition = format!("attribute_not_exists({PK})");
        let attrs: Vec<Attrs> = items.iter().map(|i| to_attrs(i, 1, self.shards)).collect();
        if let [item] = items.as_slice() {
            return match self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(attrs[0].clone()))
                .condition_expression(&condition)
                .send()
                .await
            {
                Ok(_) => {
                    self.record(None, Some(&attrs[0]));
                    Ok(())
                }
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    Err(StoreError::already_exists(&item.key))
                }
                Err(e) => Err(sdk_err(e)),
            };
        }
        let mut writes = Vec::with_capacity(items.len());
        for a in &attrs {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(a.clone()))
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
            Ok(_) => {
                for a in &attrs {
                    self.record_transactional(None, Some(a));
                }
                Ok(())
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    Err(cancelled(&items, c.cancellation_reasons()))
                }
                other => Err(service_err(other)),
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
            None => Err(StoreError::not_found(key)),
        }
    }

    async fn replace(&self, item: Item, expected_version: u64) -> StoreResult<u64> {
        let next = expected_version + 1;
        let attrs = to_attrs(&item, next, self.shards);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs.clone()))
            .condition_expression(at_version())
            .expression_attribute_values(":expected", n(expected_version))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .set_return_values(self.old_image())
            .send()
            .await;
        match result {
            Ok(out) => {
                self.record(out.attributes(), Some(&attrs));
                Ok(next)
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                PutItemError::ConditionalCheckFailedException(c) => {
                    Err(version_refused(&item.key, c.item(), expected_version))
                }
                other => Err(service_err(other)),
            },
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn touch(
        &self,
        key: &Key,
        expected_version: u64,
        queue: Option<QueueEntry>,
    ) -> StoreResult<u64> {
        let next = expected_version + 1;
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .condition_expression(at_version())
            .expression_attribute_values(":expected", n(expected_version))
            .expression_attribute_values(":next", n(next))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .set_return_values(self.old_image());
        req = match &queue {
            Some(q) => {
                let [(_, q_pk), (_, due)] = queue_attrs(key, q, self.shards);
                req.update_expression(format!(
                    "SET {VERSION} = :next, {QUEUE_PK} = :q, {DUE_AT} = :d"
                ))
                .expression_attribute_values(":q", q_pk)
                .expression_attribute_values(":d", due)
            }
            None => {
                req.update_expression(format!("SET {VERSION} = :next REMOVE {QUEUE_PK}, {DUE_AT}"))
            }
        };
        match req.send().await {
            Ok(out) => {
                if let Some(old) = out.attributes() {
                    let mut new = old.clone();
                    new.insert(VERSION.into(), n(next));
                    new.remove(QUEUE_PK);
                    new.remove(DUE_AT);
                    if let Some(q) = &queue {
                        new.extend(queue_attrs(key, q, self.shards));
                    }
                    self.record(Some(old), Some(&new));
                }
                Ok(next)
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                UpdateItemError::ConditionalCheckFailedException(c) => {
                    Err(version_refused(key, c.item(), expected_version))
                }
                other => Err(service_err(other)),
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
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .set_return_values(self.old_image());
        req = match expected_version {
            Some(v) => req
                .condition_expression(at_version())
                .expression_attribute_values(":expected", n(v)),
            None => req.condition_expression(format!("attribute_exists({PK})")),
        };
        match req.send().await {
            Ok(out) => {
                self.record(out.attributes(), None);
                Ok(())
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(c) => {
                    // Without an expected version only a missing item fails the condition.
                    Err(version_refused(key, c.item(), expected_version.unwrap_or_default()))
                }
                other => Err(service_err(other)),
            },
            Err(e) => Err(sdk_err(e)),
        }
    }

    async fn query_partition(&self, pk: &str) -> StoreResult<Vec<Item>> {
        self.partition_items(pk).await
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
        let keys = self
            .listing_keys(index, partition, cursor.as_ref(), limit + 1)
            .await?;
        // An item read back without its entry left the listing since the index was read.
        let items = self
            .batch_get(&keys)
            .await?
            .into_iter()
            .filter(|i| i.entry(index).is_some_and(|e| e.partition == partition))
            .collect();
        Ok(page_of(index, items, limit))
    }

    async fn due(&self, queue: &str, now: i64, limit: usize) -> StoreResult<Vec<Item>> {
        let keys = self.due_keys(queue, now, clamp_limit(limit)).await?;
        let mut items: Vec<Item> = self
            .batch_get(&keys)
            .await?
            .into_iter()
            .filter(|i| {
                i.queue
                    .as_ref()
                    .is_some_and(|q| q.name == queue && q.due_at <= now)
            })
            .collect();
        items.sort_by_key(|i| i.queue.as_ref().map(|q| q.due_at));
        Ok(items)
    }

    async fn get_by_alias(&self, alias: &str) -> StoreResult<Item> {
        let keys = self
            .index_keys(
                ALIAS_INDEX,
                &format!("{ALIAS} = :a"),
                std::collections::HashMap::from([(":a".to_string(), attrs::s(alias))]),
                ALIAS,
                1,
            )
            .await?;
        // The index copy may lag; read the item itself for a consistent answer.
        match keys.into_iter().next() {
            Some(k) => match self.get(&k.key).await? {
                item if item.alias.as_deref() == Some(alias) => Ok(item),
                _ => Err(StoreError::not_found(format!("alias {alias}"))),
            },
            None => Err(StoreError::not_found(format!("alias {alias}"))),
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
        self.record(None, resp.attributes());
        resp.attributes
            .as_ref()
            .and_then(|a| get_n(a, COUNTER))
            .ok_or_else(|| StoreError::unavailable(format!("counter {counter} returned no value")))
    }
}
