//! Rows into result chunks: JSON arrays of strings (every value as text, as Databricks sends it),
//! Arrow IPC streams (optionally LZ4-framed) or CSV, cut at about `chunk_bytes` each, within the
//! request's `row_limit` and `byte_limit` and at most [`MAX_CHUNKS`] chunks.

use std::sync::Arc;

use deltalake::arrow::array::{Array, RecordBatch};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::arrow::ipc::writer::StreamWriter;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use lakeplane_core::sql::statement::MAX_CHUNKS;
use lakeplane_core::sql::{Chunk, Column, Compression, Format, Manifest, ResultStore};

use crate::error::{EngineError, EngineResult};
use crate::show::{type_enum, type_name};

/// The size a chunk is cut at by default, before compression.
pub const DEFAULT_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// How a result is to be written.
#[derive(Debug, Clone, Copy)]
pub struct ResultRequest {
    pub format: Format,
    pub compression: Compression,
    pub row_limit: Option<u64>,
    pub byte_limit: Option<u64>,
    pub chunk_bytes: usize,
}

/// Reads `rows` to the end and writes them as chunks of `statement`; returns the manifest.
pub async fn write_result(
    mut rows: SendableRecordBatchStream,
    request: ResultRequest,
    store: &dyn ResultStore,
    statement: &str,
) -> EngineResult<Manifest> {
    let schema = plain_schema(&rows.schema());
    let columns = columns(&schema);
    let compression = match request.format {
        Format::ArrowStream => request.compression,
        _ => Compression::None,
    };
    let mut writer = ChunkWriter::new(request.format, schema.clone());
    let mut manifest = Manifest {
        format: request.format,
        columns,
        chunks: vec![],
        total_row_count: 0,
        total_byte_count: 0,
        truncated: false,
        compression,
    };
    let row_limit = request.row_limit.unwrap_or(u64::MAX);
    let byte_limit = request.byte_limit.unwrap_or(u64::MAX);
    'rows: while let Some(batch) = rows.next().await {
        let batch = plain_batch(batch?, &schema)?;
        // Big batches go in slices, so that chunks are cut near `chunk_bytes`.
        let row_bytes = (batch.get_array_memory_size() / batch.num_rows().max(1)).max(1);
        let slice = (request.chunk_bytes / row_bytes / 4).max(64);
        let mut offset = 0;
        while offset < batch.num_rows() {
            let mut part = batch.slice(offset, slice.min(batch.num_rows() - offset));
            offset += part.num_rows();
            let room = row_limit - manifest.total_row_count - writer.rows as u64;
            if (part.num_rows() as u64) > room {
                part = part.slice(0, room as usize);
                manifest.truncated = true;
            }
            writer.add(&part)?;
            if manifest.total_byte_count + writer.size() as u64 > byte_limit {
                manifest.truncated = true;
            }
            if writer.size() >= request.chunk_bytes || manifest.truncated {
                flush(&mut writer, &mut manifest, store, statement).await?;
                if manifest.chunks.len() >= MAX_CHUNKS {
                    manifest.truncated = true;
                }
            }
            if manifest.truncated {
                break 'rows;
            }
        }
    }
    if writer.rows > 0 || manifest.chunks.is_empty() {
        flush(&mut writer, &mut manifest, store, statement).await?;
    }
    Ok(manifest)
}

async fn flush(
    writer: &mut ChunkWriter,
    manifest: &mut Manifest,
    store: &dyn ResultStore,
    statement: &str,
) -> EngineResult<()> {
    let rows = writer.rows as u64;
    let mut bytes = writer.finish()?;
    if manifest.compression == Compression::Lz4Frame {
        bytes = lz4(&bytes)?;
    }
    let index = manifest.chunks.len() as u64;
    let byte_count = bytes.len() as u64;
    store
        .put(statement, index, bytes)
        .await
        .map_err(|e| EngineError::Results(Box::new(e)))?;
    manifest.chunks.push(Chunk {
        chunk_index: index,
        row_offset: manifest.total_row_count,
        row_count: rows,
        byte_count,
    });
    manifest.total_row_count += rows;
    manifest.total_byte_count += byte_count;
    Ok(())
}

