//! Request extractors that answer bad input with Databricks error JSON (never axum's plain text), and
//! the lenient field parsers the Databricks SDK needs (ids as numbers or numeric strings, booleans
//! in any case: the SDK sends nested booleans as `True`).

use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a client may take to send its body once the headers are in, unless the shell sets
/// another deadline ([`BodyDeadline`]).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The body deadline in force, put into each request by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDeadline(pub Duration);

/// A JSON object body parsed into `T`. An empty body is `{}`, as the SDK sends for argument-less
/// POSTs; a field of the wrong type or a missing required field is a 400 that names it.
#[derive(Debug, Clone, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let deadline = req
            .extensions()
            .get::<BodyDeadline>()
            .map_or(BODY_TIMEOUT, |d| d.0);
        let read = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES);
        let bytes = match tokio::time::timeout(deadline, read).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    format!("The request body did not arrive within {deadline:?}."),
                ))
            }
            Ok(Err(_)) => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "INVALID_PARAMETER_VALUE",
                    format!("The request body is larger than the {MAX_BODY_BYTES} byte limit."),
                ))
            }
            Ok(Ok(b)) => b,
        };
        let object = parse_object(&bytes)?;
        from_object(object, "the request body").map(Json)
    }
}

/// A JSON object from bytes; empty or blank bytes are `{}`.
fn parse_object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid("The request body must be a JSON object.")),
        Err(e) => Err(ApiError::invalid(format!(
            "Malformed JSON in the request body: {e}"
        ))),
    }
}

/// `T` from a JSON object, with a message that names the offending field.
fn from_object<T: DeserializeOwned>(object: Map<String, Value>, what: &str) -> ApiResult<T> {
    serde_json::from_value(Value::Object(object)).map_err(|e| {
        let text = e.to_string();
        match text.strip_prefix("missing field `") {
            Some(rest) => ApiError::invalid(format!(
                "Missing required field: {}",
                rest.trim_end_matches('`')
            )),
            None => ApiError::invalid(format!("Invalid {what}: {text}")),
        }
    })
}

/// Query-string parameters parsed into `T`. Every value arrives as a string; fields take them with
/// the parsers in [`lenient`]. Unknown parameters are ignored, as Databricks does.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut object = Map::new();
        if let Some(q) = parts.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                object.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        from_object(object, "query parameter").map(Query)
    }
}

/// The one path parameter of a route (`/queries/{id}`), percent-decoded. Bad encoding (`%FF`) is a
/// 400 in Databricks error JSON.
#[derive(Debug, Clone)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParam(p))
            .map_err(|e| ApiError::invalid(format!("Invalid path: {}", e.body_text())))
    }
}

/// Field parsers for what the SDK sends: use with `#[serde(deserialize_with = ...)]`.
pub mod lenient {
    use serde::de::{Deserializer, Error};
    use serde::Deserialize;
    use serde_json::Value;

    fn number(field: Value) -> Result<Option<u64>, String> {
        match field {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| n.to_string()),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s.trim().parse().map(Some).map_err(|_| s),
            other => Err(other.to_string()),
        }
    }

    /// A required id: a non-negative number, or a string of one.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        opt_u64(d)?.ok_or_else(|| D::Error::custom("expected a positive integer, got nothing"))
    }

    /// An optional non-negative integer, as a number or a string; empty is absent.
    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        number(Value::deserialize(d)?)
            .map_err(|got| D::Error::custom(format!("expected a non-negative integer, got {got}")))
    }

    /// An optional boolean: `true`/`false` in any case, as JSON or text; empty is absent.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            other => Err(D::Error::custom(format!(
                "expected true or false, got {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Ids {
        #[serde(deserialize_with = "lenient::id")]
        job_id: u64,
        #[serde(default, deserialize_with = "lenient::opt_bool")]
        flag: Option<bool>,
    }

    #[test]
    fn fields_parse_leniently_and_errors_name_them() {
        let ok: Ids = from_object(
            parse_object(br#"{"job_id": "42", "flag": "True"}"#).unwrap(),
            "body",
        )
        .unwrap();
        assert_eq!((ok.job_id, ok.flag), (42, Some(true)));
        let missing = from_object::<Ids>(Map::new(), "body").unwrap_err();
        assert_eq!(missing.message, "Missing required field: job_id");
        let bad = from_object::<Ids>(parse_object(br#"{"job_id": -1}"#).unwrap(), "body");
        assert!(bad.unwrap_err().message.contains("non-negative integer"));
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"  ").unwrap().is_empty());
    }
}
