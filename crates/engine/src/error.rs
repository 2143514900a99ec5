/// What running SQL can fail with. Messages are meant for the user who wrote the SQL.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL does not parse.
    #[error("SQL syntax error: {0}")]
    Parse(String),
    /// Planning or execution failed (an unknown table or column, a type mismatch, ...).
    #[error("{0}")]
    Sql(String),
    /// A statement lakeplane does not run (yet).
    #[error("{0}")]
    Unsupported(String),
    /// A bad name, path or option.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a Delta table failed.
    #[error("Delta table error: {0}")]
    Delta(String),
    #[error("I/O error: {0}")]
    Io(String),
}

pub type EngineResult<T> = Result<T, EngineError>;

impl From<deltalake::datafusion::error::DataFusionError> for EngineError {
    fn from(e: deltalake::datafusion::error::DataFusionError) -> Self {
        EngineError::Sql(e.strip_backtrace())
    }
}

impl From<deltalake::DeltaTableError> for EngineError {
    fn from(e: deltalake::DeltaTableError) -> Self {
        EngineError::Delta(e.to_string())
    }
}

impl From<deltalake::datafusion::sql::sqlparser::parser::ParserError> for EngineError {
    fn from(e: deltalake::datafusion::sql::sqlparser::parser::ParserError) -> Self {
        EngineError::Parse(e.to_string())
    }
}
