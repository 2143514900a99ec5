//! The metadata listings the SQL connector and its kernel send to a warehouse:
//! `SHOW SCHEMAS|TABLES|COLUMNS IN ALL CATALOGS|IN CATALOG c [SCHEMA LIKE 'p'] [TABLE LIKE 'p']
//! [LIKE 'p']`, answered in the columns Databricks SQL answers them with (the kernel maps them to
//! JDBC's `TABLE_CAT`, `TABLE_SCHEM`, …; the SEA client reads `tableType` at position 5). Patterns
//! are JDBC's: `%` any characters, `_` one, any case; `*` also works. At most [`MAX_ROWS`] rows.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use lakeplane_core::catalog::{check_name, SchemaName, Securable, TableType};

use super::type_name;
use crate::error::{EngineError, EngineResult};
use crate::output::{batch_stream, Outcome};
use crate::script::Script;
use crate::sql::ast::{Metadata, MetadataOf};

/// The most rows one listing returns.
pub const MAX_ROWS: usize = 100_000;

/// Whether `name` matches a JDBC pattern (`%`/`*` any run, `_` one character, `\` escapes), any
/// case; no pattern matches everything.
pub fn pattern_matches(pattern: Option<&str>, name: &str) -> bool {
    let Some(p) = pattern else { return true };
    let p: Vec<char> = p.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('%' | '*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('\\'), _) if p.len() > 1 => n.first() == p.get(1) && go(&p[2..], &n[1..]),
            (Some('_'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(&p, &n)
}

fn matches(pattern: &Option<String>, name: &str) -> bool {
    pattern_matches(pattern.as_deref(), name)
}

/// A column of the answer.
enum Col {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i32>>),
    Bool(Vec<bool>),
}

impl Script<'_> {
    pub(crate) async fn show_metadata(&self, m: Metadata) -> EngineResult<Outcome> {
        let store = &self.engine.metastore;
        let catalogs: Vec<String> = match &m.catalog {
            Some(c) => vec![check_name("catalog", c)?],
            None => store
                .list_catalogs()
                .await?
                .into_iter()
                .map(|c| c.name)
                .collect(),
        };
        let mut schemas: Vec<SchemaName> = Vec::new();
        for c in &catalogs {
            if !self.visible(Securable::Catalog(c.clone())).await? {
                continue;
            }
            for s in store.list_schemas(c).await? {
                if matches(&m.schema_like, &s.name)
                    && self.visible(Securable::Schema(s.full_name())).await?
                {
                    schemas.push(SchemaName::new(c, &s.name)?);
                }
            }
        }
        if m.of == MetadataOf::Schemas {
            let names = schemas.iter().filter(|s| matches(&m.like, &s.schema));
            let (db, cat): (Vec<_>, Vec<_>) = names
                .take(MAX_ROWS)
                .map(|s| (Some(s.schema.clone()), Some(s.catalog.clone())))
                .unzip();
            return answer(vec![
                ("databaseName", Col::Text(db)),
                ("catalog", Col::Text(cat)),
            ]);
        }
        let table_pattern = match m.of {
            MetadataOf::Tables => &m.like,
            _ => &m.table_like,
        };
        let mut tables = Vec::new();
        for s in &schemas {
            for t in store.list_tables(s).await? {
                if matches(table_pattern, &t.name)
                    && self.visible(Securable::Table(t.full_name())).await?
                {
                    tables.push(t);
                }
                if tables.len() >= MAX_ROWS {
                    break;
                }
            }
        }
        if m.of == MetadataOf::Tables {
            let n = tables.len();
            let text = |f: &dyn Fn(&lakeplane_core::catalog::TableInfo) -> Option<String>| {
                Col::Text(tables.iter().map(f).collect())
            };
            return answer(vec![
                ("catalogName", text(&|t| Some(t.catalog_name.clone()))),
                ("namespace", text(&|t| Some(t.schema_name.clone()))),
                ("tableName", text(&|t| Some(t.name.clone()))),
                ("isTemporary", Col::Bool(vec![false; n])),
                ("information", Col::Text(vec![None; n])),
                (
                    "tableType",
                    text(&|t| {
                        Some(
                            if t.table_type == TableType::View {
                                "VIEW"
                            } else {
                                "TABLE"
                            }
                            .into(),
                        )
                    }),
                ),
                (
                    "remarks",
                    text(&|t| Some(t.comment.clone().unwrap_or_default())),
                ),
            ]);
        }
        let mut rows: Vec<[Option<String>; 5]> = Vec::new();
        let mut ints: Vec<[Option<i32>; 4]> = Vec::new();
        let mut nullable: Vec<Option<String>> = Vec::new();
        for t in &tables {
            let schema = match self.schema_of(&t.full_name()).await {
                Ok(s) => s,
                // A table whose files are gone is listed without columns rather than failing all.
                Err(EngineError::NotFound { .. } | EngineError::Delta(_)) => continue,
                Err(e) => return Err(e),
            };
            for (i, f) in schema.fields().iter().enumerate() {
                if !matches(&m.like, f.name()) || rows.len() >= MAX_ROWS {
                    continue;
                }
                let (size, digits) = match f.data_type() {
                    DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                        (Some(i32::from(*p)), Some(i32::from(*s)))
                    }
                    _ => (None, None),
                };
                rows.push([
                    Some(t.catalog_name.clone()),
                    Some(t.schema_name.clone()),
                    Some(t.name.clone()),
                    Some(f.name().clone()),
                    Some(type_name(f.data_type()).to_uppercase()),
                ]);
                ints.push([size, digits, Some(10), Some(i as i32 + 1)]);
                nullable.push(Some(
                    if f.is_nullable() { "true" } else { "false" }.to_string(),
                ));
            }
        }
        let text = |i: usize| Col::Text(rows.iter().map(|r| r[i].clone()).collect());
        let int = |i: usize| Col::Int(ints.iter().map(|r| r[i]).collect());
        let n = rows.len();
        answer(vec![
            ("catalogName", text(0)),
            ("namespace", text(1)),
            ("tableName", text(2)),
            ("col_name", text(3)),
            ("columnType", text(4)),
            ("columnSize", int(0)),
            ("decimalDigits", int(1)),
            ("radix", int(2)),
            ("isNullable", Col::Text(nullable)),
            ("remarks", Col::Text(vec![Some(String::new()); n])),
            ("ordinalPosition", int(3)),
            ("isAutoIncrement", Col::Text(vec![Some("NO".into()); n])),
            ("isGenerated", Col::Text(vec![Some("NO".into()); n])),
        ])
    }
}

fn answer(columns: Vec<(&str, Col)>) -> EngineResult<Outcome> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, c)| {
            let t = match c {
                Col::Text(_) => DataType::Utf8,
                Col::Int(_) => DataType::Int32,
                Col::Bool(_) => DataType::Boolean,
            };
            Field::new(*name, t, true)
        })
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|(_, c)| match c {
            Col::Text(v) => Arc::new(StringArray::from(v)) as ArrayRef,
            Col::Int(v) => Arc::new(Int32Array::from(v)) as ArrayRef,
            Col::Bool(v) => Arc::new(BooleanArray::from(v)) as ArrayRef,
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
    Ok(Outcome::Rows(batch_stream(batch)))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn jdbc_patterns() {
        let p = |s: &str| Some(s.to_string());
        assert!(matches(&None, "x"));
        assert!(matches(&p("%"), "anything"));
        assert!(matches(&p("peo%"), "People"));
        assert!(matches(&p("p_ople"), "people"));
        assert!(matches(&p("a\\_b"), "a_b"));
        assert!(!matches(&p("a\\_b"), "axb"));
        assert!(!matches(&p("peo"), "people"));
    }
}