fn lz4(bytes: &[u8]) -> EngineResult<Vec<u8>> {
    use std::io::Write;
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(bytes.len() / 2));
    enc.write_all(bytes)
        .map_err(|e| EngineError::invalid(format!("cannot compress a result chunk: {e}")))?;
    enc.finish()
        .map_err(|e| EngineError::invalid(format!("cannot compress a result chunk: {e}")))
}

/// One chunk being written.
struct ChunkWriter {
    format: Format,
    schema: SchemaRef,
    buf: Vec<u8>,
    ipc: Option<StreamWriter<Vec<u8>>>,
    rows: usize,
}

impl ChunkWriter {
    fn new(format: Format, schema: SchemaRef) -> ChunkWriter {
        ChunkWriter {
            format,
            schema,
            buf: Vec::new(),
            ipc: None,
            rows: 0,
        }
    }

    fn size(&self) -> usize {
        match &self.ipc {
            Some(w) => w.get_ref().len(),
            None => self.buf.len(),
        }
    }

    fn add(&mut self, batch: &RecordBatch) -> EngineResult<()> {
        match self.format {
            Format::ArrowStream => {
                if self.ipc.is_none() {
                    self.ipc = Some(StreamWriter::try_new(Vec::new(), &self.schema)?);
                }
                if let Some(w) = self.ipc.as_mut() {
                    w.write(batch)?;
                }
            }
            Format::JsonArray => json_rows(batch, &mut self.buf)?,
            Format::Csv => {
                let mut w = deltalake::arrow::csv::WriterBuilder::new()
                    .with_header(self.rows == 0)
                    .build(&mut self.buf);
                w.write(batch)?;
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// The chunk's bytes; the writer starts a new chunk.
    fn finish(&mut self) -> EngineResult<Vec<u8>> {
        self.rows = 0;
        match self.format {
            Format::ArrowStream => {
                let mut w = match self.ipc.take() {
                    Some(w) => w,
                    None => StreamWriter::try_new(Vec::new(), &self.schema)?,
                };
                w.finish()?;
                Ok(w.into_inner()?)
            }
            Format::JsonArray => {
                let rows = std::mem::take(&mut self.buf);
                let mut out = Vec::with_capacity(rows.len() + 2);
                out.push(b'[');
                out.extend_from_slice(rows.strip_prefix(b",").unwrap_or(&rows));
                out.push(b']');
                Ok(out)
            }
            Format::Csv => Ok(std::mem::take(&mut self.buf)),
        }
    }
}

/// Appends `,["v",null,…]` for every row.
fn json_rows(batch: &RecordBatch, out: &mut Vec<u8>) -> EngineResult<()> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cell = String::new();
    for row in 0..batch.num_rows() {
        out.extend_from_slice(b",[");
        for (i, (col, fmt)) in batch.columns().iter().zip(&formatters).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if col.is_null(row) {
                out.extend_from_slice(b"null");
            } else {
                cell.clear();
                use std::fmt::Write;
                let _ = write!(cell, "{}", fmt.value(row));
                serde_json::to_writer(&mut *out, &cell)
                    .map_err(|e| EngineError::invalid(e.to_string()))?;
            }
        }
        out.push(b']');
    }
    Ok(())
}

/// View types as their plain forms, which every Arrow reader (pyarrow included) takes.
fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    }
}

fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), plain_type(f.data_type()), f.is_nullable()))
            .collect::<Vec<_>>(),
    ))
}

fn plain_batch(batch: RecordBatch, schema: &SchemaRef) -> EngineResult<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| match c.data_type() == f.data_type() {
            true => Ok(c.clone()),
            false => cast(c, f.data_type()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &deltalake::arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// The manifest's columns, in Databricks' type names.
fn columns(schema: &Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let t = f.data_type();
            let (precision, scale) = match t {
                DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                    (Some(u32::from(*p)), Some((*s).max(0) as u32))
                }
                _ => (None, None),
            };
            Column {
                name: f.name().clone(),
                type_text: type_name(t).to_uppercase(),
                type_name: type_enum(t).into(),
                position: i as u32,
                type_precision: precision,
                type_scale: scale,
            }
        })
        .collect()
}
