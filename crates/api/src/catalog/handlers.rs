//! Unity Catalog's handlers: catalogs, schemas and tables over the catalog port, with the engine
//! for what needs the data (a table's columns; dropping a managed table's files).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use lakeplane_control::Principal;
use lakeplane_core::catalog::{
    check_name, CatalogError, FullName, Identity, Metastore, SchemaName, Securable,
    SecurableUpdate, TableUpdate,
};
use lakeplane_engine::{Engine, EngineError, ExecContext};
use lakeplane_http::extract::{Json, PathParam, Query};
use lakeplane_http::{ApiError, ApiResult, AppState};

use super::wire::*;
use crate::Errors;

type Answer<T> = ApiResult<axum::Json<T>>;

/// The most items one page holds.
const MAX_PAGE: usize = 1000;

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

fn engine_error(e: EngineError) -> ApiError {
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

fn invalid_name(e: CatalogError) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// One page of `items` (sorted by `key`), after `page_token`.
fn page<T>(items: Vec<T>, key: impl Fn(&T) -> String, paging: &Paging) -> (Vec<T>, Option<String>) {
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
async fn ctx(app: &AppState, who: &Principal) -> ApiResult<ExecContext> {
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

fn securable_update(body: UpdateSecurable) -> ApiResult<SecurableUpdate> {
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

/// Create a catalog (with its `default` schema).
#[utoipa::path(operation_id = "uc_catalogs_create", post, path = "/api/2.1/unity-catalog/catalogs", tag = "Unity Catalog",
    request_body = CreateCatalog, responses((status = 200, body = CatalogResponse), Errors))]
pub async fn create_catalog(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    Json(body): Json<CreateCatalog>,
) -> Answer<CatalogResponse> {
    let name = check_name("catalog", &body.name).map_err(invalid_name)?;
    engine
        .create_catalog(&ctx(&app, &who).await?, &name, body.comment)
        .await
        .map_err(engine_error)?;
    let catalogs = app.control.catalogs();
    let mut c = catalogs.get_catalog(&name).await.map_err(catalog_error)?;
    if let Some(p) = body.properties {
        let update = SecurableUpdate {
            properties: Some(p),
            ..Default::default()
        };
        c = catalogs
            .update_catalog(&name, update)
            .await
            .map_err(catalog_error)?;
    }
    Ok(axum::Json(CatalogResponse::from(&c)))
}

/// List catalogs.
#[utoipa::path(operation_id = "uc_catalogs_list", get, path = "/api/2.1/unity-catalog/catalogs", tag = "Unity Catalog",
    params(Paging), responses((status = 200, body = ListCatalogsResponse), Errors))]
pub async fn list_catalogs(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(q): Query<Paging>,
) -> Answer<ListCatalogsResponse> {
    let id = identity(&app, &who).await?;
    let mut all = Vec::new();
    for c in app
        .control
        .catalogs()
        .list_catalogs()
        .await
        .map_err(catalog_error)?
    {
        if visible(&app, &id, Securable::Catalog(c.name.clone())).await? {
            all.push(c);
        }
    }
    let (items, next) = page(all, |c| c.name.clone(), &q);
    Ok(axum::Json(ListCatalogsResponse {
        catalogs: items.iter().map(CatalogResponse::from).collect(),
        next_page_token: next,
    }))
}

/// Get a catalog.
#[utoipa::path(operation_id = "uc_catalogs_get", get, path = "/api/2.1/unity-catalog/catalogs/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "The catalog's name")),
    responses((status = 200, body = CatalogResponse), Errors))]
pub async fn get_catalog(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(name): PathParam,
) -> Answer<CatalogResponse> {
    let name = check_name("catalog", &name).map_err(invalid_name)?;
    require_visible(
        &app,
        &identity(&app, &who).await?,
        Securable::Catalog(name.clone()),
    )
    .await?;
    let c = app
        .control
        .catalogs()
        .get_catalog(&name)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(CatalogResponse::from(&c)))
}

/// Change a catalog's comment, properties or owner.
#[utoipa::path(operation_id = "uc_catalogs_update", patch, path = "/api/2.1/unity-catalog/catalogs/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "The catalog's name")), request_body = UpdateSecurable,
    responses((status = 200, body = CatalogResponse), Errors))]
pub async fn update_catalog(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(name): PathParam,
    Json(body): Json<UpdateSecurable>,
) -> Answer<CatalogResponse> {
    let name = check_name("catalog", &name).map_err(invalid_name)?;
    require_owner(
        &app,
        &identity(&app, &who).await?,
        Securable::Catalog(name.clone()),
    )
    .await?;
    let update = securable_update(body)?;
    let c = app
        .control
        .catalogs()
        .update_catalog(&name, update)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(CatalogResponse::from(&c)))
}

/// Delete a catalog; `force` drops what it holds (managed tables' files included).
#[utoipa::path(operation_id = "uc_catalogs_delete", delete, path = "/api/2.1/unity-catalog/catalogs/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "The catalog's name"), Force),
    responses((status = 200, body = Empty), Errors))]
pub async fn delete_catalog(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    PathParam(name): PathParam,
    Query(q): Query<Force>,
) -> Answer<Empty> {
    let name = check_name("catalog", &name).map_err(invalid_name)?;
    engine
        .drop_catalog(&ctx(&app, &who).await?, &name, q.force.unwrap_or(false))
        .await
        .map_err(engine_error)?;
    Ok(axum::Json(Empty {}))
}

