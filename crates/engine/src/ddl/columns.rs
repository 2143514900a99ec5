//! Column definitions (`name TYPE [NOT NULL] [COMMENT '…']`) as Delta schema fields. SQL types are
//! mapped by DataFusion's own planner (the same mapping its CASTs use), then to Delta types;
//! `TIMESTAMP` is Delta's UTC-adjusted timestamp and `TIMESTAMP_NTZ` its local one, as in Databricks.

use std::collections::HashMap;

use deltalake::arrow::datatypes::DataType as ArrowType;
use deltalake::datafusion::sql::sqlparser::ast::{ColumnDef, ColumnOption};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::{DataType, PrimitiveType, StructField};

use crate::error::{EngineError, EngineResult};
use crate::script::Script;

/// The metadata key Databricks keeps a column comment under.
pub(crate) const COMMENT_KEY: &str = "comment";

impl Script<'_> {
    /// Delta fields for column definitions.
    pub(crate) async fn fields(&self, columns: &[ColumnDef]) -> EngineResult<Vec<StructField>> {
        if columns.is_empty() {
            return Ok(vec![]);
        }
        let casts: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CAST(NULL AS {}) AS c{i}", cast_type(c)))
            .collect();
        let df = self
            .session
            .sql(&format!("SELECT {}", casts.join(", ")))
            .await?;
        let mut fields = Vec::with_capacity(columns.len());
        let mut seen = std::collections::HashSet::new();
        for (c, f) in columns.iter().zip(df.schema().fields()) {
            let name = c.name.value.clone();
            if !seen.insert(name.to_lowercase()) {
                return Err(EngineError::invalid(format!(
                    "column '{name}' is defined twice"
                )));
            }
            let data_type = delta_type(&c.data_type.to_string(), f.data_type()).map_err(|e| {
                EngineError::invalid(format!(
                    "column '{name}': type {} is not supported: {e}",
                    c.data_type
                ))
            })?;
            let mut nullable = true;
            let mut meta: HashMap<String, String> = HashMap::new();
            for o in &c.options {
                match &o.option {
                    ColumnOption::NotNull => nullable = false,
                    ColumnOption::Null => nullable = true,
                    ColumnOption::Comment(text) => {
                        meta.insert(COMMENT_KEY.into(), text.clone());
                    }
                    other => {
                        return Err(EngineError::Unsupported(format!(
                            "column '{name}': option {other} is not supported"
                        )))
                    }
                }
            }
            fields.push(StructField::new(name, data_type, nullable).with_metadata(meta));
        }
        Ok(fields)
    }
}

/// The type to CAST to for DataFusion's mapping (it has no TIMESTAMP_NTZ).
fn cast_type(c: &ColumnDef) -> String {
    let t = c.data_type.to_string();
    if t.eq_ignore_ascii_case("TIMESTAMP_NTZ") {
        "TIMESTAMP".into()
    } else {
        t
    }
}

/// The Delta type of a column declared as `sql` that DataFusion maps to `arrow`.
fn delta_type(sql: &str, arrow: &ArrowType) -> Result<DataType, String> {
    Ok(match arrow {
        ArrowType::Timestamp(_, _) if sql.eq_ignore_ascii_case("TIMESTAMP") => {
            DataType::Primitive(PrimitiveType::Timestamp)
        }
        ArrowType::Timestamp(_, _) => DataType::Primitive(PrimitiveType::TimestampNtz),
        ArrowType::Utf8View | ArrowType::LargeUtf8 => DataType::Primitive(PrimitiveType::String),
        ArrowType::BinaryView | ArrowType::LargeBinary => {
            DataType::Primitive(PrimitiveType::Binary)
        }
        ArrowType::Time32(_) | ArrowType::Time64(_) => {
            return Err("TIME is not a Delta type".into())
        }
        other => other.try_into_kernel().map_err(|e| e.to_string())?,
    })
}
