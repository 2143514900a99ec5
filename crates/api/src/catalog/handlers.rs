//! Unity Catalog's catalog and schema handlers, over the catalog port (the engine creates and drops
//! them, with SQL's rules).

use axum::extract::State;
use axum::Extension;
use lakeplane_control::Principal;
use lakeplane_core::catalog::{check_name, Metastore, SchemaName, Securable, SecurableUpdate};
use lakeplane_engine::Engine;
use lakeplane_http::extract::{Json, PathParam, Query};
use lakeplane_http::AppState;

use super::wire::*;
use crate::Errors;

use super::common::*;

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
