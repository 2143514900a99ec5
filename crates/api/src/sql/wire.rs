//! The Statement Execution, Sessions and Warehouses APIs' bodies, in Databricks' shapes.

use lakeplane_core::sql::{
    Chunk, Column, Compression, Disposition, Format, Manifest, Statement, StatementState,
    Warehouse, WarehouseSpec,
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

/// Warehouse create and edit bodies.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WarehouseBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub cluster_size: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub min_num_clusters: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub max_num_clusters: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub auto_stop_mins: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_photon: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub enable_serverless_compute: Option<bool>,
    #[serde(default)]
    pub warehouse_type: Option<String>,
    #[serde(default)]
    pub spot_instance_policy: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub instance_profile_arn: Option<String>,
    /// Accepted and ignored: the creator is the caller.
    #[serde(default)]
    #[allow(dead_code)] // accepted and ignored
    pub creator_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Tags {
    #[serde(default)]
    pub custom_tags: Vec<TagPair>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TagPair {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// The longest auto-stop, in minutes (a week).
const MAX_AUTO_STOP_MINS: u64 = 7 * 24 * 60;

impl WarehouseBody {
    /// The spec this body sets; on edit, `base` supplies what the body leaves out.
    pub fn spec(self, base: Option<&WarehouseSpec>) -> Result<WarehouseSpec, String> {
        let name = self
            .name
            .or_else(|| base.map(|b| b.name.clone()))
            .ok_or("Missing required field: name")?;
        let num = |v: Option<u64>, field: &str, default: u32| -> Result<u32, String> {
            match v {
                None => Ok(default),
                Some(n) => u32::try_from(n).map_err(|_| format!("{field} is too large")),
            }
        };
        let auto_stop = self
            .auto_stop_mins
            .unwrap_or(base.map_or(120, |b| u64::from(b.auto_stop_mins)));
        if auto_stop > MAX_AUTO_STOP_MINS {
            return Err(format!(
                "auto_stop_mins must be at most {MAX_AUTO_STOP_MINS}"
            ));
        }
        Ok(WarehouseSpec {
            name,
            cluster_size: self
                .cluster_size
                .or_else(|| base.map(|b| b.cluster_size.clone()))
                .unwrap_or_else(|| "2X-Small".into()),
            min_num_clusters: num(
                self.min_num_clusters,
                "min_num_clusters",
                base.map_or(1, |b| b.min_num_clusters),
            )?,
            max_num_clusters: num(
                self.max_num_clusters,
                "max_num_clusters",
                base.map_or(1, |b| b.max_num_clusters),
            )?,
            auto_stop_mins: auto_stop as u32,
            enable_photon: self
                .enable_photon
                .or(base.map(|b| b.enable_photon))
                .unwrap_or(true),
            enable_serverless_compute: self
                .enable_serverless_compute
                .or(base.map(|b| b.enable_serverless_compute))
                .unwrap_or(false),
            warehouse_type: self
                .warehouse_type
                .or_else(|| base.and_then(|b| b.warehouse_type.clone())),
            spot_instance_policy: self
                .spot_instance_policy
                .or_else(|| base.and_then(|b| b.spot_instance_policy.clone())),
            channel: self
                .channel
                .and_then(|c| c.name)
                .or_else(|| base.and_then(|b| b.channel.clone())),
            tags: match self.tags {
                Some(t) => t
                    .custom_tags
                    .into_iter()
                    .map(|t| lakeplane_core::sql::warehouse::Tag {
                        key: t.key,
                        value: t.value,
                    })
                    .collect(),
                None => base.map(|b| b.tags.clone()).unwrap_or_default(),
            },
            instance_profile_arn: self
                .instance_profile_arn
                .or_else(|| base.and_then(|b| b.instance_profile_arn.clone())),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateWarehouseResponse {
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OdbcParams {
    pub hostname: String,
    pub path: String,
    pub port: u16,
    pub protocol: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarehouseResponse {
    pub id: String,
    pub name: String,
    pub cluster_size: String,
    pub min_num_clusters: u32,
    pub max_num_clusters: u32,
    pub num_clusters: u32,
    pub num_active_sessions: u32,
    pub auto_stop_mins: u32,
    /// STARTING, RUNNING, STOPPING, STOPPED, DELETING or DELETED.
    pub state: String,
    pub enable_photon: bool,
    pub enable_serverless_compute: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spot_instance_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    pub tags: Tags,
    pub creator_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile_arn: Option<String>,
    pub health: Health,
    pub odbc_params: OdbcParams,
    pub jdbc_url: String,
}

impl WarehouseResponse {
    pub fn new(w: &Warehouse, host: &str) -> WarehouseResponse {
        let s = &w.spec;
        let path = format!("/sql/1.0/warehouses/{}", w.id);
        let running = w.state == lakeplane_core::sql::WarehouseState::Running;
        WarehouseResponse {
            id: w.id.clone(),
            name: s.name.clone(),
            cluster_size: s.cluster_size.clone(),
            min_num_clusters: s.min_num_clusters,
            max_num_clusters: s.max_num_clusters,
            num_clusters: u32::from(running) * s.min_num_clusters,
            num_active_sessions: 0,
            auto_stop_mins: s.auto_stop_mins,
            state: w.state.as_str().into(),
            enable_photon: s.enable_photon,
            enable_serverless_compute: s.enable_serverless_compute,
            warehouse_type: s.warehouse_type.clone(),
            spot_instance_policy: s.spot_instance_policy.clone(),
            channel: s.channel.clone().map(|n| Channel { name: Some(n) }),
            tags: Tags {
                custom_tags: s
                    .tags
                    .iter()
                    .map(|t| TagPair { key: t.key.clone(), value: t.value.clone() })
                    .collect(),
            },
            creator_name: w.creator_name.clone(),
            instance_profile_arn: s.instance_profile_arn.clone(),
            health: Health {
                status: "HEALTHY".into(),
            },
            jdbc_url: format!("jdbc:databricks://{host}:443/default;transportMode=http;ssl=1;AuthMech=3;httpPath={path};"),
            odbc_params: OdbcParams {
                hostname: host.to_string(),
                path,
                port: 443,
                protocol: "https".into(),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListWarehousesResponse {
    pub warehouses: Vec<WarehouseResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
