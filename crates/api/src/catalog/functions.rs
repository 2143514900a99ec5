//! Unity Catalog's functions: `GET /functions` (a schema's, paged by name), `GET
//! /functions/{name}` and `DELETE /functions/{name}`. Functions are created with SQL (`CREATE
//! FUNCTION … LANGUAGE WASM`); these read and drop the same catalog entries.

use axum::extract::State;
use axum::Extension;
use lakeplane_control::Principal;
use lakeplane_core::catalog::{FunctionInfo, Metastore, SchemaName, Securable};
use lakeplane_http::extract::{PathParam, Query};
use lakeplane_http::AppState;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::common::*;
use super::wire::{Empty, Paging};
use crate::Errors;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFunctions {
    pub catalog_name: String,
    pub schema_name: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionParameterInfo {
    pub name: String,
    pub type_text: String,
    pub type_name: String,
    pub type_json: String,
    pub position: u32,
    pub parameter_mode: &'static str,
    pub parameter_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionParameterInfos {
    pub parameters: Vec<FunctionParameterInfo>,
}

/// A function as Unity Catalog shows it (`routine_body` EXTERNAL, `external_language` WASM);
/// `properties` holds lakeplane's handler and module hash, as a JSON string.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionResponse {
    pub name: String,
    pub catalog_name: String,
    pub schema_name: String,
    pub full_name: String,
    pub input_params: FunctionParameterInfos,
    pub data_type: String,
    pub full_data_type: String,
    pub routine_body: &'static str,
    pub routine_definition: String,
    pub external_language: String,
    pub is_deterministic: bool,
    pub is_null_call: bool,
    pub parameter_style: &'static str,
    pub security_type: &'static str,
    pub sql_data_access: &'static str,
    pub specific_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub owner: String,
    pub function_id: String,
    pub properties: String,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListFunctionsResponse {
    pub functions: Vec<FunctionResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// Unity Catalog's `ColumnTypeName` for a SQL type.
fn type_name(sql: &str) -> String {
    match sql {
        "BIGINT" => "LONG".into(),
        other => other.into(),
    }
}

impl From<&FunctionInfo> for FunctionResponse {
    fn from(f: &FunctionInfo) -> FunctionResponse {
        let parameters = f
            .input_params
            .iter()
            .map(|p| FunctionParameterInfo {
                name: p.name.clone(),
                type_text: p.type_text.to_lowercase(),
                type_name: type_name(&p.type_text),
                type_json: json!({"name": p.name, "type": p.type_text.to_lowercase(), "nullable": true, "metadata": {}})
                    .to_string(),
                position: p.position,
                parameter_mode: "IN",
                parameter_type: "PARAM",
            })
            .collect();
        FunctionResponse {
            name: f.name.clone(),
            catalog_name: f.catalog_name.clone(),
            schema_name: f.schema_name.clone(),
            full_name: f.full_name().to_string(),
            input_params: FunctionParameterInfos { parameters },
            data_type: type_name(&f.data_type),
            full_data_type: f.data_type.to_lowercase(),
            routine_body: "EXTERNAL",
            routine_definition: f.routine_definition.clone(),
            external_language: f.external_language.clone(),
            is_deterministic: true,
            is_null_call: false,
            parameter_style: "S",
            security_type: "DEFINER",
            sql_data_access: "NO_SQL",
            specific_name: f.name.clone(),
            comment: f.comment.clone(),
            owner: f.owner.clone(),
            function_id: f.function_id.clone(),
            properties: json!({
                "handler": f.handler,
                "module_sha256": f.module_sha256,
                "module_bytes": f.module_bytes,
            })
            .to_string(),
            created_at: f.created_at,
            created_by: f.created_by.clone(),
            updated_at: f.updated_at,
            updated_by: f.updated_by.clone(),
        }
    }
}

/// List a schema's functions (those the caller may see).
#[utoipa::path(operation_id = "uc_functions_list", get, path = "/api/2.1/unity-catalog/functions", tag = "Unity Catalog",
    params(ListFunctions), responses((status = 200, body = ListFunctionsResponse), Errors))]
pub async fn list_functions(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(q): Query<ListFunctions>,
) -> Answer<ListFunctionsResponse> {
    let schema = SchemaName::new(&q.catalog_name, &q.schema_name).map_err(invalid_name)?;
    let id = identity(&app, &who).await?;
    let mut all = Vec::new();
    for f in app
        .control
        .catalogs()
        .list_functions(&schema)
        .await
        .map_err(catalog_error)?
    {
        if visible(&app, &id, Securable::Function(f.full_name())).await? {
            all.push(f);
        }
    }
    let (items, next) = page(all, |f| f.name.clone(), &q.paging);
    Ok(axum::Json(ListFunctionsResponse {
        functions: items.iter().map(FunctionResponse::from).collect(),
        next_page_token: next,
    }))
}

/// Get a function.
#[utoipa::path(operation_id = "uc_functions_get", get, path = "/api/2.1/unity-catalog/functions/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema.function")),
    responses((status = 200, body = FunctionResponse), Errors))]
pub async fn get_function(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(full): PathParam,
) -> Answer<FunctionResponse> {
    let name = table_name(&full)?;
    let f = app
        .control
        .catalogs()
        .get_function(&name)
        .await
        .map_err(catalog_error)?;
    let id = identity(&app, &who).await?;
    require_visible(&app, &id, Securable::Function(name)).await?;
    Ok(axum::Json(FunctionResponse::from(&f)))
}

/// Delete a function (its owner, or an admin).
#[utoipa::path(operation_id = "uc_functions_delete", delete, path = "/api/2.1/unity-catalog/functions/{id}", tag = "Unity Catalog",
    params(("id" = String, Path, description = "catalog.schema.function")),
    responses((status = 200, body = Empty), Errors))]
pub async fn delete_function(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(full): PathParam,
) -> Answer<Empty> {
    let name = table_name(&full)?;
    let catalogs = app.control.catalogs();
    catalogs.get_function(&name).await.map_err(catalog_error)?;
    let id = identity(&app, &who).await?;
    require_owner(&app, &id, Securable::Function(name.clone())).await?;
    catalogs.drop_function(&name).await.map_err(catalog_error)?;
    Ok(axum::Json(Empty {}))
}
