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

mod attrs;
mod table;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use crate::schema::*;
use crate::{
    check_transaction, clamp_limit, page_of, Cursor, Index, Item, Key, Page, StateStore,
    StoreError, StoreResult,
};
use attrs::{from_attrs, get_n, key_attrs, n, s, sdk_err, service_err, to_attrs, Attrs};

/// State in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
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
        }
    }

    pub fn table(&self) -> &str {
        &self.table
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
                    Err(StoreError::already_exists(&item.key))
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
                        Some(i) => Err(StoreError::already_exists(
                            items
                                .get(i)
                                .map(|it| it.key.to_string())
                                .unwrap_or_default(),
                        )),
                        None => Err(StoreError::conflict(
                            "a transaction",
                            format!(
                                "cancelled: {:?}",
                                reasons.iter().map(|r| r.code()).collect::<Vec<_>>()
                            ),
                        )),
                    }
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
                    Some(old) => Err(StoreError::conflict(
                        &item.key,
                        format!(
                            "it is at version {}, not {expected_version}",
                            get_n::<u64>(old, VERSION).unwrap_or(0)
                        ),
                    )),
                    None => Err(StoreError::not_found(&item.key)),
                },
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
                        Some(_) => Err(StoreError::conflict(key, "its version differs")),
                        None => Err(StoreError::not_found(key)),
                    }
                }
                other => Err(service_err(other)),
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
        let items = self
            .query_all(
                Some(name),
                &format!("{ipk} = :p"),
                HashMap::from([(":p".to_string(), s(partition))]),
                start,
                Some(limit + 1),
                false,
            )
            .await?;
        Ok(page_of(index, items, limit))
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
        resp.attributes
            .as_ref()
            .and_then(|a| get_n(a, COUNTER))
            .ok_or_else(|| StoreError::unavailable(format!("counter {counter} returned no value")))
    }
}
