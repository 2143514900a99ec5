//! The MLflow tracking server and model registry over the state store: [`Mlflow`] holds the use
//! cases the `/api/2.0/mlflow/…` handlers call — experiments and runs ([`experiments`], [`runs`]),
//! logged models ([`logged`]) and the registry ([`registry`]). Every change is a conditional write
//! through [`crate::doc`]; searches read the objects of their kind and filter and sort them with
//! MLflow's filter language.

pub mod experiments;
pub mod logged;
pub mod registry;
pub mod runs;
pub mod versions;

use lakeplane_core::mlflow::filter::{self, Filter, Order, Value};
use lakeplane_core::mlflow::limits::MAX_RESULTS;
use lakeplane_core::mlflow::KeyValue;

use crate::doc::{Documents, Paged};
use crate::error::{ControlError, ControlResult};

/// The MLflow area.
#[derive(Debug, Clone)]
pub struct Mlflow {
    docs: Documents,
}

impl Mlflow {
    pub(crate) fn new(docs: Documents) -> Mlflow {
        Mlflow { docs }
    }
}

/// Which objects a search sees: `ACTIVE_ONLY` (the default), `DELETED_ONLY`, `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub fn parse(text: Option<&str>) -> ControlResult<ViewType> {
        match text.map(|t| t.to_ascii_uppercase()) {
            None => Ok(ViewType::ActiveOnly),
            Some(t) if t.is_empty() || t == "ACTIVE_ONLY" => Ok(ViewType::ActiveOnly),
            Some(t) if t == "DELETED_ONLY" => Ok(ViewType::DeletedOnly),
            Some(t) if t == "ALL" => Ok(ViewType::All),
            Some(t) => Err(ControlError::InvalidParameter(format!(
                "Invalid view_type '{t}'; expected ACTIVE_ONLY, DELETED_ONLY or ALL"
            ))),
        }
    }

    /// Whether an object in `lifecycle_stage` is seen.
    pub fn shows(self, lifecycle_stage: &str) -> bool {
        let deleted = lifecycle_stage == lakeplane_core::mlflow::DELETED;
        match self {
            ViewType::ActiveOnly => !deleted,
            ViewType::DeletedOnly => deleted,
            ViewType::All => true,
        }
    }
}

/// What a search asks for: a filter, an order, a page.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub filter: String,
    pub order_by: Vec<String>,
    pub max_results: Option<usize>,
    pub page_token: Option<String>,
}

impl Search {
    pub(crate) fn parsed(&self) -> ControlResult<(Filter, Vec<Order>)> {
        Ok((
            Filter::parse(&self.filter)?,
            filter::parse_order(&self.order_by)?,
        ))
    }

    /// One page of already filtered and sorted `items`: tokens are offsets.
    pub(crate) fn page<T>(&self, items: Vec<T>, default_size: usize) -> ControlResult<Paged<T>> {
        let size = self.max_results.unwrap_or(default_size);
        if size == 0 || size > MAX_RESULTS * 50 {
            return Err(ControlError::InvalidParameter(format!(
                "max_results must be between 1 and {}, got {size}",
                MAX_RESULTS * 50
            )));
        }
        let start = match self.page_token.as_deref().filter(|t| !t.is_empty()) {
            None => 0,
            Some(t) => t
                .parse::<usize>()
                .map_err(|_| ControlError::InvalidParameter(format!("Invalid page_token '{t}'")))?,
        };
        let total = items.len();
        let items: Vec<T> = items.into_iter().skip(start).take(size).collect();
        let next = start + items.len();
        Ok(Paged {
            items,
            next_page_token: (next < total).then(|| next.to_string()),
        })
    }
}

/// A tag's value from a tag list, for filters.
pub(crate) fn tag_value(tags: &[KeyValue], key: &str) -> Option<Value> {
    tags.iter()
        .find(|t| t.key == key)
        .map(|t| Value::Str(t.value.clone()))
}

/// A number as a filter value.
pub(crate) fn num(n: i64) -> Option<Value> {
    Some(Value::Num(n as f64))
}

pub(crate) fn text(s: &str) -> Option<Value> {
    Some(Value::Str(s.to_string()))
}
