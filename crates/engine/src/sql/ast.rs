//! The statements lakeplane parses itself: Databricks forms that the SQL parser's dialect lacks
//! (or parses into shapes made for other databases). Everything else stays a parser `Statement`.

use std::ops::ControlFlow;

use deltalake::datafusion::sql::sqlparser::ast::{
    Assignment, ColumnDef, DataType, Expr, Ident, ObjectName, Query, Statement, TableFactor,
    VisitMut, VisitorMut,
};

/// One statement of a script.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// A statement the SQL parser knows (SELECT, INSERT, UPDATE, DELETE, DROP, ...).
    Std(Box<Statement>),
    Lake(Box<Lake>),
}

/// `key = value` pairs of `TBLPROPERTIES (…)`, `FORMAT_OPTIONS (…)` and the like.
pub(crate) type Properties = Vec<(String, String)>;

/// Databricks statements parsed by lakeplane.
#[derive(Debug, Clone)]
pub(crate) enum Lake {
    CreateCatalog {
        name: Ident,
        if_not_exists: bool,
        comment: Option<String>,
    },
    DropCatalog {
        name: Ident,
        if_exists: bool,
        cascade: bool,
    },
    CreateSchema {
        name: ObjectName,
        if_not_exists: bool,
        comment: Option<String>,
        properties: Properties,
    },
    CreateTable(Box<CreateTable>),
    CreateView(Box<CreateView>),
    Alter {
        table: ObjectName,
        action: AlterAction,
    },
    Use {
        kind: UseKind,
        name: ObjectName,
    },
    Show(Show),
    Grant(Box<Grant>),
    Describe {
        table: ObjectName,
        what: DescribeWhat,
    },
    InsertReplaceWhere {
        table: ObjectName,
        predicate: Expr,
        query: Box<Query>,
    },
    Merge(Box<Merge>),
    CopyInto(Box<CopyInto>),
    Restore {
        table: ObjectName,
        to: TimeTravel,
    },
    Optimize {
        table: ObjectName,
        predicate: Option<Expr>,
        zorder: Vec<Ident>,
    },
    Vacuum {
        table: ObjectName,
        retain_hours: Option<f64>,
        dry_run: bool,
    },
    CreateFunction(Box<CreateFunction>),
    DropFunction {
        name: ObjectName,
        if_exists: bool,
    },
    DescribeFunction {
        name: ObjectName,
        extended: bool,
    },
}

