//! Reads through the indexes. Every index projects keys only (so a change to a document never
//! rewrites index copies): a read queries an index for keys, then fetches the items themselves with
//! a strongly consistent `BatchGetItem`, so what it returns is current.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{KeysAndAttributes, Select};

use super::attrs::{from_attrs, key_attrs, n, s, sdk_err, sharded, Attrs};
use super::DynamoStore;
use crate::schema::*;
use crate::{Cursor, Index, Item, Key, StoreError, StoreResult};

/// The most keys one `BatchGetItem` takes.
const BATCH_GET: usize = 100;
/// How many times unprocessed keys of a `BatchGetItem` are asked for again before giving up.
const BATCH_ROUNDS: u32 = 8;

/// A key read from an index, with the index's sort value.
pub(super) struct IndexKey {
    pub key: Key,
    pub sort: String,
}

impl DynamoStore {
    /// Every item of a table partition, in sort-key order, read consistently.
    pub(super) async fn partition_items(&self, pk: &str) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Attrs> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("{PK} = :pk"))
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .send()
                .await
                .map_err(sdk_err)?;
            for a in resp.items() {
                items.push(from_attrs(a)?);
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Keys from one index partition, in index order, following `LastEvaluatedKey` until `want`.
    pub(super) async fn index_keys(
        &self,
        index: &str,
        condition: &str,
        values: Attrs,
        sort_attr: &str,
        want: usize,
    ) -> StoreResult<Vec<IndexKey>> {
        let mut keys = Vec::new();
        let mut start: Option<Attrs> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .select(Select::AllProjectedAttributes)
                .limit(want.saturating_sub(keys.len()).clamp(1, 1000) as i32)
                .send()
                .await
                .map_err(sdk_err)?;
            for a in resp.items() {
                let (Some(pk), Some(sk)) = (
                    a.get(PK).and_then(|v| v.as_s().ok()),
                    a.get(SK).and_then(|v| v.as_s().ok()),
                ) else {
                    continue;
                };
                let sort = match a.get(sort_attr) {
                    Some(v) => v
                        .as_s()
                        .cloned()
                        .or_else(|_| v.as_n().cloned())
                        .unwrap_or_default(),
                    None => String::new(),
                };
                keys.push(IndexKey {
                    key: Key::new(pk.clone(), sk.clone()),
                    sort,
                });
            }
            match resp.last_evaluated_key {
                Some(k) if keys.len() < want && !k.is_empty() => start = Some(k),
                _ => return Ok(keys),
            }
        }
    }

    /// The items under `keys`, read consistently, in the order of `keys`; keys whose item is gone
    /// are left out.
    pub(super) async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        let mut found: HashMap<Key, Item> = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET) {
            let mut pending: Vec<Attrs> = chunk.iter().map(key_attrs).collect();
            pending.dedup();
            for round in 0.. {
                if pending.is_empty() {
                    break;
                }
                if round == BATCH_ROUNDS {
                    return Err(StoreError::Throttled {
                        source: "BatchGetItem kept returning unprocessed keys".into(),
                    });
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk_err)?;
                for a in resp
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let item = from_attrs(a)?;
                    found.insert(item.key.clone(), item);
                }
                if let Some(left) = resp
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .map(|k| k.keys().to_vec())
                {
                    pending = left;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << round.min(5))).await;
                }
            }
        }
        Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
    }

    /// Up to `want` keys of a listing after `cursor`, in listing order. A collection is spread over
    /// shard partitions: every shard is read from the cursor on, at once, and the shards are merged.
    pub(super) async fn listing_keys(
        &self,
        index: Index,
        partition: &str,
        cursor: Option<&Cursor>,
        want: usize,
    ) -> StoreResult<Vec<Key>> {
        let (name, ipk, isk) = match index {
            Index::Collection => (COLLECTION_INDEX, COLLECTION_PK, COLLECTION_SK),
            Index::Parent => (PARENT_INDEX, PARENT_PK, PARENT_SK),
            Index::Status => (STATUS_INDEX, STATUS_PK, STATUS_SK),
        };
        let partitions: Vec<String> = match index {
            Index::Collection => (0..self.shards).map(|i| sharded(partition, i)).collect(),
            _ => vec![partition.to_string()],
        };
        let (condition, mut values) = match cursor {
            // `>=`: items that share the cursor's sort value are ordered by key below.
            Some(c) => (
                format!("{ipk} = :p AND {isk} >= :s"),
                HashMap::from([(":s".to_string(), s(&c.sort))]),
            ),
            None => (format!("{ipk} = :p"), HashMap::new()),
        };
        let reads = partitions.into_iter().map(|p| {
            values.insert(":p".to_string(), s(p));
            // Ties with the cursor may take places of their own; read one more.
            self.index_keys(name, &condition, values.clone(), isk, want + 1)
        });
        let mut merged: Vec<IndexKey> = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        merged.retain(|k| match cursor {
            Some(c) => {
                (c.sort.as_str(), c.pk.as_str(), c.sk.as_str())
                    < (k.sort.as_str(), k.key.pk.as_str(), k.key.sk.as_str())
            }
            None => true,
        });
        merged.sort_by(|a, b| (&a.sort, &a.key).cmp(&(&b.sort, &b.key)));
        merged.truncate(want);
        Ok(merged.into_iter().map(|k| k.key).collect())
    }

    /// Up to `want` keys due in queue `queue` at `now`, visiting the shards from a random one on.
    pub(super) async fn due_keys(
        &self,
        queue: &str,
        now: i64,
        want: usize,
    ) -> StoreResult<Vec<Key>> {
        // From a random shard on, so that workers spread over the shards.
        let first = rand::random_range(0..self.shards);
        let mut keys = Vec::new();
        for i in 0..self.shards {
            let shard = (first + i) % self.shards;
            let values = HashMap::from([
                (":q".to_string(), s(sharded(queue, shard))),
                (":now".to_string(), n(now)),
            ]);
            let found = self
                .index_keys(
                    QUEUE_INDEX,
                    &format!("{QUEUE_PK} = :q AND {DUE_AT} <= :now"),
                    values,
                    DUE_AT,
                    want - keys.len(),
                )
                .await?;
            keys.extend(found.into_iter().map(|k| k.key));
            if keys.len() >= want {
                break;
            }
        }
        Ok(keys)
    }
}
