//! Listing cursors and the checks every adapter shares. A cursor says where an item sits in a listing
//! (its sort value and key); adapters resume a listing strictly after it. Callers see only opaque
//! tokens ([`crate::Entry::resume`], [`crate::Page::next`]).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{
    Entry, Index, Item, Key, Page, StoreError, StoreResult, MAX_PAGE, MAX_TRANSACTION_ITEMS,
};

/// Where an item sits in a listing. Opaque to callers (base64url JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "p")]
    pub pk: String,
    #[serde(rename = "k")]
    pub sk: String,
}

impl Cursor {
    fn of(index: Index, item: &Item) -> Cursor {
        let entry = item.entry(index);
        Cursor {
            sort: entry.map(|e| e.sort.clone()).unwrap_or_default(),
            pk: item.key.pk.clone(),
            sk: item.key.sk.clone(),
        }
    }

    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub(crate) fn decode(token: &str) -> StoreResult<Cursor> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| StoreError::Invalid(format!("malformed page token '{token}'")))
    }
}

/// A page from up to `limit + 1` items read in listing order: the first `limit`, each with its resume
/// token, and a `next` token when more followed.
pub(crate) fn page_of(index: Index, mut items: Vec<Item>, limit: usize) -> Page {
    let more = items.len() > limit;
    items.truncate(limit);
    let entries: Vec<Entry> = items
        .into_iter()
        .map(|item| Entry {
            resume: Cursor::of(index, &item).encode(),
            item,
        })
        .collect();
    let next = more
        .then(|| entries.last().map(|e| e.resume.clone()))
        .flatten();
    Page { entries, next }
}

pub(crate) fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

pub(crate) fn check_transaction(items: &[Item]) -> StoreResult<()> {
    if items.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a transaction may write at most {MAX_TRANSACTION_ITEMS} items, got {}",
            items.len()
        )));
    }
    let mut keys: Vec<&Key> = items.iter().map(|i| &i.key).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid(
            "a transaction names one key twice".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            sort: "0001".into(),
            pk: "JOB#1".into(),
            sk: "JOB".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(matches!(Cursor::decode("%%%"), Err(StoreError::Invalid(_))));
        assert!(matches!(
            Cursor::decode("aGVsbG8"),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn transactions_are_bounded() {
        let items: Vec<Item> = (0..101)
            .map(|i| Item::new(Key::new(format!("P{i}"), "S"), "{}"))
            .collect();
        assert!(check_transaction(&items).is_err());
        let dup = vec![
            Item::new(Key::new("P", "S"), "{}"),
            Item::new(Key::new("P", "S"), "{}"),
        ];
        assert!(check_transaction(&dup).is_err());
    }

    #[test]
    fn pages_carry_a_resume_token_per_entry() {
        let items: Vec<Item> = (0..3)
            .map(|i| Item::new(Key::new(format!("P{i}"), "S"), "{}"))
            .collect();
        let page = page_of(Index::Collection, items.clone(), 2);
        assert_eq!(page.entries.len(), 2);
        assert_eq!(page.next.as_deref(), Some(page.entries[1].resume.as_str()));
        assert_eq!(Cursor::decode(&page.entries[0].resume).unwrap().pk, "P0");
        assert!(page_of(Index::Collection, items, 3).next.is_none());
    }
}
