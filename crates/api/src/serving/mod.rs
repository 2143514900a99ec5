//! Serving endpoints (`/api/2.0/serving-endpoints`) and their invocations
//! (`/serving-endpoints/{name}/invocations`): create, get, list, delete, a new config (deployed
//! blue/green), tags. The SDK's waiters poll `GET …/{name}`, which moves the endpoint on first.

mod wire;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Extension, Json};
use lakeplane_control::serving::ServingEndpoints;
use lakeplane_control::Principal;
use lakeplane_core::mlflow::KeyValue;
use lakeplane_http::extract::PathParam;
use lakeplane_http::{ApiError, ApiResult, AppState, Area, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use wire::{ConfigInput, CreateEndpoint, EndpointOutput};

use crate::mlflow::Input;
use crate::Errors;

/// The largest invocation body, in bytes (Databricks' limit is 16 MB).
pub const MAX_INVOCATION_BYTES: usize = 16 * 1024 * 1024;
const BASE: &str = "/api/2.0/serving-endpoints";

/// What the serving handlers use besides the control plane.
#[derive(Debug, Clone)]
pub struct ServingServices {
    pub endpoints: ServingEndpoints,
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    get_endpoint,
    delete_endpoint,
    update_config,
    patch_tags,
    invocations
))]
struct Doc;

/// The serving area.
pub fn area(services: ServingServices) -> Area {
    let one = format!("{BASE}/{{name}}");
    let routes = Routes::new()
        .route(Method::POST, BASE, post(create))
        .route(Method::GET, BASE, get(list))
        .route(Method::GET, &one, get(get_endpoint))
        .route(Method::DELETE, &one, delete(delete_endpoint))
        .route(Method::PUT, &format!("{one}/config"), put(update_config))
        .route(Method::PATCH, &format!("{one}/tags"), patch(patch_tags))
        .route(
            Method::POST,
            "/serving-endpoints/{name}/invocations",
            post(invocations),
        )
        .extension(services);
    Area::new(routes, <Doc as utoipa::OpenApi>::openapi())
}

/// Create an endpoint serving registered model versions; it is READY once they answer.
#[utoipa::path(operation_id = "serving_endpoints_create", post, path = "/api/2.0/serving-endpoints", tag = "Serving", request_body = CreateEndpoint,
    responses((status = 200, body = EndpointOutput), Errors))]
async fn create(
    Extension(s): Extension<ServingServices>,
    Extension(who): Extension<Principal>,
    Input(b): Input<CreateEndpoint>,
) -> ApiResult<Json<EndpointOutput>> {
    let config = b
        .config
        .ok_or_else(|| ApiError::invalid("Missing value for required parameter 'config'."))?
        .into_config()?;
    let e = s
        .endpoints
        .create(&b.name, config, b.tags, &who.user_name)
        .await?;
    Ok(Json(EndpointOutput::from(&e)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoints {
    endpoints: Vec<EndpointOutput>,
}

#[utoipa::path(operation_id = "serving_endpoints_list", get, path = "/api/2.0/serving-endpoints", tag = "Serving", responses((status = 200, body = Endpoints), Errors))]
async fn list(Extension(s): Extension<ServingServices>) -> ApiResult<Json<Endpoints>> {
    let all = s.endpoints.list().await?;
    Ok(Json(Endpoints {
        endpoints: all.iter().map(EndpointOutput::from).collect(),
    }))
}

#[utoipa::path(operation_id = "serving_endpoints_get_endpoint", get, path = "/api/2.0/serving-endpoints/{name}", tag = "Serving", params(("name" = String, Path)),
    responses((status = 200, body = EndpointOutput), Errors))]
async fn get_endpoint(
    Extension(s): Extension<ServingServices>,
    PathParam(name): PathParam,
) -> ApiResult<Json<EndpointOutput>> {
    Ok(Json(EndpointOutput::from(&s.endpoints.get(&name).await?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// Delete an endpoint and stop what serves it.
#[utoipa::path(operation_id = "serving_endpoints_delete_endpoint", delete, path = "/api/2.0/serving-endpoints/{name}", tag = "Serving", params(("name" = String, Path)),
    responses((status = 200, body = Empty), Errors))]
async fn delete_endpoint(
    Extension(s): Extension<ServingServices>,
    PathParam(name): PathParam,
) -> ApiResult<Json<Empty>> {
    s.endpoints.delete(&name).await?;
    Ok(Json(Empty {}))
}

/// Deploy a new config; the served one answers until the new one is up, and stays if it fails.
#[utoipa::path(operation_id = "serving_endpoints_update_config", put, path = "/api/2.0/serving-endpoints/{name}/config", tag = "Serving", params(("name" = String, Path)),
    request_body = ConfigInput, responses((status = 200, body = EndpointOutput), Errors))]
async fn update_config(
    Extension(s): Extension<ServingServices>,
    PathParam(name): PathParam,
    Input(b): Input<ConfigInput>,
) -> ApiResult<Json<EndpointOutput>> {
    let e = s.endpoints.update_config(&name, b.into_config()?).await?;
    Ok(Json(EndpointOutput::from(&e)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchTags {
    #[serde(default)]
    add_tags: Vec<KeyValue>,
    #[serde(default)]
    delete_tags: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tags {
    tags: Vec<KeyValue>,
}

#[utoipa::path(operation_id = "serving_endpoints_patch_tags", patch, path = "/api/2.0/serving-endpoints/{name}/tags", tag = "Serving", params(("name" = String, Path)),
    request_body = PatchTags, responses((status = 200, body = Tags), Errors))]
async fn patch_tags(
    Extension(s): Extension<ServingServices>,
    PathParam(name): PathParam,
    Input(b): Input<PatchTags>,
) -> ApiResult<Json<Tags>> {
    let e = s
        .endpoints
        .set_tags(&name, b.add_tags, b.delete_tags)
        .await?;
    Ok(Json(Tags { tags: e.tags }))
}

/// Score: `dataframe_split`, `dataframe_records`, `instances` or `inputs`, answered by the model
/// (`{"predictions": [...]}`) with the serving model's name in the `served-model-name` header.
#[utoipa::path(operation_id = "serving_endpoints_invocations", post, path = "/serving-endpoints/{name}/invocations", tag = "Serving", params(("name" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "The model's answer", body = Object), Errors))]
async fn invocations(
    State(_app): State<AppState>,
    Extension(s): Extension<ServingServices>,
    PathParam(name): PathParam,
    req: Request,
) -> ApiResult<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let body = axum::body::to_bytes(req.into_body(), MAX_INVOCATION_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_PARAMETER_VALUE",
                format!("The request body is larger than the {MAX_INVOCATION_BYTES} byte limit."),
            )
        })?;
    let (answer, served) = s
        .endpoints
        .invoke(&name, &content_type, body.to_vec())
        .await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    Ok((
        status,
        [
            (header::CONTENT_TYPE, answer.content_type),
            (header::HeaderName::from_static("served-model-name"), served),
        ],
        Body::from(answer.body),
    )
        .into_response())
}
