//! What a refused write means: DynamoDB's condition failures and cancelled transactions as the
//! port's errors.

use aws_sdk_dynamodb::types::CancellationReason;

use super::attrs::{get_n, Attrs, THROTTLING_REASONS};
use crate::schema::VERSION;
use crate::{Item, Key, StoreError};

/// The port's error for a cancelled transaction: throttling if any item was throttled, else the
/// first failed condition, else a conflict with another transaction (which the caller retries).
pub(super) fn cancelled(items: &[Item], reasons: &[CancellationReason]) -> StoreError {
    let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
    if codes.iter().any(|c| THROTTLING_REASONS.contains(c)) {
        return StoreError::Throttled {
            source: format!("transaction cancelled: {codes:?}").into(),
        };
    }
    match reasons
        .iter()
        .position(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        Some(i) => StoreError::already_exists(
            items
                .get(i)
                .map(|it| it.key.to_string())
                .unwrap_or_default(),
        ),
        None => StoreError::conflict("a transaction", format!("cancelled: {codes:?}")),
    }
}

/// The error for a write whose version condition failed: `NotFound` when the item is gone,
/// `Conflict` naming the version it is at otherwise.
pub(super) fn version_refused(key: &Key, old: Option<&Attrs>, expected: u64) -> StoreError {
    match old {
        Some(old) => StoreError::conflict(
            key,
            format!(
                "it is at version {}, not {expected}",
                get_n::<u64>(old, VERSION).unwrap_or(0)
            ),
        ),
        None => StoreError::not_found(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect()
    }

    #[test]
    fn a_transaction_cancelled_for_throttling_is_throttled_not_a_conflict() {
        let items = vec![Item::new(Key::new("RUN#1", "RUN"), "{}")];
        assert!(matches!(
            cancelled(&items, &reasons(&["None", "ThrottlingError"])),
            StoreError::Throttled { .. }
        ));
        assert!(matches!(
            cancelled(&items, &reasons(&["ConditionalCheckFailed"])),
            StoreError::AlreadyExists { .. }
        ));
        assert!(matches!(
            cancelled(&items, &reasons(&["TransactionConflict"])),
            StoreError::Conflict { .. }
        ));
    }
}