/// `CREATE FUNCTION … LANGUAGE WASM AS 'module'`.
#[derive(Debug, Clone)]
pub(crate) struct CreateFunction {
    pub name: ObjectName,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub params: Vec<(Ident, DataType)>,
    pub returns: DataType,
    /// Upper case; `None` when not given.
    pub language: Option<String>,
    /// Where the module is (`AS '…'`).
    pub source: Option<String>,
    pub handler: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct CreateTable {
    pub name: ObjectName,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    /// `CONSTRAINT name CHECK (expr)` in the column list.
    pub checks: Vec<(Ident, Expr)>,
    pub partitioned_by: Vec<Ident>,
    pub location: Option<String>,
    pub comment: Option<String>,
    pub properties: Properties,
    pub query: Option<Box<Query>>,
}

#[derive(Debug, Clone)]
pub(crate) struct CreateView {
    pub name: ObjectName,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub comment: Option<String>,
    pub properties: Properties,
    pub query: Box<Query>,
}

#[derive(Debug, Clone)]
pub(crate) enum AlterAction {
    AddColumns(Vec<ColumnDef>),
    RenameTo(ObjectName),
    SetProperties(Properties),
    UnsetProperties { keys: Vec<String>, if_exists: bool },
    ColumnComment { column: Ident, comment: String },
    AddCheck { name: Ident, expr: Box<Expr> },
    DropConstraint { name: Ident, if_exists: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UseKind {
    Catalog,
    Schema,
    /// `USE name`: a schema, or `catalog.schema`.
    Either,
}

#[derive(Debug, Clone)]
pub(crate) enum Show {
    Catalogs {
        like: Option<String>,
    },
    Schemas {
        catalog: Option<Ident>,
        like: Option<String>,
    },
    Tables {
        schema: Option<ObjectName>,
        like: Option<String>,
    },
    Views {
        schema: Option<ObjectName>,
        like: Option<String>,
    },
    Columns {
        table: ObjectName,
    },
    Properties {
        table: ObjectName,
        key: Option<String>,
    },
    CreateTable {
        table: ObjectName,
    },
    /// `SHOW GRANTS [principal] ON kind name`.
    Grants {
        principal: Option<String>,
        kind: lakeplane_core::catalog::Kind,
        name: ObjectName,
    },
    /// `SHOW [USER|SYSTEM|ALL] FUNCTIONS [IN schema] [LIKE 'p']`; `system`: built-ins too.
    Functions {
        schema: Option<ObjectName>,
        like: Option<String>,
        system: bool,
    },
    /// The SQL connector's metadata listings: `SHOW SCHEMAS|TABLES|COLUMNS IN ALL CATALOGS` or
    /// `IN CATALOG c`, then `[SCHEMA LIKE 'p'] [TABLE LIKE 'p'] [LIKE 'p']`.
    Metadata(Metadata),
}

/// `GRANT` or `REVOKE`.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) revoke: bool,
    pub(crate) privileges: Vec<lakeplane_core::catalog::Privilege>,
    pub(crate) kind: lakeplane_core::catalog::Kind,
    pub(crate) name: ObjectName,
    pub(crate) principal: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataOf {
    Schemas,
    Tables,
    Columns,
}

#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub(crate) of: MetadataOf,
    /// `None`: every catalog.
    pub(crate) catalog: Option<String>,
    pub(crate) schema_like: Option<String>,
    pub(crate) table_like: Option<String>,
    pub(crate) like: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DescribeWhat {
    Table { extended: bool },
    Detail,
    History { limit: Option<u64> },
}

/// `VERSION AS OF n` or `TIMESTAMP AS OF expr`.
#[derive(Debug, Clone)]
pub(crate) enum TimeTravel {
    Version(Expr),
    Timestamp(Expr),
}

#[derive(Debug, Clone)]
pub(crate) struct Merge {
    pub target: TableFactor,
    pub source: TableFactor,
    pub on: Expr,
    pub clauses: Vec<MergeClause>,
    /// `WITH SCHEMA EVOLUTION`.
    pub schema_evolution: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct MergeClause {
    pub when: MergeWhen,
    pub condition: Option<Expr>,
    pub action: MergeAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeWhen {
    Matched,
    NotMatched,
    NotMatchedBySource,
}

#[derive(Debug, Clone)]
pub(crate) enum MergeAction {
    /// `UPDATE SET *`: every target column from the source column of the same name.
    UpdateAll,
    Update(Vec<Assignment>),
    Delete,
    /// `INSERT *`.
    InsertAll,
    Insert {
        columns: Vec<Ident>,
        values: Vec<Expr>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct CopyInto {
    pub table: ObjectName,
    pub from: String,
    pub format: String,
    pub files: Vec<String>,
    pub pattern: Option<String>,
    pub format_options: Properties,
    pub copy_options: Properties,
}

impl Lake {
    /// Visits the expressions and queries inside (to bind parameters into them).
    pub(crate) fn visit<V: VisitorMut>(&mut self, v: &mut V) -> ControlFlow<V::Break> {
        match self {
            Lake::CreateTable(ct) => {
                for (_, e) in &mut ct.checks {
                    e.visit(v)?;
                }
                if let Some(q) = &mut ct.query {
                    q.visit(v)?;
                }
            }
            Lake::CreateView(cv) => cv.query.visit(v)?,
            Lake::Alter {
                action: AlterAction::AddCheck { expr, .. },
                ..
            } => expr.visit(v)?,
            Lake::InsertReplaceWhere {
                predicate, query, ..
            } => {
                predicate.visit(v)?;
                query.visit(v)?;
            }
            Lake::Merge(m) => {
                m.source.visit(v)?;
                m.on.visit(v)?;
                for c in &mut m.clauses {
                    if let Some(e) = &mut c.condition {
                        e.visit(v)?;
                    }
                    match &mut c.action {
                        MergeAction::Update(a) => {
                            for a in a {
                                a.value.visit(v)?;
                            }
                        }
                        MergeAction::Insert { values, .. } => {
                            for e in values {
                                e.visit(v)?;
                            }
                        }
                        _ => {}
                    }
                }
            }
            Lake::Restore { to, .. } => match to {
                TimeTravel::Version(e) | TimeTravel::Timestamp(e) => e.visit(v)?,
            },
            Lake::Optimize {
                predicate: Some(e), ..
            } => e.visit(v)?,
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// What the statement is, for messages and logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Lake::CreateCatalog { .. } => "CREATE CATALOG",
            Lake::DropCatalog { .. } => "DROP CATALOG",
            Lake::CreateSchema { .. } => "CREATE SCHEMA",
            Lake::CreateTable(_) => "CREATE TABLE",
            Lake::CreateView(_) => "CREATE VIEW",
            Lake::Alter { .. } => "ALTER TABLE",
            Lake::Use { .. } => "USE",
            Lake::Show(_) => "SHOW",
            Lake::Grant(g) if g.revoke => "REVOKE",
            Lake::Grant(_) => "GRANT",
            Lake::Describe { .. } => "DESCRIBE",
            Lake::InsertReplaceWhere { .. } => "INSERT REPLACE WHERE",
            Lake::Merge(_) => "MERGE",
            Lake::CopyInto(_) => "COPY INTO",
            Lake::Restore { .. } => "RESTORE",
            Lake::Optimize { .. } => "OPTIMIZE",
            Lake::Vacuum { .. } => "VACUUM",
            Lake::CreateFunction(_) => "CREATE FUNCTION",
            Lake::DropFunction { .. } => "DROP FUNCTION",
            Lake::DescribeFunction { .. } => "DESCRIBE FUNCTION",
        }
    }
}
