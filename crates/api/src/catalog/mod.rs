//! The Unity Catalog REST API (`/api/2.1/unity-catalog/`): catalogs, schemas, tables and views,
//! and functions.
//! What SQL DDL creates, these list; what these create or delete, SQL sees: both go through the
//! one catalog port. Lists page by name (`max_results`, `page_token`; 0 lets the server choose).

mod common;
mod functions;
mod handlers;
mod permissions;
mod tables;
mod wire;

use axum::http::Method;
use axum::routing::{delete, get, patch, post};
use lakeplane_engine::Engine;
use lakeplane_http::{Area, Routes};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::create_catalog,
    handlers::list_catalogs,
    handlers::get_catalog,
    handlers::update_catalog,
    handlers::delete_catalog,
    handlers::create_schema,
    handlers::list_schemas,
    handlers::get_schema,
    handlers::update_schema,
    handlers::delete_schema,
    tables::create_table,
    tables::list_tables,
    tables::get_table,
    tables::table_exists,
    tables::update_table,
    tables::delete_table,
    tables::table_summaries,
    tables::metastore_summary,
    permissions::get,
    permissions::update,
    permissions::effective,
    functions::list_functions,
    functions::get_function,
    functions::delete_function,
))]
struct CatalogDoc;

/// The Unity Catalog area, over `engine` (for tables' columns and dropping managed data).
pub fn area(engine: Engine) -> Area {
    use handlers as h;
    const P: &str = "/api/2.1/unity-catalog";
    let routes = Routes::new()
        .route(
            Method::POST,
            &format!("{P}/catalogs"),
            post(h::create_catalog),
        )
        .route(Method::GET, &format!("{P}/catalogs"), get(h::list_catalogs))
        .route(
            Method::GET,
            &format!("{P}/catalogs/{{id}}"),
            get(h::get_catalog),
        )
        .route(
            Method::PATCH,
            &format!("{P}/catalogs/{{id}}"),
            patch(h::update_catalog),
        )
        .route(
            Method::DELETE,
            &format!("{P}/catalogs/{{id}}"),
            delete(h::delete_catalog),
        )
        .route(
            Method::POST,
            &format!("{P}/schemas"),
            post(h::create_schema),
        )
        .route(Method::GET, &format!("{P}/schemas"), get(h::list_schemas))
        .route(
            Method::GET,
            &format!("{P}/schemas/{{id}}"),
            get(h::get_schema),
        )
        .route(
            Method::PATCH,
            &format!("{P}/schemas/{{id}}"),
            patch(h::update_schema),
        )
        .route(
            Method::DELETE,
            &format!("{P}/schemas/{{id}}"),
            delete(h::delete_schema),
        )
        .route(
            Method::POST,
            &format!("{P}/tables"),
            post(tables::create_table),
        )
        .route(
            Method::GET,
            &format!("{P}/tables"),
            get(tables::list_tables),
        )
        .route(
            Method::GET,
            &format!("{P}/tables/{{id}}"),
            get(tables::get_table),
        )
        .route(
            Method::GET,
            &format!("{P}/tables/{{id}}/exists"),
            get(tables::table_exists),
        )
        .route(
            Method::PATCH,
            &format!("{P}/tables/{{id}}"),
            patch(tables::update_table),
        )
        .route(
            Method::DELETE,
            &format!("{P}/tables/{{id}}"),
            delete(tables::delete_table),
        )
        .route(
            Method::GET,
            &format!("{P}/table-summaries"),
            get(tables::table_summaries),
        )
        .route(
            Method::GET,
            &format!("{P}/metastore_summary"),
            get(tables::metastore_summary),
        )
        .route(
            Method::GET,
            &format!("{P}/permissions/{{securable_type}}/{{id}}"),
            get(permissions::get),
        )
        .route(
            Method::PATCH,
            &format!("{P}/permissions/{{securable_type}}/{{id}}"),
            patch(permissions::update),
        )
        .route(
            Method::GET,
            &format!("{P}/effective-permissions/{{securable_type}}/{{id}}"),
            get(permissions::effective),
        )
        .route(
            Method::GET,
            &format!("{P}/functions"),
            get(functions::list_functions),
        )
        .route(
            Method::GET,
            &format!("{P}/functions/{{id}}"),
            get(functions::get_function),
        )
        .route(
            Method::DELETE,
            &format!("{P}/functions/{{id}}"),
            delete(functions::delete_function),
        )
        .extension(engine);
    Area::new(routes, <CatalogDoc as utoipa::OpenApi>::openapi())
}
