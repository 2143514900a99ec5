//! MLflow's tracking server and model registry (`/api/2.0/mlflow/…`) and its artifact proxy
//! (`/api/2.0/mlflow-artifacts/artifacts/…`), so that the unmodified `mlflow` client, with
//! `MLFLOW_TRACKING_URI=<lakeplane>` and a token, logs, registers and loads models here.
//!
//! The client sends GET parameters in the query string and everything else as a JSON body (DELETE
//! too); the Databricks SDK sends DELETE parameters in the query string: [`Input`] takes both.

mod artifacts;
mod experiments;
mod logged;
mod registry;
mod runs;
mod versions;

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use lakeplane_core::mlflow::artifacts::ArtifactStore;
use lakeplane_http::extract::Json;
use lakeplane_http::{ApiError, Area};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

pub use artifacts::MAX_LIST_ENTRIES;

const API: &str = "/api/2.0/mlflow";

/// What the MLflow handlers use besides the control plane.
#[derive(Debug, Clone)]
pub struct MlflowServices {
    /// Where run and model files are kept.
    pub artifacts: Arc<dyn ArtifactStore>,
}

/// The MLflow area.
pub fn area(services: MlflowServices) -> Area {
    let routes = experiments::routes()
        .merge(runs::routes())
        .merge(logged::routes())
        .merge(registry::routes())
        .merge(versions::routes())
        .merge(artifacts::routes())
        .extension(services);
    let mut doc = <experiments::Doc as utoipa::OpenApi>::openapi();
    doc.merge(<runs::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<logged::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<registry::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<versions::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<artifacts::Doc as utoipa::OpenApi>::openapi());
    Area::new(routes, doc)
}

fn at(path: &str) -> String {
    format!("{API}/{path}")
}

/// The answer of calls that return nothing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Empty {}

/// Request parameters from the query string and the JSON body together (the body wins). Query
/// values are strings; a key given twice is a list.
#[derive(Debug)]
pub struct Input<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut object = Map::new();
        if let Some(q) = req.uri().query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                let v = Value::String(v.into_owned());
                match object.get_mut(k.as_ref()) {
                    Some(Value::Array(a)) => a.push(v),
                    Some(first) => *first = Value::Array(vec![first.take(), v]),
                    None => {
                        object.insert(k.into_owned(), v);
                    }
                }
            }
        }
        let Json(body) = Json::<Map<String, Value>>::from_request(req, state).await?;
        object.extend(body);
        serde_json::from_value(Value::Object(object))
            .map(Input)
            .map_err(|e| {
                let text = e.to_string();
                match text.strip_prefix("missing field `") {
                    Some(rest) => ApiError::invalid(format!(
                        "Missing value for required parameter '{}'.",
                        rest.trim_end_matches('`')
                    )),
                    None => ApiError::invalid(format!("Invalid request: {text}")),
                }
            })
    }
}

/// Lenient field parsers: query strings carry every value as text.
pub(crate) mod lenient {
    use super::*;

    /// An optional integer, as a number or a string.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("expected an integer, got {n}"))),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected an integer, got '{s}'"))),
            other => Err(D::Error::custom(format!(
                "expected an integer, got {other}"
            ))),
        }
    }

    /// An optional count.
    pub fn opt_usize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        use serde::de::Error;
        match opt_i64(d)? {
            Some(n) if n < 0 => Err(D::Error::custom(format!(
                "expected a non-negative integer, got {n}"
            ))),
            n => Ok(n.map(|n| n as usize)),
        }
    }

    /// A list given as a JSON array, one query value, or repeated query values.
    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Null => Ok(vec![]),
            Value::String(s) => Ok(vec![s]),
            Value::Array(a) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(D::Error::custom(format!("expected a string, got {other}"))),
                })
                .collect(),
            Value::Number(n) => Ok(vec![n.to_string()]),
            other => Err(D::Error::custom(format!(
                "expected a list of strings, got {other}"
            ))),
        }
    }

    /// An id given as a string or a number (experiment ids, versions).
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(D::Error::custom(format!("expected a string, got {other}"))),
        }
    }

    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) => Ok(Some(n.to_string())),
            other => Err(D::Error::custom(format!("expected a string, got {other}"))),
        }
    }

    /// An optional boolean, as JSON or text.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        lakeplane_http::extract::lenient::opt_bool(d)
    }
}

/// The one of `run_id` and `run_uuid` a request gave.
pub(crate) fn run_id(run_id: Option<String>, run_uuid: Option<String>) -> Result<String, ApiError> {
    run_id
        .filter(|r| !r.is_empty())
        .or(run_uuid.filter(|r| !r.is_empty()))
        .ok_or_else(|| ApiError::invalid("Missing value for required parameter 'run_id'."))
}

/// A search's filter, order and page.
pub(crate) fn search(
    filter: Option<String>,
    order_by: Vec<String>,
    max_results: Option<usize>,
    page_token: Option<String>,
) -> lakeplane_control::mlflow::Search {
    lakeplane_control::mlflow::Search {
        filter: filter.unwrap_or_default(),
        order_by,
        max_results,
        page_token,
    }
}
