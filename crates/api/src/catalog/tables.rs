//! Unity Catalog's table and view handlers: columns come from the Delta log (or a view's plan)
//! through the engine, which also drops a managed table's files.

use axum::extract::State;
use axum::Extension;
use lakeplane_control::Principal;
use lakeplane_core::catalog::{
    check_name, CatalogError, FullName, Metastore, SchemaName, Securable, TableUpdate,
};
use lakeplane_engine::{Engine, EngineError, ExecContext};
use lakeplane_http::extract::{Json, PathParam, Query};
use lakeplane_http::{ApiError, ApiResult, AppState};

use super::wire::*;
use crate::Errors;

use super::common::*;

/// A table's entry with its columns (read from its Delta log, or a view's plan).
async fn with_columns(
    engine: &Engine,
    ctx: &ExecContext,
    t: &lakeplane_core::catalog::TableInfo,
) -> ApiResult<TableResponse> {
    let columns = match engine.table_columns(ctx, &t.full_name()).await {
        Ok(cols) => Some(cols.iter().map(ColumnInfo::from).collect()),
        // A table whose files are gone is still listed, without columns.
        Err(EngineError::NotFound { .. } | EngineError::Delta(_)) => None,
        Err(e) => return Err(engine_error(e)),
    };
    Ok(TableResponse::new(t, columns))
}

/// List a schema's tables and views.
#[utoipa::path(operation_id = "uc_tables_list", get, path = "/api/2.1/unity-catalog/tables", tag = "Unity Catalog",
    params(ListTables), responses((status = 200, body = ListTablesResponse), Errors))]
pub async fn list_tables(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    Query(q): Query<ListTables>,
) -> Answer<ListTablesResponse> {
    let schema = SchemaName::new(&q.catalog_name, &q.schema_name).map_err(invalid_name)?;
    let id = identity(&app, &who).await?;
    let mut all = Vec::new();
    for t in app
        .control
        .catalogs()
        .list_tables(&schema)
        .await
        .map_err(catalog_error)?
    {
        if visible(&app, &id, Securable::Table(t.full_name())).await? {
            all.push(t);
        }
    }
    let (items, next) = page(all, |t| t.name.clone(), &q.paging);
    let ctx = ExecContext::as_user(id);
    let mut tables = Vec::with_capacity(items.len());
    for t in &items {
        let mut r = match q.omit_columns.unwrap_or(false) {
            true => TableResponse::new(t, None),
            false => with_columns(&engine, &ctx, t).await?,
        };
        if q.omit_properties.unwrap_or(false) {
            r.properties.clear();
        }
        tables.push(r);
    }
    Ok(axum::Json(ListTablesResponse {
        tables,
        next_page_token: next,
    }))
}

/// Register an existing Delta table as an external table (managed tables are made with SQL).
#[utoipa::path(operation_id = "uc_tables_create", post, path = "/api/2.1/unity-catalog/tables", tag = "Unity Catalog",
    request_body = CreateTable, responses((status = 200, body = TableResponse), Errors))]
pub async fn create_table(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    Json(body): Json<CreateTable>,
) -> Answer<TableResponse> {
    if !body.table_type.eq_ignore_ascii_case("EXTERNAL")
        || !body.data_source_format.eq_ignore_ascii_case("DELTA")
    {
        return Err(ApiError::invalid(
            "only EXTERNAL DELTA tables can be created through the API; create managed tables and views with SQL",
        ));
    }
    let name =
        FullName::new(&body.catalog_name, &body.schema_name, &body.name).map_err(invalid_name)?;
    let props = body.properties.unwrap_or_default().into_iter().collect();
    let ctx = ctx(&app, &who).await?;
    engine
        .create_external_table(&ctx, &name, &body.storage_location, body.comment, props)
        .await
        .map_err(engine_error)?;
    let t = app
        .control
        .catalogs()
        .get_table(&name)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(with_columns(&engine, &ctx, &t).await?))
}

/// Get a table or view, with its columns.
#[utoipa::path(operation_id = "uc_tables_get", get, path = "/api/2.1/unity-catalog/tables/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema.table")),
    responses((status = 200, body = TableResponse), Errors))]
pub async fn get_table(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    PathParam(full): PathParam,
) -> Answer<TableResponse> {
    let name = table_name(&full)?;
    let t = app
        .control
        .catalogs()
        .get_table(&name)
        .await
        .map_err(catalog_error)?;
    let id = identity(&app, &who).await?;
    require_visible(&app, &id, Securable::Table(name)).await?;
    Ok(axum::Json(
        with_columns(&engine, &ExecContext::as_user(id), &t).await?,
    ))
}

