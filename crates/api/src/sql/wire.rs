//! The Statement Execution and Sessions APIs' bodies, in Databricks' shapes.

use lakeplane_core::sql::{
    Chunk, Column, Compression, Disposition, Format, Manifest, Statement, StatementState,
};
use lakeplane_http::extract::lenient;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/2.0/sql/statements`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExecuteStatement {
    pub statement: String,
    pub warehouse_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    /// `0s`, or `5s` to `50s`; `10s` when absent.
    #[serde(default)]
    pub wait_timeout: Option<String>,
    /// `CONTINUE` (default) or `CANCEL`.
    #[serde(default)]
    pub on_wait_timeout: Option<String>,
    /// `INLINE` (default), `EXTERNAL_LINKS` or `INLINE_OR_EXTERNAL_LINKS`.
    #[serde(default)]
    pub disposition: Option<String>,
    /// `JSON_ARRAY` (default), `ARROW_STREAM` or `CSV`.
    #[serde(default)]
    pub format: Option<String>,
    /// `LZ4_FRAME` or absent; applies to `ARROW_STREAM`.
    #[serde(default)]
    pub result_compression: Option<String>,
    #[serde(default)]
    pub parameters: Option<Vec<Parameter>>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub row_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub byte_limit: Option<u64>,
    /// Accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted and ignored
    pub query_tags: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Parameter {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default, rename = "type")]
    pub sql_type: Option<String>,
}

/// Parses an enum field, naming it and what it accepts.
pub fn choice<T: Copy>(
    field: &str,
    value: Option<&str>,
    default: T,
    options: &[(&str, T)],
) -> Result<T, String> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    options
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            format!("{field} '{v}' is not one of {}", names.join(", "))
        })
}

pub const DISPOSITIONS: &[(&str, Disposition)] = &[
    ("INLINE", Disposition::Inline),
    ("EXTERNAL_LINKS", Disposition::ExternalLinks),
    (
        "INLINE_OR_EXTERNAL_LINKS",
        Disposition::InlineOrExternalLinks,
    ),
];
pub const FORMATS: &[(&str, Format)] = &[
    ("JSON_ARRAY", Format::JsonArray),
    ("ARROW_STREAM", Format::ArrowStream),
    ("CSV", Format::Csv),
];
pub const COMPRESSIONS: &[(&str, Compression)] = &[
    ("LZ4_FRAME", Compression::Lz4Frame),
    ("NONE", Compression::None),
];

pub fn format_name(f: Format) -> &'static str {
    match f {
        Format::JsonArray => "JSON_ARRAY",
        Format::ArrowStream => "ARROW_STREAM",
        Format::Csv => "CSV",
    }
}

pub fn state_name(s: StatementState) -> &'static str {
    match s {
        StatementState::Pending => "PENDING",
        StatementState::Running => "RUNNING",
        StatementState::Succeeded => "SUCCEEDED",
        StatementState::Failed => "FAILED",
        StatementState::Canceled => "CANCELED",
        StatementState::Closed => "CLOSED",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceError {
    pub error_code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementStatus {
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED or CLOSED.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
    /// The failure's SQLSTATE, when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
}

impl StatementStatus {
    pub fn of(s: &Statement) -> StatementStatus {
        StatementStatus {
            state: state_name(s.state).into(),
            error: s.error.as_ref().map(|e| ServiceError {
                error_code: e.error_code.clone(),
                message: e.message.clone(),
            }),
            sql_state: s.error.as_ref().and_then(|e| e.sql_state.clone()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnInfo {
    pub name: String,
    pub type_text: String,
    pub type_name: String,
    pub position: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_precision: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_scale: Option<u32>,
}

impl From<&Column> for ColumnInfo {
    fn from(c: &Column) -> ColumnInfo {
        ColumnInfo {
            name: c.name.clone(),
            type_text: c.type_text.clone(),
            type_name: c.type_name.clone(),
            position: c.position,
            type_precision: c.type_precision,
            type_scale: c.type_scale,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultSchema {
    pub column_count: usize,
    pub columns: Vec<ColumnInfo>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ChunkInfo {
    pub chunk_index: u64,
    pub row_offset: u64,
    pub row_count: u64,
    pub byte_count: u64,
}

impl From<&Chunk> for ChunkInfo {
    fn from(c: &Chunk) -> ChunkInfo {
        ChunkInfo {
            chunk_index: c.chunk_index,
            row_offset: c.row_offset,
            row_count: c.row_count,
            byte_count: c.byte_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultManifest {
    pub format: String,
    pub schema: ResultSchema,
    pub total_chunk_count: usize,
    pub total_row_count: u64,
    pub total_byte_count: u64,
    pub truncated: bool,
    pub chunks: Vec<ChunkInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_compression: Option<String>,
}

impl From<&Manifest> for ResultManifest {
    fn from(m: &Manifest) -> ResultManifest {
        ResultManifest {
            format: format_name(m.format).into(),
            schema: ResultSchema {
                column_count: m.columns.len(),
                columns: m.columns.iter().map(ColumnInfo::from).collect(),
            },
            total_chunk_count: m.chunks.len(),
            total_row_count: m.total_row_count,
            total_byte_count: m.total_byte_count,
            truncated: m.truncated,
            chunks: m.chunks.iter().map(ChunkInfo::from).collect(),
            result_compression: (m.compression == Compression::Lz4Frame)
                .then(|| "LZ4_FRAME".into()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalLink {
    #[serde(flatten)]
    pub chunk: ChunkInfo,
    pub external_link: String,
    /// RFC 3339.
    pub expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_chunk_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_chunk_internal_link: Option<String>,
}

/// A chunk of a result: inline rows (`data_array` for JSON_ARRAY, `attachment` for ARROW_STREAM,
/// base64) or links.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_count: Option<u64>,
    /// Every value as text or null. (Sent spliced in as it was stored.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_array: Option<Vec<Vec<Option<String>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_links: Option<Vec<ExternalLink>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_chunk_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_chunk_internal_link: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementResponse {
    pub statement_id: String,
    pub status: StatementStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ResultManifest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultData>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// `POST /api/2.0/sql/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSession {
    pub warehouse_id: String,
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub session_confs: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub session_id: String,
}
