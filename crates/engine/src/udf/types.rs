//! SQL types of function parameters and results, and the Arrow types that carry them across the
//! UDF ABI.

use deltalake::arrow::datatypes::{DataType, TimeUnit};
use deltalake::datafusion::sql::sqlparser::ast::DataType as SqlType;

use crate::error::{EngineError, EngineResult};

/// The canonical SQL name of a type a WASM function may take or return, or an error saying which
/// types it may.
pub(crate) fn sql_name(t: &SqlType, what: &str) -> EngineResult<&'static str> {
    let text = t.to_string().to_ascii_uppercase();
    let base = text.split('(').next().unwrap_or("").trim();
    Ok(match base {
        "BOOLEAN" | "BOOL" => "BOOLEAN",
        "INT" | "INTEGER" => "INT",
        "BIGINT" | "LONG" => "BIGINT",
        "FLOAT" | "REAL" => "FLOAT",
        "DOUBLE" | "DOUBLE PRECISION" => "DOUBLE",
        "STRING" | "VARCHAR" | "TEXT" | "CHAR" => "STRING",
        "BINARY" | "VARBINARY" | "BYTEA" => "BINARY",
        "DATE" => "DATE",
        "TIMESTAMP" => "TIMESTAMP",
        _ => {
            return Err(EngineError::Unsupported(format!(
                "{what}: type {text} cannot be passed to a WASM function (it may use BOOLEAN, \
                 INT, BIGINT, FLOAT, DOUBLE, STRING, BINARY, DATE and TIMESTAMP)"
            )))
        }
    })
}

/// The Arrow type of a canonical SQL name (as [`sql_name`] gives and the catalog keeps).
pub(crate) fn arrow_type(sql: &str) -> EngineResult<DataType> {
    Ok(match sql {
        "BOOLEAN" => DataType::Boolean,
        "INT" => DataType::Int32,
        "BIGINT" => DataType::Int64,
        "FLOAT" => DataType::Float32,
        "DOUBLE" => DataType::Float64,
        "STRING" => DataType::Utf8,
        "BINARY" => DataType::Binary,
        "DATE" => DataType::Date32,
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        other => {
            return Err(EngineError::invalid(format!(
                "a function's type {other} is not one lakeplane knows"
            )))
        }
    })
}
