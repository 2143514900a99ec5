//! DESCRIBE [TABLE] [EXTENDED] and DESCRIBE DETAIL, in Databricks' column names.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::datafusion::sql::sqlparser::ast::ObjectName;
use lakeplane_core::catalog::{FullName, Securable, TableType};

use super::{text_table, type_name};
use crate::catalog::location;
use crate::error::EngineResult;
use crate::output::{batch_stream, Outcome};
use crate::script::Script;
use crate::sql::ast::DescribeWhat;

impl Script<'_> {
    pub(crate) async fn describe(
        &self,
        table: &ObjectName,
        what: DescribeWhat,
    ) -> EngineResult<Outcome> {
        self.require_visible(Securable::Table(self.full_name(table)?))
            .await?;
        match what {
            DescribeWhat::History { limit } => self.describe_history(table, limit).await,
            DescribeWhat::Detail => self.describe_detail(&self.full_name(table)?).await,
            DescribeWhat::Table { extended } => {
                let name = self.full_name(table)?;
                let info = self.table_info(&name).await?;
                let schema = self.schema_of(&name).await?;
                let mut rows: Vec<Vec<Option<String>>> = schema
                    .fields()
                    .iter()
                    .map(|f| {
                        vec![
                            Some(f.name().clone()),
                            Some(type_name(f.data_type())),
                            f.metadata().get("comment").cloned(),
                        ]
                    })
                    .collect();
                if info.table_type != TableType::View {
                    let (_, delta) = self.delta_table(&name).await?;
                    let parts = delta.snapshot()?.metadata().partition_columns().to_vec();
                    if !parts.is_empty() {
                        rows.push(vec![Some("# Partition Information".into()), None, None]);
                        rows.push(vec![
                            Some("# col_name".into()),
                            Some("data_type".into()),
                            Some("comment".into()),
                        ]);
                        for p in parts {
                            let t = schema
                                .field_with_name(&p)
                                .map(|f| type_name(f.data_type()))
                                .ok();
                            rows.push(vec![Some(p.clone()), t, None]);
                        }
                    }
                }
                if extended {
                    rows.push(vec![
                        Some(String::new()),
                        Some(String::new()),
                        Some(String::new()),
                    ]);
                    rows.push(vec![
                        Some("# Detailed Table Information".into()),
                        None,
                        None,
                    ]);
                    let kind = match info.table_type {
                        TableType::Managed => "MANAGED",
                        TableType::External => "EXTERNAL",
                        TableType::View => "VIEW",
                    };
                    for (k, v) in [
                        ("Catalog", Some(info.catalog_name.clone())),
                        ("Database", Some(info.schema_name.clone())),
                        ("Table", Some(info.name.clone())),
                        ("Type", Some(kind.to_string())),
                        ("Location", info.storage_location.clone()),
                        (
                            "Provider",
                            info.data_source_format.as_ref().map(|f| f.to_lowercase()),
                        ),
                        ("Owner", Some(info.owner.clone())),
                        ("Comment", info.comment.clone()),
                        (
                            "View Text",
                            info.view_definition.as_ref().map(|v| v.sql.clone()),
                        ),
                    ] {
                        if let Some(v) = v {
                            rows.push(vec![Some(k.into()), Some(v), None]);
                        }
                    }
                }
                text_table(&["col_name", "data_type", "comment"], rows)
            }
        }
    }

    async fn describe_detail(&self, name: &FullName) -> EngineResult<Outcome> {
        let (info, delta) = self.delta_table(name).await?;
        let snapshot = delta.snapshot()?;
        let metadata = snapshot.metadata();
        let protocol = snapshot.protocol();
        let (mut files, mut size) = (0i64, 0i64);
        for f in snapshot.log_data() {
            files += 1;
            size += f.size();
        }
        let mut props: Vec<(String, String)> = metadata
            .configuration()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        props.sort();
        let props: serde_json::Map<String, serde_json::Value> =
            props.into_iter().map(|(k, v)| (k, v.into())).collect();
        let last_modified = delta.history(Some(1));
        let last_modified: Vec<_> = futures::TryStreamExt::try_collect(last_modified).await?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("format", DataType::Utf8, false),
            Field::new("id", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("description", DataType::Utf8, true),
            Field::new("location", DataType::Utf8, false),
            Field::new("createdAt", DataType::Int64, true),
            Field::new("lastModified", DataType::Int64, true),
            Field::new("partitionColumns", DataType::Utf8, false),
            Field::new("numFiles", DataType::Int64, false),
            Field::new("sizeInBytes", DataType::Int64, false),
            Field::new("properties", DataType::Utf8, false),
            Field::new("minReaderVersion", DataType::Int64, false),
            Field::new("minWriterVersion", DataType::Int64, false),
            Field::new("tableType", DataType::Utf8, false),
            Field::new("isManaged", DataType::Boolean, false),
        ]));
        let s = |v: String| Arc::new(StringArray::from(vec![v])) as ArrayRef;
        let i = |v: Option<i64>| Arc::new(Int64Array::from(vec![v])) as ArrayRef;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                s("delta".into()),
                s(info.table_id.clone()),
                s(name.to_string()),
                Arc::new(StringArray::from(vec![info.comment.clone()])),
                s(location(&info)?.to_string()),
                i(metadata.created_time()),
                i(last_modified.first().and_then(|c| c.timestamp)),
                s(serde_json::to_string(metadata.partition_columns()).unwrap_or_default()),
                i(Some(files)),
                i(Some(size)),
                s(serde_json::Value::Object(props).to_string()),
                i(Some(protocol.min_reader_version() as i64)),
                i(Some(protocol.min_writer_version() as i64)),
                s(format!("{:?}", info.table_type).to_uppercase()),
                Arc::new(BooleanArray::from(vec![
                    info.table_type == TableType::Managed,
                ])),
            ],
        )?;
        Ok(Outcome::Rows(batch_stream(batch)))
    }
}
