//! What a statement's result looks like: how it is handed out (disposition), its format and
//! compression, and the manifest of its columns and chunks.

use serde::{Deserialize, Serialize};

/// The most chunks one result has; rows past them are dropped and the manifest says `truncated`.
pub const MAX_CHUNKS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    Inline,
    ExternalLinks,
    /// `INLINE_OR_EXTERNAL_LINKS`: inline when the result is small, links otherwise.
    InlineOrExternalLinks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Format {
    JsonArray,
    ArrowStream,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compression {
    #[default]
    None,
    Lz4Frame,
}

/// A result column, in Databricks' type names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub type_text: String,
    pub type_name: String,
    pub position: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_precision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_scale: Option<u32>,
}

/// One chunk of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub chunk_index: u64,
    pub row_offset: u64,
    pub row_count: u64,
    pub byte_count: u64,
}

/// What a statement's result holds and where its chunks are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: Format,
    pub columns: Vec<Column>,
    pub chunks: Vec<Chunk>,
    pub total_row_count: u64,
    pub total_byte_count: u64,
    /// Rows were dropped: `row_limit`, `byte_limit` or [`MAX_CHUNKS`] was reached.
    pub truncated: bool,
    #[serde(default)]
    pub compression: Compression,
}