fn schema_name(full: &str) -> ApiResult<SchemaName> {
    match full.split('.').collect::<Vec<_>>().as_slice() {
        [c, s] => SchemaName::new(c, s).map_err(invalid_name),
        _ => Err(ApiError::invalid(format!(
            "'{full}' is not a schema's full name (catalog.schema)"
        ))),
    }
}

fn table_name(full: &str) -> ApiResult<FullName> {
    match full.split('.').collect::<Vec<_>>().as_slice() {
        [c, s, t] => FullName::new(c, s, t).map_err(invalid_name),
        _ => Err(ApiError::invalid(format!(
            "'{full}' is not a table's full name (catalog.schema.table)"
        ))),
    }
}

/// Create a schema.
#[utoipa::path(operation_id = "uc_schemas_create", post, path = "/api/2.1/unity-catalog/schemas", tag = "Unity Catalog",
    request_body = CreateSchema, responses((status = 200, body = SchemaResponse), Errors))]
pub async fn create_schema(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    Json(body): Json<CreateSchema>,
) -> Answer<SchemaResponse> {
    let name = SchemaName::new(&body.catalog_name, &body.name).map_err(invalid_name)?;
    let props = body.properties.unwrap_or_default().into_iter().collect();
    engine
        .create_schema(&ctx(&app, &who).await?, &name, body.comment, props)
        .await
        .map_err(engine_error)?;
    let s = app
        .control
        .catalogs()
        .get_schema(&name)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(SchemaResponse::from(&s)))
}

/// List a catalog's schemas.
#[utoipa::path(operation_id = "uc_schemas_list", get, path = "/api/2.1/unity-catalog/schemas", tag = "Unity Catalog",
    params(ListSchemas), responses((status = 200, body = ListSchemasResponse), Errors))]
pub async fn list_schemas(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(q): Query<ListSchemas>,
) -> Answer<ListSchemasResponse> {
    let catalog = check_name("catalog", &q.catalog_name).map_err(invalid_name)?;
    let id = identity(&app, &who).await?;
    let mut all = Vec::new();
    for s in app
        .control
        .catalogs()
        .list_schemas(&catalog)
        .await
        .map_err(catalog_error)?
    {
        if visible(&app, &id, Securable::Schema(s.full_name())).await? {
            all.push(s);
        }
    }
    let (items, next) = page(all, |s| s.name.clone(), &q.paging);
    Ok(axum::Json(ListSchemasResponse {
        schemas: items.iter().map(SchemaResponse::from).collect(),
        next_page_token: next,
    }))
}

/// Get a schema.
#[utoipa::path(operation_id = "uc_schemas_get", get, path = "/api/2.1/unity-catalog/schemas/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema")),
    responses((status = 200, body = SchemaResponse), Errors))]
pub async fn get_schema(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(full): PathParam,
) -> Answer<SchemaResponse> {
    let name = schema_name(&full)?;
    let s = app
        .control
        .catalogs()
        .get_schema(&name)
        .await
        .map_err(catalog_error)?;
    require_visible(&app, &identity(&app, &who).await?, Securable::Schema(name)).await?;
    Ok(axum::Json(SchemaResponse::from(&s)))
}

/// Change a schema's comment, properties or owner.
#[utoipa::path(operation_id = "uc_schemas_update", patch, path = "/api/2.1/unity-catalog/schemas/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema")), request_body = UpdateSecurable,
    responses((status = 200, body = SchemaResponse), Errors))]
pub async fn update_schema(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(full): PathParam,
    Json(body): Json<UpdateSecurable>,
) -> Answer<SchemaResponse> {
    let name = schema_name(&full)?;
    require_owner(
        &app,
        &identity(&app, &who).await?,
        Securable::Schema(name.clone()),
    )
    .await?;
    let update = securable_update(body)?;
    let s = app
        .control
        .catalogs()
        .update_schema(&name, update)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(SchemaResponse::from(&s)))
}

/// Delete a schema; `force` drops its tables and views too.
#[utoipa::path(operation_id = "uc_schemas_delete", delete, path = "/api/2.1/unity-catalog/schemas/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema"), Force),
    responses((status = 200, body = Empty), Errors))]
pub async fn delete_schema(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(engine): Extension<Engine>,
    PathParam(full): PathParam,
    Query(q): Query<Force>,
) -> Answer<Empty> {
    let name = schema_name(&full)?;
    engine
        .drop_schema(&ctx(&app, &who).await?, &name, q.force.unwrap_or(false))
        .await
        .map_err(engine_error)?;
    Ok(axum::Json(Empty {}))
}

/// A table's entry with its columns (read from its Delta log, or a view's plan).
async fn with_columns(
    app: &AppState,
    engine: &Engine,
    who: &Principal,
    t: &lakeplane_core::catalog::TableInfo,
) -> ApiResult<TableResponse> {
    let columns = match engine
        .table_columns(&ctx(app, who).await?, &t.full_name())
        .await
    {
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
    let mut tables = Vec::with_capacity(items.len());
    for t in &items {
        let mut r = match q.omit_columns.unwrap_or(false) {
            true => TableResponse::new(t, None),
            false => with_columns(&app, &engine, &who, t).await?,
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
    engine
        .create_external_table(
            &ctx(&app, &who).await?,
            &name,
            &body.storage_location,
            body.comment,
            props,
        )
        .await
        .map_err(engine_error)?;
    let t = app
        .control
        .catalogs()
        .get_table(&name)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(with_columns(&app, &engine, &who, &t).await?))
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
    require_visible(&app, &identity(&app, &who).await?, Securable::Table(name)).await?;
    Ok(axum::Json(with_columns(&app, &engine, &who, &t).await?))
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
