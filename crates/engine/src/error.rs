//! What running SQL can fail with. Messages are meant for the user who wrote the SQL; the DataFusion,
//! delta-rs, object store or I/O error underneath is kept as the source.

use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::sql::sqlparser::parser::ParserError;
use deltalake::DeltaTableError;

/// What running SQL can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL does not parse.
    #[error("SQL syntax error: {0}")]
    Parse(#[from] ParserError),
    /// Planning or execution failed (an unknown table or column, a type mismatch, memory exhausted, ...).
    #[error("{}", .0.user_message())]
    DataFusion(#[from] DataFusionError),
    /// Reading or writing a Delta table failed.
    #[error("Delta table error: {0}")]
    Delta(#[from] DeltaTableError),
    /// A catalog, schema, table or view that does not exist.
    #[error("{kind} '{name}' does not exist")]
    NotFound { kind: &'static str, name: String },
    /// Creating something that exists already.
    #[error("{kind} '{name}' already exists")]
    AlreadyExists { kind: &'static str, name: String },
    /// Another writer changed the table in a way this write conflicts with; the table is as the
    /// other writer left it, and running the statement again may succeed.
    #[error("concurrent modification of table {table}: {message}")]
    ConcurrentModification { table: String, message: String },
    /// A write that breaks the table's schema or constraints.
    #[error("{0}")]
    Constraint(String),
    /// The catalog's store failed.
    #[error("the catalog is unavailable: {0}")]
    CatalogUnavailable(#[source] lakeplane_core::catalog::CatalogError),
    /// A statement or form lakeplane does not run (yet).
    #[error("{0}")]
    Unsupported(String),
    /// A bad name, option or parameter.
    #[error("{0}")]
    Invalid(String),
    /// The caller lacks a privilege (the message names it and the object).
    #[error("[INSUFFICIENT_PERMISSIONS] Insufficient privileges: {0}")]
    PermissionDenied(String),
    /// A path or URI outside what this engine may read.
    #[error("access denied: {path}: {reason}")]
    AccessDenied { path: String, reason: String },
    /// An input larger than its limit.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge { what: String, limit: u64 },
    /// Reading a local file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading an object (S3, or a confined local file) failed.
    #[error("{path}: {source}")]
    ObjectStore {
        path: String,
        #[source]
        source: deltalake::datafusion::object_store::Error,
    },
    /// Writing a result chunk failed.
    #[error("{0}")]
    Results(#[source] Box<lakeplane_core::sql::ResultsError>),
    /// The execution's cancellation was triggered.
    #[error("the statement was cancelled")]
    Cancelled,
    /// A WebAssembly function could not be created or loaded.
    #[error("{0}")]
    Udf(#[from] lakeplane_udf_host::UdfError),
    /// Statement `index` (1-based) of a script failed.
    #[error("statement {index}: {source}")]
    Statement {
        index: usize,
        #[source]
        source: Box<EngineError>,
    },
}

/// DataFusion's message without the backtrace it may carry.
trait UserMessage {
    fn user_message(&self) -> String;
}

impl UserMessage for DataFusionError {
    fn user_message(&self) -> String {
        // An access check failing inside a scan arrives wrapped; say what it is.
        match self.find_root() {
            DataFusionError::ObjectStore(e) if is_denied(e) => e.to_string(),
            _ => self.strip_backtrace(),
        }
    }
}

fn is_denied(e: &deltalake::datafusion::object_store::Error) -> bool {
    matches!(
        e,
        deltalake::datafusion::object_store::Error::PermissionDenied { .. }
    )
}

impl EngineError {
    pub(crate) fn invalid(msg: impl Into<String>) -> EngineError {
        EngineError::Invalid(msg.into())
    }

    pub(crate) fn not_found(kind: &'static str, name: impl std::fmt::Display) -> EngineError {
        EngineError::NotFound {
            kind,
            name: name.to_string(),
        }
    }

    pub(crate) fn denied(path: impl Into<String>, reason: impl Into<String>) -> EngineError {
        EngineError::AccessDenied {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Marks the error as coming from statement `index` (1-based) of a script of several.
    pub(crate) fn in_statement(self, index: usize) -> EngineError {
        match self {
            e @ EngineError::Cancelled => e,
            e => EngineError::Statement {
                index,
                source: Box::new(e),
            },
        }
    }
}

impl EngineError {
    /// The SQLSTATE of this error, where one is defined.
    pub fn sql_state(&self) -> Option<&'static str> {
        match self {
            EngineError::Statement { source, .. } => source.sql_state(),
            EngineError::PermissionDenied(_) => Some("42501"),
            EngineError::NotFound { .. } => Some("42P01"),
            EngineError::Parse(_) => Some("42601"),
            _ => None,
        }
    }

    /// The Statement Execution API's `ServiceErrorCode` for this error.
    pub fn service_code(&self) -> &'static str {
        match self {
            EngineError::Statement { source, .. } => source.service_code(),
            EngineError::Parse(_)
            | EngineError::Invalid(_)
            | EngineError::Unsupported(_)
            | EngineError::Constraint(_) => "BAD_REQUEST",
            EngineError::DataFusion(e) => match e.find_root() {
                DataFusionError::ResourcesExhausted(_) => "RESOURCE_EXHAUSTED",
                DataFusionError::ObjectStore(e) if is_denied(e) => "PERMISSION_DENIED",
                DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => "IO_ERROR",
                _ => "BAD_REQUEST",
            },
            EngineError::Delta(_) => "IO_ERROR",
            EngineError::NotFound { .. } => "NOT_FOUND",
            EngineError::AlreadyExists { .. } => "ALREADY_EXISTS",
            EngineError::ConcurrentModification { .. } => "ABORTED",
            EngineError::CatalogUnavailable(_) => "TEMPORARILY_UNAVAILABLE",
            EngineError::AccessDenied { .. } | EngineError::PermissionDenied(_) => {
                "PERMISSION_DENIED"
            }
            EngineError::TooLarge { .. } => "RESOURCE_EXHAUSTED",
            EngineError::Io { .. } | EngineError::ObjectStore { .. } | EngineError::Results(_) => {
                "IO_ERROR"
            }
            EngineError::Cancelled => "CANCELLED",
            EngineError::Udf(lakeplane_udf_host::UdfError::Cache { .. }) => "IO_ERROR",
            EngineError::Udf(_) => "BAD_REQUEST",
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

impl From<deltalake::arrow::error::ArrowError> for EngineError {
    fn from(e: deltalake::arrow::error::ArrowError) -> EngineError {
        EngineError::DataFusion(e.into())
    }
}

impl From<lakeplane_core::catalog::CatalogError> for EngineError {
    fn from(e: lakeplane_core::catalog::CatalogError) -> EngineError {
        use lakeplane_core::catalog::CatalogError as C;
        match e {
            C::NotFound { kind, name } => EngineError::NotFound { kind, name },
            C::AlreadyExists { kind, name } => EngineError::AlreadyExists { kind, name },
            C::Invalid(m) => EngineError::Invalid(m),
            e @ C::NotEmpty { .. } => EngineError::Invalid(e.to_string()),
            e @ C::Unavailable { .. } => EngineError::CatalogUnavailable(e),
        }
    }
}
