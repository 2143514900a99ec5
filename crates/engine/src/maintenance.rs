//! Table maintenance: `OPTIMIZE t [WHERE partition predicate] [ZORDER BY (cols)]` (compaction of
//! small files, or a Z-order rewrite) and `VACUUM t [RETAIN n HOURS] [DRY RUN]` (deleting files no
//! version within the retention needs). VACUUM keeps Delta's safety check: a retention shorter
//! than the table's `delta.deletedFileRetentionDuration` (7 days by default) is refused, and
//! lowering that property is how a user opts out, deliberately.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Ident, ObjectName, Value};
use deltalake::operations::optimize::OptimizeType;
use deltalake::{FilterOp, FilterValue};

use crate::dml::delta_error;
use crate::error::{EngineError, EngineResult};
use crate::output::{batch_stream, Outcome};
use crate::script::Script;

/// `col op literal [AND …]` as partition filters.
fn partition_filters(e: &Expr, out: &mut Vec<(String, String, String)>) -> EngineResult<()> {
    let refuse = || {
        EngineError::invalid(
            "OPTIMIZE … WHERE takes predicates on partition columns: col = value [AND col > value …]",
        )
    };
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            partition_filters(left, out)?;
            partition_filters(right, out)
        }
        Expr::Nested(inner) => partition_filters(inner, out),
        Expr::BinaryOp { left, op, right } => {
            let Expr::Identifier(col) = &**left else {
                return Err(refuse());
            };
            let op = match op {
                BinaryOperator::Eq => "=",
                BinaryOperator::NotEq => "!=",
                BinaryOperator::Gt => ">",
                BinaryOperator::GtEq => ">=",
                BinaryOperator::Lt => "<",
                BinaryOperator::LtEq => "<=",
                _ => return Err(refuse()),
            };
            let value = match &**right {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) => s.clone(),
                    Value::Number(n, _) => n.clone(),
                    Value::Boolean(b) => b.to_string(),
                    _ => return Err(refuse()),
                },
                _ => return Err(refuse()),
            };
            out.push((col.value.clone(), op.to_string(), value));
            Ok(())
        }
        _ => Err(refuse()),
    }
}

impl Script<'_> {
    pub(crate) async fn optimize(
        &self,
        index: usize,
        table: &ObjectName,
        predicate: Option<Expr>,
        zorder: Vec<Ident>,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(table)?;
        let (_, delta) = self.writable(&name, false).await?;
        let mut parts = Vec::new();
        if let Some(p) = &predicate {
            partition_filters(p, &mut parts)?;
        }
        let partition_columns = delta.snapshot()?.metadata().partition_columns().to_vec();
        let mut filters = Vec::with_capacity(parts.len());
        for (col, op, value) in &parts {
            if !partition_columns
                .iter()
                .any(|p| p.eq_ignore_ascii_case(col))
            {
                return Err(EngineError::invalid(format!(
                    "OPTIMIZE {name} WHERE: '{col}' is not a partition column (partitioned by: {})",
                    if partition_columns.is_empty() {
                        "nothing".to_string()
                    } else {
                        partition_columns.join(", ")
                    }
                )));
            }
            let op: FilterOp = op.parse()?;
            filters.push((col.as_str(), op, FilterValue::Scalar(value.as_str())));
        }
        let kind = match zorder.is_empty() {
            true => OptimizeType::Compact,
            false => {
                let mut cols = Vec::with_capacity(zorder.len());
                for c in &zorder {
                    cols.push(self.column_named(&delta, &name, &c.value)?);
                }
                OptimizeType::ZOrder(cols)
            }
        };
        let location = delta.table_url().to_string();
        let (_, metrics) = delta
            .optimize()
            .with_type(kind)
            .with_filters(&filters)
            .with_session_state(Arc::new(self.session.state()))
            .with_commit_properties(self.commit(index))
            .await
            .map_err(|e| delta_error(&name, e))?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("path", DataType::Utf8, false),
            Field::new("numFilesAdded", DataType::Int64, false),
            Field::new("numFilesRemoved", DataType::Int64, false),
            Field::new("partitionsOptimized", DataType::Int64, false),
            Field::new("totalConsideredFiles", DataType::Int64, false),
            Field::new("totalFilesSkipped", DataType::Int64, false),
        ]));
        let n = |v: usize| Arc::new(Int64Array::from(vec![v as i64])) as ArrayRef;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![location])),
                n(metrics.num_files_added as usize),
                n(metrics.num_files_removed as usize),
                n(metrics.partitions_optimized as usize),
                n(metrics.total_considered_files),
                n(metrics.total_files_skipped),
            ],
        )?;
        Ok(Outcome::Rows(batch_stream(batch)))
    }

    pub(crate) async fn vacuum(
        &self,
        table: &ObjectName,
        retain_hours: Option<f64>,
        dry_run: bool,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(table)?;
        let (_, delta) = self.writable(&name, false).await?;
        let location = delta.table_url().to_string();
        let mut builder = delta.vacuum().with_dry_run(dry_run);
        if let Some(h) = retain_hours {
            if !(0.0..=1_000_000.0).contains(&h) {
                return Err(EngineError::invalid(format!(
                    "VACUUM RETAIN {h} HOURS: out of range"
                )));
            }
            builder = builder
                .with_retention_period(chrono::Duration::milliseconds((h * 3_600_000.0) as i64));
        }
        let (_, metrics) = builder.await.map_err(|e| {
            let msg = e.to_string();
            match msg.contains("retention") {
                true => EngineError::invalid(format!(
                    "VACUUM {name}: {msg}. Files younger than the table's \
                     delta.deletedFileRetentionDuration (7 days by default) may still be read by \
                     time travel or running queries; to vacuum sooner, lower that property with \
                     ALTER TABLE … SET TBLPROPERTIES"
                )),
                false => delta_error(&name, e),
            }
        })?;
        let paths: Vec<String> = match dry_run {
            true => metrics.files_deleted,
            false => vec![location],
        };
        let schema = Arc::new(Schema::new(vec![Field::new("path", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(paths))])?;
        Ok(Outcome::Rows(batch_stream(batch)))
    }
}
