//! `/api/2.0/sql/statements`: submit (and wait up to `wait_timeout`), get, fetch a chunk, cancel,
//! close; and the served result links of `lakeplane dev`.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::Engine as _;
use lakeplane_control::Principal;
use lakeplane_core::sql::{
    Disposition, Format, Manifest, NewStatement, ResultsError, Statement, StatementParam,
    StatementState,
};
use lakeplane_http::extract::{Json, PathParam};
use lakeplane_http::{ApiError, ApiResult, AppState};

use super::wire::*;
use super::SqlServices;
use crate::Errors;

/// How long result links work.
pub const LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// A result answered inline under `INLINE_OR_EXTERNAL_LINKS`: one chunk of at most this many bytes.
pub const HYBRID_INLINE_BYTES: u64 = 16 * 1024 * 1024;
const PATH: &str = "/api/2.0/sql/statements";
/// How many chunk links one answer carries (from the chunk asked for on), as Databricks answers.
pub const LINKS_PER_ANSWER: usize = 32;

/// `wait_timeout`: `0s`, or `5s` to `50s`.
fn wait_timeout(v: Option<&str>) -> ApiResult<Duration> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(Duration::from_secs(10));
    };
    let secs = v
        .strip_suffix('s')
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n == 0 || (5..=50).contains(n))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "wait_timeout '{v}' must be 0s or between 5s and 50s"
            ))
        })?;
    Ok(Duration::from_secs(secs))
}

/// Execute a SQL statement.
#[utoipa::path(operation_id = "statements_execute", post, path = "/api/2.0/sql/statements", tag = "Statement Execution",
    request_body = ExecuteStatement, responses((status = 200, body = StatementResponse), Errors))]
pub async fn execute(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(sql): Extension<SqlServices>,
    Json(body): Json<ExecuteStatement>,
) -> ApiResult<Response> {
    let invalid = |m: String| ApiError::invalid(m);
    let wait = wait_timeout(body.wait_timeout.as_deref())?;
    let cancel_on_timeout = choice(
        "on_wait_timeout",
        body.on_wait_timeout.as_deref(),
        false,
        &[("CONTINUE", false), ("CANCEL", true)],
    )
    .map_err(invalid)?;
    let request = NewStatement {
        warehouse_id: body.warehouse_id,
        session_id: body.session_id.filter(|s| !s.is_empty()),
        statement: body.statement,
        catalog: body.catalog.filter(|s| !s.is_empty()),
        schema: body.schema.filter(|s| !s.is_empty()),
        parameters: body
            .parameters
            .unwrap_or_default()
            .into_iter()
            .map(|p| StatementParam {
                name: p.name,
                value: p.value,
                sql_type: p.sql_type,
            })
            .collect(),
        disposition: choice(
            "disposition",
            body.disposition.as_deref(),
            Disposition::Inline,
            DISPOSITIONS,
        )
        .map_err(invalid)?,
        format: choice("format", body.format.as_deref(), Format::JsonArray, FORMATS)
            .map_err(invalid)?,
        compression: choice(
            "result_compression",
            body.result_compression.as_deref(),
            Default::default(),
            COMPRESSIONS,
        )
        .map_err(invalid)?,
        row_limit: body.row_limit,
        byte_limit: body.byte_limit,
    };
    let statements = app.control.statements();
    let started = tokio::time::Instant::now();
    let submitted = statements.submit(request, &who.user_name).await?;
    if let Some(inline) = sql.inline.as_ref().filter(|_| !wait.is_zero()) {
        inline
            .run_inline(&submitted.id, wait.min(inline.max_budget()))
            .await;
    }
    let left = wait.saturating_sub(started.elapsed());
    let mut statement = wait_for(&app, &submitted.id, &who.user_name, left).await?;
    if !statement.state.is_terminal() && cancel_on_timeout {
        statement = statements.cancel(&submitted.id, &who.user_name).await?;
    }
    render(&sql, &statement).await
}

