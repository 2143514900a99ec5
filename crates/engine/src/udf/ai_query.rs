//! `ai_query('<endpoint>', <request>[, '<return type>'])`: a model serving endpoint called from
//! SQL, a batch of rows per request. A struct request is sent as `dataframe_records` (its fields
//! are the columns), any other value as a one-column `dataframe_split`; the answer's
//! `predictions` (one per row; a NULL request is not sent and answers NULL) come back as the return type (DOUBLE unless a third argument names
//! STRING, BIGINT, INT, FLOAT or BOOLEAN; objects and lists as JSON text in a STRING). Requests
//! go out a few at a time per batch, are retried when the endpoint throttles, and a failure fails
//! the statement naming the endpoint. The caller must be allowed to query the endpoint.

use std::sync::Arc;
use std::time::Duration;

use deltalake::arrow::array::{
    Array, ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
};
use deltalake::arrow::datatypes::{DataType, Field, FieldRef};
use deltalake::datafusion::common::{exec_err, Result as DfResult, ScalarValue};
use deltalake::datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use deltalake::datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use futures::{StreamExt, TryStreamExt};
use lakeplane_core::catalog::Identity;
use lakeplane_core::serving::calls::{CallError, EndpointCalls};
use serde_json::{json, Value};

/// Rows per request.
pub const ROWS_PER_REQUEST: usize = 500;
/// Requests in flight at once, per batch.
pub const CONCURRENT_REQUESTS: usize = 4;
/// Attempts of a request the endpoint throttles.
const ATTEMPTS: u32 = 6;

#[derive(Debug)]
pub(crate) struct AiQuery {
    calls: Arc<dyn EndpointCalls>,
    who: Identity,
    signature: Signature,
}

impl PartialEq for AiQuery {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.calls, &other.calls) && self.who == other.who
    }
}
impl Eq for AiQuery {}
impl std::hash::Hash for AiQuery {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.who.user.hash(state);
    }
}

/// The UDF for a statement run by `who`.
pub(crate) fn udf(calls: Arc<dyn EndpointCalls>, who: Identity) -> ScalarUDF {
    let inner = AiQuery {
        calls,
        who,
        signature: Signature::variadic_any(Volatility::Volatile),
    };
    AsyncScalarUDF::new(Arc::new(inner)).into_scalar_udf()
}

fn return_type(name: Option<&ScalarValue>) -> DfResult<DataType> {
    let text = match name {
        None => return Ok(DataType::Float64),
        Some(
            ScalarValue::Utf8(Some(t))
            | ScalarValue::LargeUtf8(Some(t))
            | ScalarValue::Utf8View(Some(t)),
        ) => t.to_uppercase(),
        Some(other) => {
            return exec_err!("ai_query's third argument names a return type, got {other}")
        }
    };
    Ok(match text.as_str() {
        "DOUBLE" | "FLOAT" => DataType::Float64,
        "BIGINT" | "INT" | "INTEGER" | "LONG" => DataType::Int64,
        "STRING" => DataType::Utf8,
        "BOOLEAN" => DataType::Boolean,
        t => {
            return exec_err!(
                "ai_query returns DOUBLE, FLOAT, BIGINT, INT, STRING or BOOLEAN, not {t}"
            )
        }
    })
}

/// One value as JSON.
fn to_json(v: &ScalarValue) -> Value {
    match v {
        ScalarValue::Struct(s) => {
            let mut m = serde_json::Map::new();
            for (i, f) in s.fields().iter().enumerate() {
                let value = ScalarValue::try_from_array(s.column(i), 0)
                    .map(|v| to_json(&v))
                    .unwrap_or(Value::Null);
                m.insert(f.name().clone(), value);
            }
            Value::Object(m)
        }
        v if v.is_null() => Value::Null,
        ScalarValue::Boolean(Some(b)) => json!(b),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => json!(s),
        v => match v.cast_to(&DataType::Float64) {
            Ok(ScalarValue::Float64(Some(f))) => json!(f),
            _ => json!(v.to_string()),
        },
    }
}

/// The request for `rows` of the request column.
fn request(values: &[Value], structs: bool) -> Value {
    if structs {
        json!({ "dataframe_records": values })
    } else {
        let data: Vec<Value> = values.iter().map(|v| json!([v])).collect();
        json!({ "dataframe_split": { "columns": ["input"], "data": data } })
    }
}

impl ScalarUDFImpl for AiQuery {
    fn name(&self) -> &str {
        "ai_query"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Float64)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        if !(2..=3).contains(&args.arg_fields.len()) {
            return exec_err!(
                "ai_query takes an endpoint name, a request and optionally a return type"
            );
        }
        let t = return_type(args.scalar_arguments.get(2).copied().flatten())?;
        Ok(Arc::new(Field::new("ai_query", t, true)))
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        exec_err!("ai_query runs asynchronously")
    }
}