/// Whether a table or view exists.
#[utoipa::path(operation_id = "uc_tables_exists", get, path = "/api/2.1/unity-catalog/tables/{id}/exists", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema.table")),
    responses((status = 200, body = TableExists), Errors))]
pub async fn table_exists(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(full): PathParam,
) -> Answer<TableExists> {
    let name = table_name(&full)?;
    let exists = match app.control.catalogs().get_table(&name).await {
        Ok(_) => visible(&app, &identity(&app, &who).await?, Securable::Table(name)).await?,
        Err(CatalogError::NotFound { .. }) => false,
        Err(e) => return Err(catalog_error(e)),
    };
    Ok(axum::Json(TableExists {
        table_exists: exists,
    }))
}

/// Change a table's owner.
#[utoipa::path(operation_id = "uc_tables_update", patch, path = "/api/2.1/unity-catalog/tables/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema.table")), request_body = UpdateTable,
    responses((status = 200, body = Empty), Errors))]
pub async fn update_table(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(full): PathParam,
    Json(body): Json<UpdateTable>,
) -> Answer<Empty> {
    let name = table_name(&full)?;
    require_owner(
        &app,
        &identity(&app, &who).await?,
        Securable::Table(name.clone()),
    )
    .await?;
    if let Some(owner) = body.owner.filter(|o| !o.trim().is_empty()) {
        app.control
            .catalogs()
            .update_table(&name, TableUpdate::Owner(owner), &who.user_name)
            .await
            .map_err(catalog_error)?;
    }
    Ok(axum::Json(Empty {}))
}

/// Delete a table (a managed table's files too) or view.
#[utoipa::path(operation_id = "uc_tables_delete", delete, path = "/api/2.1/unity-catalog/tables/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema.table")),
    responses((status = 200, body = Empty), Errors))]
pub async fn delete_table(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    PathParam(full): PathParam,
) -> Answer<Empty> {
    engine
        .drop_table(&ctx(&app, &who).await?, &table_name(&full)?)
        .await
        .map_err(engine_error)?;
    Ok(axum::Json(Empty {}))
}

/// Names and types of a catalog's tables, by schema and table patterns (`%` and `_`, or `*`).
#[utoipa::path(operation_id = "uc_table_summaries", get, path = "/api/2.1/unity-catalog/table-summaries", tag = "Unity Catalog",
    params(TableSummaries), responses((status = 200, body = TableSummariesResponse), Errors))]
pub async fn table_summaries(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(q): Query<TableSummaries>,
) -> Answer<TableSummariesResponse> {
    let id = identity(&app, &who).await?;
    let catalogs = app.control.catalogs();
    let catalog = check_name("catalog", &q.catalog_name).map_err(invalid_name)?;
    let mut all = Vec::new();
    for s in catalogs
        .list_schemas(&catalog)
        .await
        .map_err(catalog_error)?
    {
        if !lakeplane_engine::pattern_matches(q.schema_name_pattern.as_deref(), &s.name) {
            continue;
        }
        for t in catalogs
            .list_tables(&s.full_name())
            .await
            .map_err(catalog_error)?
        {
            if lakeplane_engine::pattern_matches(q.table_name_pattern.as_deref(), &t.name)
                && visible(&app, &id, Securable::Table(t.full_name())).await?
            {
                all.push(TableSummary {
                    full_name: t.full_name().to_string(),
                    table_type: table_type(t.table_type).into(),
                });
            }
        }
    }
    let (tables, next) = page(all, |t| t.full_name.clone(), &q.paging);
    Ok(axum::Json(TableSummariesResponse {
        tables,
        next_page_token: next,
    }))
}

/// The metastore this workspace uses (there is one).
#[utoipa::path(operation_id = "uc_metastore_summary", get, path = "/api/2.1/unity-catalog/metastore_summary", tag = "Unity Catalog",
    responses((status = 200, body = MetastoreSummary), Errors))]
pub async fn metastore_summary() -> Answer<MetastoreSummary> {
    Ok(axum::Json(MetastoreSummary {
        metastore_id: METASTORE_ID.into(),
        name: "lakeplane".into(),
        owner: "admins".into(),
        cloud: "aws".into(),
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
    }))
}