/// Polls the statement until it ends or `wait` passes.
async fn wait_for(app: &AppState, id: &str, who: &str, wait: Duration) -> ApiResult<Statement> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        let s = app.control.statements().get(id, who).await?;
        let now = tokio::time::Instant::now();
        if s.state.is_terminal() || now >= deadline {
            return Ok(s);
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        // Statements are short more often than not: look again soon, then less often.
        pause = (pause * 2).min(match now.duration_since(deadline - wait) {
            d if d < Duration::from_secs(2) => Duration::from_millis(20),
            _ => Duration::from_millis(200),
        });
    }
}

/// Get a statement's status, manifest and first chunk.
#[utoipa::path(operation_id = "statements_get", get, path = "/api/2.0/sql/statements/{id}", tag = "Statement Execution",
    params(("id" = String, Path, description = "The statement's id")),
    responses((status = 200, body = StatementResponse), Errors))]
pub async fn get(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(sql): Extension<SqlServices>,
    PathParam(id): PathParam,
) -> ApiResult<Response> {
    let statement = app.control.statements().get(&id, &who.user_name).await?;
    render(&sql, &statement).await
}

/// Get one chunk of a statement's result.
#[utoipa::path(operation_id = "statements_get_chunk", get, path = "/api/2.0/sql/statements/{id}/result/chunks/{chunk}",
    tag = "Statement Execution",
    params(("id" = String, Path, description = "The statement's id"), ("chunk" = u64, Path, description = "The chunk's index")),
    responses((status = 200, body = ResultData), Errors))]
pub async fn chunk(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(sql): Extension<SqlServices>,
    Path((id, chunk)): Path<(String, String)>,
) -> ApiResult<Response> {
    let index: u64 = chunk
        .parse()
        .map_err(|_| ApiError::invalid(format!("chunk index '{chunk}' is not a number")))?;
    let statement = app.control.statements().get(&id, &who.user_name).await?;
    let manifest = succeeded(&statement)?;
    if index >= manifest.chunks.len() as u64 {
        return Err(ApiError::invalid(format!(
            "chunk {index} does not exist: the result has {} chunks",
            manifest.chunks.len()
        )));
    }
    let json = result_data(&sql, &statement, manifest, index).await?;
    Ok(json_response(json))
}

fn succeeded(s: &Statement) -> ApiResult<&Manifest> {
    match (&s.state, &s.manifest) {
        (StatementState::Succeeded, Some(m)) => Ok(m),
        (state, _) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_STATE",
            format!(
                "statement {} has no result: it is {}",
                s.id,
                state_name(*state)
            ),
        )),
    }
}

/// Cancel a statement.
#[utoipa::path(operation_id = "statements_cancel", post, path = "/api/2.0/sql/statements/{id}/cancel", tag = "Statement Execution",
    params(("id" = String, Path, description = "The statement's id")),
    responses((status = 200, body = Empty), Errors))]
pub async fn cancel(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    app.control.statements().cancel(&id, &who.user_name).await?;
    Ok(axum::Json(Empty {}))
}

/// Close a statement: cancel it if it runs, and delete its result.
#[utoipa::path(operation_id = "statements_close", delete, path = "/api/2.0/sql/statements/{id}", tag = "Statement Execution",
    params(("id" = String, Path, description = "The statement's id")),
    responses((status = 200, body = Empty), Errors))]
pub async fn close(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(sql): Extension<SqlServices>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    app.control.statements().close(&id, &who.user_name).await?;
    if let Err(e) = sql.results.delete(&id).await {
        tracing::warn!(statement = %id, error = %e, "could not delete a closed statement's result");
    }
    Ok(axum::Json(Empty {}))
}

