//! Listings, in Databricks' column names: SHOW CATALOGS | SCHEMAS | TABLES | VIEWS | COLUMNS |
//! TBLPROPERTIES | CREATE TABLE (here), and the descriptions DESCRIBE [TABLE] [EXTENDED] and DESCRIBE
//! DETAIL ([`describe`]). `LIKE` patterns are Databricks': `*` for any characters, `|` between
//! alternatives, any case.

mod describe;
mod metadata;

pub use metadata::pattern_matches;

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::datafusion::sql::sqlparser::ast::Statement;
use lakeplane_core::catalog::{check_name, FullName, Securable, TableInfo, TableType};

use crate::error::{EngineError, EngineResult};
use crate::output::{batch_stream, Outcome};
use crate::pattern::like;
use crate::script::Script;
use crate::sql::ast::Show;

/// Text columns as one batch.
pub(crate) fn text_table(names: &[&str], rows: Vec<Vec<Option<String>>>) -> EngineResult<Outcome> {
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..names.len())
        .map(|i| {
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| r.get(i).cloned().flatten())
                    .collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    Ok(Outcome::Rows(batch_stream(RecordBatch::try_new(
        schema, columns,
    )?)))
}

/// Databricks' name of an Arrow type (`int`, `bigint`, `string`, `decimal(10,2)`, …).
pub(crate) fn type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", type_name(f.data_type()))
        }
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                type_name(kv[0].data_type()),
                type_name(kv[1].data_type())
            ),
            other => type_name(other),
        },
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string().to_lowercase(),
    }
}

/// Databricks' type enum of an Arrow type (the Statement Execution API's `type_name`, Unity
/// Catalog's `ColumnTypeName`): BOOLEAN, BYTE, SHORT, INT, LONG, …
pub(crate) fn type_enum(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "BOOLEAN",
        DataType::Int8 => "BYTE",
        DataType::Int16 => "SHORT",
        DataType::Int32 => "INT",
        DataType::Int64 => "LONG",
        DataType::Float32 => "FLOAT",
        DataType::Float64 => "DOUBLE",
        DataType::Decimal128(..) | DataType::Decimal256(..) => "DECIMAL",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BINARY",
        DataType::Date32 | DataType::Date64 => "DATE",
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP",
        DataType::Timestamp(_, None) => "TIMESTAMP_NTZ",
        DataType::List(_) | DataType::LargeList(_) => "ARRAY",
        DataType::Map(..) => "MAP",
        DataType::Struct(_) => "STRUCT",
        DataType::Null => "NULL",
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL",
        _ => "STRING",
    }
}

