//! Counting write capacity units the way DynamoDB bills them, for benchmarks and cost figures.
//! (Emulators report a constant in `ConsumedCapacity`, so the units are computed from the items.)
//!
//! Rules (DynamoDB developer guide, "Capacity unit consumption for writes" and "Provisioned
//! throughput considerations for GSIs"): a write to the table costs one unit per started KiB of the
//! larger of the item before and after it; each index the write touches costs one unit per started
//! KiB of its projection (keys only here, so one) — one to add an entry, one to remove it, two when
//! an index key changes, none when the index keys stay the same.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;

use super::attrs::Attrs;
use crate::schema::*;

/// Each index and the attributes that key it.
const INDEXES: &[(&str, &[&str])] = &[
    (COLLECTION_INDEX, &[COLLECTION_PK, COLLECTION_SK]),
    (PARENT_INDEX, &[PARENT_PK, PARENT_SK]),
    (STATUS_INDEX, &[STATUS_PK, STATUS_SK]),
    (QUEUE_INDEX, &[QUEUE_PK, DUE_AT]),
    (ALIAS_INDEX, &[ALIAS]),
];

/// Write units and item writes counted by a metered [`super::DynamoStore`].
#[derive(Debug, Default)]
pub struct WriteMeter {
    units: AtomicU64,
    item_writes: AtomicU64,
}

impl WriteMeter {
    /// Write capacity units consumed so far (table and indexes).
    pub fn units(&self) -> u64 {
        self.units.load(Ordering::Relaxed)
    }

    /// Item writes made so far (each item of a transaction counts once).
    pub fn item_writes(&self) -> u64 {
        self.item_writes.load(Ordering::Relaxed)
    }

    /// Counts one item written: `old` before, `new` after (`None` for an insert or a delete), at
    /// `factor` units per KiB of the item (2 inside a transaction).
    pub(super) fn record(&self, old: Option<&Attrs>, new: Option<&Attrs>, factor: usize) {
        let kib = |a: Option<&Attrs>| a.map(size).unwrap_or(0).div_ceil(1024);
        let mut units = kib(old).max(kib(new)).max(1) * factor;
        for (_, keys) in INDEXES {
            let entry = |a: Option<&Attrs>| {
                a.and_then(|a| {
                    keys.iter()
                        .map(|k| a.get(*k).cloned())
                        .collect::<Option<Vec<_>>>()
                })
            };
            units += match (entry(old), entry(new)) {
                (Some(o), Some(n)) if o == n => 0,
                (Some(_), Some(_)) => 2,
                (None, None) => 0,
                _ => 1,
            };
        }
        self.units.fetch_add(units as u64, Ordering::Relaxed);
        self.item_writes.fetch_add(1, Ordering::Relaxed);
    }
}

/// An item's size as DynamoDB counts it: attribute names plus values.
fn size(a: &Attrs) -> usize {
    a.iter()
        .map(|(name, v)| {
            name.len()
                + match v {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                    _ => 1,
                }
        })
        .sum()
}

/// The store's side of metering: each write reports what it changed, when a meter is attached.
impl super::DynamoStore {
    pub(super) fn record(&self, old: Option<&Attrs>, new: Option<&Attrs>) {
        if let Some(m) = &self.meter {
            m.record(old, new, 1);
        }
    }

    /// A write inside a transaction, which costs two units per KiB instead of one.
    pub(super) fn record_transactional(&self, old: Option<&Attrs>, new: Option<&Attrs>) {
        if let Some(m) = &self.meter {
            m.record(old, new, 2);
        }
    }

    /// What a write returns for the meter: the item's old image, when metering.
    pub(super) fn old_image(&self) -> Option<aws_sdk_dynamodb::types::ReturnValue> {
        self.meter
            .as_ref()
            .map(|_| aws_sdk_dynamodb::types::ReturnValue::AllOld)
    }
}

#[cfg(test)]
mod tests {
    use super::super::attrs::{n, s};
    use super::*;

    #[test]
    fn units_follow_item_size_and_index_changes() {
        let meter = WriteMeter::default();
        let mut a = Attrs::from([
            (PK.to_string(), s("RUN#1")),
            (SK.to_string(), s("TASK#a")),
            (BODY.to_string(), s("x".repeat(1500))),
            (QUEUE_PK.to_string(), s("default#1")),
            (DUE_AT.to_string(), n(5)),
        ]);
        meter.record(None, Some(&a), 1);
        assert_eq!(meter.units(), 2 + 1, "2 KiB item, one queue entry added");
        let old = a.clone();
        a.insert(DUE_AT.to_string(), n(9));
        meter.record(Some(&old), Some(&a), 1);
        assert_eq!(
            meter.units(),
            3 + 2 + 2,
            "the queue key moved: remove and add"
        );
        meter.record(Some(&a), None, 1);
        assert_eq!(meter.units(), 7 + 2 + 1);
        assert_eq!(meter.item_writes(), 3);
    }
}
