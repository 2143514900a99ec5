//! What the Unity Catalog handlers share: error mapping, paging by name, full names, and who the
//! caller is and what they may see or change.

use axum::http::StatusCode;
use lakeplane_control::Principal;
use lakeplane_core::catalog::{
    CatalogError, FullName, Identity, Metastore, SchemaName, Securable, SecurableUpdate,
};
use lakeplane_engine::{EngineError, ExecContext};
use lakeplane_http::{ApiError, ApiResult, AppState};

use super::wire::*;

pub(super) type Answer<T> = ApiResult<axum::Json<T>>;

/// The most items one page holds.
pub(super) const MAX_PAGE: usize = 1000;

pub(super) fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::NotFound { .. } => ApiError::not_found(e.to_string()),
        CatalogError::AlreadyExists { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "RESOURCE_ALREADY_EXISTS",
            e.to_string(),
        ),
        CatalogError::NotEmpty { .. } | CatalogError::Invalid(_) => {
            ApiError::invalid(e.to_string())
        }
        CatalogError::Unavailable { .. } => {
            tracing::error!(error = %e, "the catalog is unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                "The catalog is temporarily unavailable; try again.",
            )
        }
    }
}

pub(super) fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotFound { .. } => ApiError::not_found(e.to_string()),
        EngineError::AlreadyExists { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "RESOURCE_ALREADY_EXISTS",
            e.to_string(),
        ),
        EngineError::Invalid(_) | EngineError::Parse(_) | EngineError::Unsupported(_) => {
            ApiError::invalid(e.to_string())
        }
        EngineError::AccessDenied { .. } => ApiError::permission_denied(e.to_string()),
        EngineError::CatalogUnavailable(c) => catalog_error(c),
        e => {
            tracing::error!(error = %e, "a catalog operation failed");
            ApiError::internal()
        }
    }
}

pub(super) fn invalid_name(e: CatalogError) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// One page of `items` (sorted by `key`), after `page_token`.
pub(super) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    paging: &Paging,
) -> (Vec<T>, Option<String>) {
    let limit = match paging.max_results {
        None | Some(0) => MAX_PAGE,
        Some(n) => (n as usize).min(MAX_PAGE),
    };
    let after = paging.page_token.as_deref().filter(|t| !t.is_empty());
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| after.is_none_or(|a| key(i).as_str() > a))
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = more.then(|| rest.last().map(&key)).flatten();
    (rest, next)
}

/// Who the caller is: their groups, whether they are an admin.
pub(super) async fn identity(app: &AppState, who: &Principal) -> ApiResult<Identity> {
    Ok(app.control.principals().identity(&who.user_name).await?)
}

/// The caller's execution context: what the engine does for them is checked against their grants.
pub(super) async fn ctx(app: &AppState, who: &Principal) -> ApiResult<ExecContext> {
    Ok(ExecContext::as_user(identity(app, who).await?))
}

/// Whether `id` sees `s` in listings and may read its entry.
pub(super) async fn visible(app: &AppState, id: &Identity, s: Securable) -> ApiResult<bool> {
    if id.admin {
        return Ok(true);
    }
    let lineage = app
        .control
        .catalogs()
        .lineage(&s)
        .await
        .map_err(catalog_error)?;
    Ok(lineage.visible(id))
}

/// 403 unless `id` sees `s`.
pub(super) async fn require_visible(app: &AppState, id: &Identity, s: Securable) -> ApiResult<()> {
    match visible(app, id, s.clone()).await? {
        true => Ok(()),
        false => Err(ApiError::permission_denied(format!(
            "User does not have a privilege on {s}."
        ))),
    }
}

/// 403 unless `id` owns `s` (or something above it) or is an admin.
pub(super) async fn require_owner(app: &AppState, id: &Identity, s: Securable) -> ApiResult<()> {
    if id.admin {
        return Ok(());
    }
    let lineage = app
        .control
        .catalogs()
        .lineage(&s)
        .await
        .map_err(catalog_error)?;
    match lineage.owned_by(id) {
        true => Ok(()),
        false => Err(ApiError::permission_denied(format!(
            "User is not an owner of {s}."
        ))),
    }
}

pub(super) fn securable_update(body: UpdateSecurable) -> ApiResult<SecurableUpdate> {
    if body.new_name.is_some() {
        return Err(ApiError::invalid(
            "renaming catalogs and schemas is not supported yet",
        ));
    }
    Ok(SecurableUpdate {
        comment: body.comment.map(Some),
        properties: body.properties,
        owner: body.owner,
    })
}

pub(super) fn schema_name(full: &str) -> ApiResult<SchemaName> {
    match full.split('.').collect::<Vec<_>>().as_slice() {
        [c, s] => SchemaName::new(c, s).map_err(invalid_name),
        _ => Err(ApiError::invalid(format!(
            "'{full}' is not a schema's full name (catalog.schema)"
        ))),
    }
}

pub(super) fn table_name(full: &str) -> ApiResult<FullName> {
    match full.split('.').collect::<Vec<_>>().as_slice() {
        [c, s, t] => FullName::new(c, s, t).map_err(invalid_name),
        _ => Err(ApiError::invalid(format!(
            "'{full}' is not a table's full name (catalog.schema.table)"
        ))),
    }
}