impl Script<'_> {
    pub(crate) async fn show(&self, show: Show) -> EngineResult<Outcome> {
        let m = &self.engine.metastore;
        let keep = |p: &Option<String>, n: &str| p.as_ref().is_none_or(|p| like(p, n));
        match show {
            Show::Catalogs { like: pattern } => {
                let mut rows = Vec::new();
                for c in m.list_catalogs().await? {
                    if keep(&pattern, &c.name)
                        && self.visible(Securable::Catalog(c.name.clone())).await?
                    {
                        rows.push(vec![Some(c.name)]);
                    }
                }
                text_table(&["catalog"], rows)
            }
            Show::Schemas {
                catalog,
                like: pattern,
            } => {
                let catalog = match catalog {
                    Some(c) => check_name("catalog", &c.value)?,
                    None => self.current().catalog,
                };
                let mut rows = Vec::new();
                for s in m.list_schemas(&catalog).await? {
                    if keep(&pattern, &s.name)
                        && self.visible(Securable::Schema(s.full_name())).await?
                    {
                        rows.push(vec![Some(s.name)]);
                    }
                }
                text_table(&["databaseName"], rows)
            }
            Show::Tables {
                ref schema,
                like: ref pattern,
            }
            | Show::Views {
                ref schema,
                like: ref pattern,
            } => {
                let views_only = matches!(show, Show::Views { .. });
                let schema_name = match schema {
                    Some(s) => self.schema_name(s)?,
                    None => self.current(),
                };
                let mut names: Vec<String> = Vec::new();
                for t in m.list_tables(&schema_name).await? {
                    if (!views_only || t.table_type == TableType::View)
                        && keep(pattern, &t.name)
                        && self.visible(Securable::Table(t.full_name())).await?
                    {
                        names.push(t.name);
                    }
                }
                let columns = match views_only {
                    true => ["namespace", "viewName", "isTemporary"],
                    false => ["database", "tableName", "isTemporary"],
                };
                tables_batch(columns, &schema_name.schema, names)
            }
            Show::Columns { table } => {
                let name = self.full_name(&table)?;
                self.require_visible(Securable::Table(name.clone())).await?;
                let schema = self.schema_of(&name).await?;
                let rows = schema
                    .fields()
                    .iter()
                    .map(|f| vec![Some(f.name().clone())])
                    .collect();
                text_table(&["col_name"], rows)
            }
            Show::Properties { table, key } => {
                let name = self.full_name(&table)?;
                self.require_visible(Securable::Table(name.clone())).await?;
                let props = self.properties_of(&name).await?;
                let rows = props
                    .into_iter()
                    .filter(|(k, _)| key.as_ref().is_none_or(|want| want == k))
                    .map(|(k, v)| vec![Some(k), Some(v)])
                    .collect();
                text_table(&["key", "value"], rows)
            }
            Show::Metadata(m) => self.show_metadata(m).await,
            Show::Functions {
                schema,
                like: pattern,
                system,
            } => self.show_functions(schema, pattern, system).await,
            Show::Grants {
                principal,
                kind,
                name,
            } => self.show_grants(principal, kind, &name).await,
            Show::CreateTable { table } => {
                let name = self.full_name(&table)?;
                self.require_visible(Securable::Table(name.clone())).await?;
                let info = self.table_info(&name).await?;
                let stmt = self.create_statement(&info).await?;
                text_table(&["createtab_stmt"], vec![vec![Some(stmt)]])
            }
        }
    }

    /// A table's or view's columns.
    pub(crate) async fn schema_of(&self, name: &FullName) -> EngineResult<SchemaRef> {
        let info = self.table_info(name).await?;
        match info.table_type {
            TableType::View => {
                let df = self.dataframe(self.select_all(name)?).await?;
                Ok(Arc::new(df.schema().as_arrow().clone()))
            }
            _ => {
                let (_, delta) = self.delta_table(name).await?;
                Ok(delta.snapshot()?.snapshot().arrow_schema())
            }
        }
    }

    fn select_all(&self, name: &FullName) -> EngineResult<Statement> {
        let sql = format!(
            "SELECT * FROM `{}`.`{}`.`{}`",
            name.catalog.replace('`', "``"),
            name.schema.replace('`', "``"),
            name.name.replace('`', "``")
        );
        match crate::sql::parse(&sql, &crate::Params::new())?.pop() {
            Some(crate::sql::ast::Command::Std(s)) => Ok(*s),
            _ => Err(EngineError::invalid("could not read the view")),
        }
    }

    /// The table's properties: the Delta table's configuration, or a view's catalog properties.
    pub(crate) async fn properties_of(
        &self,
        name: &FullName,
    ) -> EngineResult<Vec<(String, String)>> {
        let info = self.table_info(name).await?;
        if info.table_type == TableType::View {
            return Ok(info.properties.into_iter().collect());
        }
        let (_, delta) = self.delta_table(name).await?;
        let mut props: Vec<(String, String)> = delta
            .snapshot()?
            .metadata()
            .configuration()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        props.sort();
        Ok(props)
    }

    async fn create_statement(&self, info: &TableInfo) -> EngineResult<String> {
        let name = info.full_name();
        if let Some(v) = &info.view_definition {
            return Ok(format!("CREATE VIEW {name} AS {}", v.sql));
        }
        let schema = self.schema_of(&name).await?;
        let cols: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| {
                let mut c = format!(
                    "  `{}` {}",
                    f.name(),
                    type_name(f.data_type()).to_uppercase()
                );
                if !f.is_nullable() {
                    c.push_str(" NOT NULL");
                }
                if let Some(comment) = f.metadata().get("comment") {
                    c.push_str(&format!(" COMMENT '{}'", comment.replace('\'', "''")));
                }
                c
            })
            .collect();
        let mut stmt = format!("CREATE TABLE {name} (\n{})\nUSING delta", cols.join(",\n"));
        let (_, delta) = self.delta_table(&name).await?;
        let parts = delta.snapshot()?.metadata().partition_columns().to_vec();
        if !parts.is_empty() {
            stmt.push_str(&format!("\nPARTITIONED BY ({})", parts.join(", ")));
        }
        if info.table_type == TableType::External {
            stmt.push_str(&format!(
                "\nLOCATION '{}'",
                info.storage_location.as_deref().unwrap_or("")
            ));
        }
        if let Some(c) = &info.comment {
            stmt.push_str(&format!("\nCOMMENT '{}'", c.replace('\'', "''")));
        }
        let props = self.properties_of(&name).await?;
        if !props.is_empty() {
            let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
            let lines: Vec<String> = props
                .iter()
                .map(|(k, v)| format!("  {} = {}", quote(k), quote(v)))
                .collect();
            stmt.push_str(&format!("\nTBLPROPERTIES (\n{})", lines.join(",\n")));
        }
        Ok(stmt)
    }
}

/// SHOW TABLES' (or VIEWS') rows: the schema, the name, and `false` for isTemporary.
fn tables_batch(columns: [&str; 3], schema: &str, names: Vec<String>) -> EngineResult<Outcome> {
    let out = Arc::new(Schema::new(vec![
        Field::new(columns[0], DataType::Utf8, false),
        Field::new(columns[1], DataType::Utf8, false),
        Field::new(columns[2], DataType::Boolean, false),
    ]));
    let n = names.len();
    let batch = RecordBatch::try_new(
        out,
        vec![
            Arc::new(StringArray::from(vec![schema.to_string(); n])),
            Arc::new(StringArray::from(names)),
            Arc::new(BooleanArray::from(vec![false; n])),
        ],
    )?;
    Ok(Outcome::Rows(batch_stream(batch)))
}
