//! A table's history: `DESCRIBE HISTORY t [LIMIT n]` and `RESTORE [TABLE] t TO VERSION | TIMESTAMP
//! AS OF …`. (Reading the past, `SELECT … FROM t VERSION AS OF n`, is in the catalog adapter.)

use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use deltalake::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use deltalake::datafusion::sql::sqlparser::ast::{ObjectName, TableVersion};
use futures::TryStreamExt;

use crate::catalog::open::AsOf;
use crate::dml::delta_error;
use crate::error::{EngineError, EngineResult};
use crate::output::{batch_stream, Outcome};
use crate::script::Script;
use crate::sql::ast::TimeTravel;
use lakeplane_core::catalog::{Privilege, Securable};

/// The most history entries one DESCRIBE HISTORY returns.
pub const MAX_HISTORY: usize = 10_000;

fn json(v: Option<impl serde::Serialize>) -> Option<String> {
    v.and_then(|v| serde_json::to_string(&v).ok())
}

impl Script<'_> {
    pub(crate) async fn describe_history(
        &self,
        table: &ObjectName,
        limit: Option<u64>,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(table)?;
        self.authorize(Securable::Table(name.clone()), Privilege::Select)
            .await?;
        let (_, delta) = self.delta_table(&name).await?;
        let latest = delta.version().unwrap_or(0) as i64;
        let limit = limit.map_or(MAX_HISTORY, |l| (l as usize).min(MAX_HISTORY));
        let commits: Vec<_> = delta.history(Some(limit)).try_collect().await?;
        let n = commits.len();
        let versions: Vec<i64> = (0..n as i64).map(|i| latest - i).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("version", DataType::Int64, false),
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new("userName", DataType::Utf8, true),
            Field::new("operation", DataType::Utf8, true),
            Field::new("operationParameters", DataType::Utf8, true),
            Field::new("readVersion", DataType::Int64, true),
            Field::new("isolationLevel", DataType::Utf8, true),
            Field::new("isBlindAppend", DataType::Boolean, true),
            Field::new("operationMetrics", DataType::Utf8, true),
            Field::new("userMetadata", DataType::Utf8, true),
            Field::new("engineInfo", DataType::Utf8, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(versions)),
            Arc::new(
                TimestampMillisecondArray::from(
                    commits.iter().map(|c| c.timestamp).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| c.user_name.clone())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| c.operation.clone())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| json(c.operation_parameters.as_ref()))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                commits
                    .iter()
                    .map(|c| c.read_version.map(|v| v as i64))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| c.isolation_level.as_ref().map(|l| format!("{l:?}")))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                commits
                    .iter()
                    .map(|c| c.is_blind_append)
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| json(c.info.get("operationMetrics")))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| c.user_metadata.clone())
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                commits
                    .iter()
                    .map(|c| c.engine_info.clone())
                    .collect::<Vec<_>>(),
            )),
        ];
        let batch = RecordBatch::try_new(schema, columns)?;
        Ok(Outcome::Rows(batch_stream(batch)))
    }

    pub(crate) async fn restore(
        &self,
        index: usize,
        table: &ObjectName,
        to: TimeTravel,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(table)?;
        let (_, delta) = self.writable(&name, true).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Done);
        }
        let as_of = self
            .as_of(&match to {
                TimeTravel::Version(e) => TableVersion::VersionAsOf(e),
                TimeTravel::Timestamp(e) => TableVersion::TimestampAsOf(e),
            })
            .await?;
        let latest = delta.version().unwrap_or(0) as i64;
        let builder = delta.restore().with_commit_properties(self.commit(index));
        let builder = match as_of {
            AsOf::Version(v) if v < 0 || v >= latest => {
                return Err(EngineError::invalid(format!(
                    "RESTORE {name} TO VERSION AS OF {v}: the table's versions run from 0 to {latest}; \
                     restore to one before the latest"
                )))
            }
            AsOf::Version(v) => builder.with_version_to_restore(v as u64),
            AsOf::Timestamp(ms) => match chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms) {
                Some(at) => builder.with_datetime_to_restore(at),
                None => return Err(EngineError::invalid("RESTORE: the time is out of range")),
            },
        };
        let (_, metrics) = builder.await.map_err(|e| delta_error(&name, e))?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("num_removed_files", DataType::Int64, false),
            Field::new("num_restored_files", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![metrics.num_removed_file as i64])),
                Arc::new(Int64Array::from(vec![metrics.num_restored_file as i64])),
            ],
        )?;
        Ok(Outcome::Rows(batch_stream(batch)))
    }
}
