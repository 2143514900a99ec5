//! Request extractors that answer bad input with Databricks error JSON instead of axum's plain text.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON object body. An empty body is `{}`, as the SDK sends for argument-less POSTs.
#[derive(Debug, Clone, Default)]
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "INVALID_PARAMETER_VALUE",
                    format!("The request body is larger than the {MAX_BODY_BYTES} byte limit."),
                )
            })?;
        Body::parse(&bytes)
    }
}

impl Body {
    pub fn parse(bytes: &Bytes) -> ApiResult<Body> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(Body(m)),
            Ok(_) => Err(ApiError::invalid("The request body must be a JSON object.")),
            Err(e) => Err(ApiError::invalid(format!(
                "Malformed JSON in the request body: {e}"
            ))),
        }
    }

    /// A required id field; numbers and numeric strings are accepted.
    pub fn id(&self, field: &str) -> ApiResult<u64> {
        self.opt_id(field)?
            .ok_or_else(|| ApiError::invalid(format!("Missing required field: {field}")))
    }

    pub fn opt_id(&self, field: &str) -> ApiResult<Option<u64>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad_id(field)),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad_id(field)),
            Some(_) => Err(bad_id(field)),
        }
    }

    /// An optional field parsed into `T`, with a message that names the field.
    pub fn opt<T: serde::de::DeserializeOwned>(&self, field: &str) -> ApiResult<Option<T>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| ApiError::invalid(format!("Invalid value for {field}: {e}"))),
        }
    }
}

fn bad_id(field: &str) -> ApiError {
    ApiError::invalid(format!("{field} must be a positive integer"))
}

/// Query-string parameters. Repeated keys keep every value; booleans parse case-insensitively
/// (the SDK sends nested booleans as `True`).
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, Vec<String>>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(q) = parts.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_default().push(v.into_owned());
            }
        }
        Ok(Params(map))
    }
}

impl Params {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn id(&self, name: &str) -> ApiResult<u64> {
        self.opt_u64(name)?
            .ok_or_else(|| ApiError::invalid(format!("Missing required parameter: {name}")))
    }

    pub fn opt_u64(&self, name: &str) -> ApiResult<Option<u64>> {
        match self.str(name) {
            None | Some("") => Ok(None),
            Some(s) => s.trim().parse().map(Some).map_err(|_| {
                ApiError::invalid(format!("{name} must be a non-negative integer, got '{s}'"))
            }),
        }
    }

    pub fn bool(&self, name: &str) -> ApiResult<bool> {
        match self.str(name) {
            None | Some("") => Ok(false),
            Some(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(s) => Err(ApiError::invalid(format!(
                "{name} must be true or false, got '{s}'"
            ))),
        }
    }

    /// `limit`: `default` when absent or 0, an error outside 1..=`max`.
    pub fn limit(&self, default: usize, max: usize) -> ApiResult<usize> {
        match self.opt_u64("limit")? {
            None | Some(0) => Ok(default),
            Some(n) if n as usize <= max => Ok(n as usize),
            Some(n) => Err(ApiError::invalid(format!(
                "limit must be between 1 and {max}, got {n}"
            ))),
        }
    }
}