impl AiQuery {
    /// Sends one request, again while the endpoint throttles.
    async fn send(&self, endpoint: &str, body: Vec<u8>) -> Result<Vec<u8>, CallError> {
        let mut wait = Duration::from_millis(100);
        for attempt in 1..=ATTEMPTS {
            match self.calls.call(endpoint, &self.who, body.clone()).await {
                Err(CallError::Throttled { .. }) if attempt < ATTEMPTS => {
                    let jitter = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos())
                        % 1000;
                    tokio::time::sleep(wait.mul_f64(0.5 + jitter as f64 / 1000.0)).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
        Err(CallError::Throttled {
            endpoint: endpoint.to_string(),
        })
    }
}

#[async_trait::async_trait]
impl AsyncScalarUDFImpl for AiQuery {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let endpoint = match args.args.first() {
            Some(ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(e))
                | ScalarValue::Utf8View(Some(e))
                | ScalarValue::LargeUtf8(Some(e)),
            )) => e.clone(),
            _ => {
                return exec_err!(
                    "ai_query's first argument is the endpoint's name, as a string literal"
                )
            }
        };
        let rows = args.number_rows;
        let input = match args.args.get(1) {
            Some(v) => v.to_array(rows)?,
            None => return exec_err!("ai_query needs a request"),
        };
        let structs = matches!(input.data_type(), DataType::Struct(_));
        // A NULL request is not sent; its answer is NULL.
        let sent: Vec<usize> = (0..rows).filter(|i| !input.is_null(*i)).collect();
        let values: Vec<Value> = sent
            .iter()
            .map(|i| ScalarValue::try_from_array(&input, *i).map(|v| to_json(&v)))
            .collect::<DfResult<_>>()?;
        let requests: Vec<(Vec<u8>, usize)> = values
            .chunks(ROWS_PER_REQUEST)
            .map(|chunk| {
                (
                    serde_json::to_vec(&request(chunk, structs)).unwrap_or_default(),
                    chunk.len(),
                )
            })
            .collect();
        let answers: Vec<Vec<Value>> = futures::stream::iter(requests.into_iter().map(|(body, n)| {
            let endpoint = endpoint.clone();
            async move {
                let bytes = self.send(&endpoint, body).await.map_err(|e| deltalake::datafusion::error::DataFusionError::Execution(format!("ai_query: {e}")))?;
                let answer: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    deltalake::datafusion::error::DataFusionError::Execution(format!("ai_query: serving endpoint '{endpoint}' answered something that is not JSON: {e}"))
                })?;
                let predictions = match answer {
                    Value::Object(mut m) => m.remove("predictions").or_else(|| m.remove("outputs")).unwrap_or(Value::Null),
                    other => other,
                };
                match predictions {
                    Value::Array(p) if p.len() == n => Ok(p),
                    other => exec_err!(
                        "ai_query: serving endpoint '{endpoint}' answered {} predictions for {n} rows",
                        other.as_array().map_or(0, Vec::len)
                    ),
                }
            }
        }))
        .buffered(CONCURRENT_REQUESTS)
        .try_collect()
        .await?;
        let t = self.return_field_from_args(ReturnFieldArgs {
            arg_fields: &args.arg_fields,
            scalar_arguments: &args
                .args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Scalar(s) => Some(s),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        })?;
        let mut all = vec![Value::Null; rows];
        for (i, v) in sent.into_iter().zip(answers.into_iter().flatten()) {
            all[i] = v;
        }
        Ok(ColumnarValue::Array(column(
            t.data_type(),
            all.into_iter(),
        )?))
    }
}

/// The predictions as a column of `t`.
fn column(t: &DataType, predictions: impl Iterator<Item = Value>) -> DfResult<ArrayRef> {
    // A one-element list (a model that answers [[v], …]) is its element.
    let unwrap = |v: Value| match v {
        Value::Array(mut a) if a.len() == 1 => a.remove(0),
        v => v,
    };
    Ok(match t {
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for v in predictions {
                match v {
                    Value::Null => b.append_null(),
                    Value::String(s) => b.append_value(s),
                    v => b.append_value(v.to_string()),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            for v in predictions.map(unwrap) {
                b.append_option(
                    v.as_i64()
                        .or_else(|| v.as_f64().map(|f| f as i64))
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok())),
                );
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for v in predictions.map(unwrap) {
                b.append_option(v.as_bool().or_else(|| v.as_i64().map(|i| i != 0)));
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = Float64Builder::new();
            for v in predictions.map(unwrap) {
                b.append_option(
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok())),
                );
            }
            Arc::new(b.finish())
        }
    })
}