/// The statement in Databricks' shape: the manifest and first chunk once it has succeeded.
async fn render(sql: &SqlServices, s: &Statement) -> ApiResult<Response> {
    let manifest = match (&s.state, &s.manifest) {
        (StatementState::Succeeded, Some(m)) => Some(m),
        _ => None,
    };
    let head = StatementResponse {
        statement_id: s.id.clone(),
        status: StatementStatus::of(s),
        manifest: manifest.map(ResultManifest::from),
        result: None,
    };
    let head = serde_json::to_string(&head).map_err(|_| ApiError::internal())?;
    let json = match manifest {
        Some(m) if !m.chunks.is_empty() => {
            splice(head, "result", &result_data(sql, s, m, 0).await?)
        }
        _ => head,
    };
    Ok(json_response(json))
}

fn json_response(json: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// Whether chunks go inline (else as links).
fn inline(s: &Statement, m: &Manifest) -> bool {
    match s.request.disposition {
        Disposition::Inline => true,
        Disposition::ExternalLinks => false,
        Disposition::InlineOrExternalLinks => {
            m.chunks.len() == 1 && m.total_byte_count <= HYBRID_INLINE_BYTES
        }
    }
}

/// Chunk `index` as `ResultData` JSON text.
async fn result_data(
    sql: &SqlServices,
    s: &Statement,
    m: &Manifest,
    index: u64,
) -> ApiResult<String> {
    let Some(chunk) = m.chunks.get(index as usize) else {
        return Err(ApiError::internal());
    };
    let next = (index + 1 < m.chunks.len() as u64).then_some(index + 1);
    let next_link = next.map(|n| format!("{PATH}/{}/result/chunks/{n}", s.id));
    if !inline(s, m) {
        let mut links = Vec::new();
        for c in m.chunks.iter().skip(index as usize).take(LINKS_PER_ANSWER) {
            let link = sql
                .results
                .link(&s.id, c.chunk_index, LINK_TTL)
                .await
                .map_err(results_error)?;
            let next = (c.chunk_index + 1 < m.chunks.len() as u64).then_some(c.chunk_index + 1);
            links.push(ExternalLink {
                chunk: ChunkInfo::from(c),
                external_link: link.url,
                expiration: crate::rfc3339(link.expires_at),
                next_chunk_index: next,
                next_chunk_internal_link: next
                    .map(|n| format!("{PATH}/{}/result/chunks/{n}", s.id)),
            });
        }
        let data = ResultData {
            chunk_index: None,
            row_offset: None,
            row_count: None,
            byte_count: None,
            data_array: None,
            attachment: None,
            external_links: Some(links),
            next_chunk_index: None,
            next_chunk_internal_link: None,
        };
        return serde_json::to_string(&data).map_err(|_| ApiError::internal());
    }
    let bytes = sql.results.get(&s.id, index).await.map_err(results_error)?;
    let mut data = ResultData {
        chunk_index: Some(chunk.chunk_index),
        row_offset: Some(chunk.row_offset),
        row_count: Some(chunk.row_count),
        byte_count: Some(chunk.byte_count),
        data_array: None,
        attachment: None,
        external_links: None,
        next_chunk_index: next,
        next_chunk_internal_link: next_link,
    };
    if m.format != Format::JsonArray {
        data.attachment = Some(base64::engine::general_purpose::STANDARD.encode(&bytes));
    }
    let json = serde_json::to_string(&data).map_err(|_| ApiError::internal())?;
    match m.format {
        Format::JsonArray => {
            let raw = String::from_utf8(bytes).map_err(|_| ApiError::internal())?;
            Ok(splice(json, "data_array", &raw))
        }
        _ => Ok(json),
    }
}

pub(super) fn results_error(e: ResultsError) -> ApiError {
    match e {
        ResultsError::NotFound { .. } => ApiError::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
            format!("{e}; the result may have been closed or expired"),
        ),
        e => {
            tracing::error!(error = %e, "the result store failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                "The result store is unavailable; try again.",
            )
        }
    }
}

/// `{…}` with `"key": raw` added at the end (`raw` is JSON text already).
fn splice(mut object: String, key: &str, raw: &str) -> String {
    object.pop();
    if !object.ends_with('{') {
        object.push(',');
    }
    object.push('"');
    object.push_str(key);
    object.push_str("\":");
    object.push_str(raw);
    object.push('}');
    object
}
