//! The shell every HTTP function shares: the areas' routes behind bearer-token auth, the public
//! routes (`/.well-known/databricks-config`, `/openapi.json`), and the layers that make every answer
//! Databricks error JSON (unknown routes 404, wrong methods 405, oversized headers 431, panics 500).

use std::any::Any;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use lakeplane_control::{Control, Principal};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

/// The largest total size of a request's headers, in bytes; larger is a 431 in error JSON.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// What every handler gets.
#[derive(Clone, Debug)]
pub struct AppState {
    pub control: Control,
    /// Returned by `/.well-known/databricks-config`.
    pub workspace_id: String,
    openapi: Arc<Document>,
}

/// The OpenAPI document, serialized on its first request (not at every cold start).
struct Document {
    doc: OpenApi,
    json: std::sync::OnceLock<axum::body::Bytes>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").finish_non_exhaustive()
    }
}

impl Document {
    fn json(&self) -> axum::body::Bytes {
        self.json
            .get_or_init(|| self.doc.to_json().unwrap_or_else(|_| "{}".into()).into())
            .clone()
    }
}

/// A router that remembers which (method, path) pairs it serves, for the OpenAPI check.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, String)>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn route(mut self, method: Method, path: &str, handler: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(path, handler);
        // A wildcard (`{*path}`) is documented as a plain parameter (`{path}`).
        self.table.push((method, path.replace("{*", "{")));
        self
    }

    /// Hands `value` to the handlers of the routes added so far (`Extension<T>`): an area's own
    /// services, such as the result store.
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Routes {
        self.router = self.router.layer(axum::Extension(value));
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }
}

/// One area of the API (jobs, queries, ...): its routes and their OpenAPI document.
pub struct Area {
    pub routes: Routes,
    pub doc: OpenApi,
    /// Routes served without a token, which check a credential of their own (signed result
    /// links).
    pub public: Routes,
}

impl Area {
    /// An area whose every route needs a token.
    pub fn new(routes: Routes, doc: OpenApi) -> Area {
        Area {
            routes,
            doc,
            public: Routes::new(),
        }
    }
}

/// The API of one function (or of `lakeplane dev`): the shell plus the areas it serves.
pub struct Shell {
    control: Control,
    workspace_id: String,
    body_deadline: std::time::Duration,
    routes: Routes,
    public: Routes,
    doc: OpenApi,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Lakeplane API",
        description = "The Databricks-compatible REST API served by lakeplane. Every error is \
                       {error_code, message} with the matching HTTP status."
    ),
    paths(well_known, openapi_json),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ShellDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        doc.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

impl Shell {
    pub fn new(control: Control) -> Shell {
        Shell {
            control,
            workspace_id: "1000000000000001".into(),
            body_deadline: crate::extract::BODY_TIMEOUT,
            routes: Routes::new(),
            public: Routes::new(),
            doc: <ShellDoc as utoipa::OpenApi>::openapi(),
        }
    }

    /// The id `/.well-known/databricks-config` reports.
    pub fn workspace_id(mut self, id: impl Into<String>) -> Shell {
        self.workspace_id = id.into();
        self
    }

    /// How long a client may take to send a request body (30 s by default); past it, a 408.
    pub fn body_deadline(mut self, deadline: std::time::Duration) -> Shell {
        self.body_deadline = deadline;
        self
    }

    /// Serves an area behind authentication.
    pub fn area(mut self, area: Area) -> Shell {
        self.routes = self.routes.merge(area.routes);
        self.public = self.public.merge(area.public);
        self.doc.merge(area.doc);
        self
    }

    /// Every (method, path) served: the public routes and the areas'.
    pub fn route_table(&self) -> Vec<(Method, String)> {
        let mut t = vec![
            (Method::GET, "/.well-known/databricks-config".to_string()),
            (Method::GET, "/openapi.json".to_string()),
        ];
        t.extend(self.routes.table.iter().cloned());
        t.extend(self.public.table.iter().cloned());
        t
    }

    /// The OpenAPI document of every route served.
    pub fn openapi(&self) -> &OpenApi {
        &self.doc
    }

    /// The whole application.
    pub fn into_router(self) -> Router {
        let state = AppState {
            control: self.control,
            workspace_id: self.workspace_id,
            openapi: Arc::new(Document {
                doc: self.doc,
                json: std::sync::OnceLock::new(),
            }),
        };
        let api = self
            .routes
            .router
            .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
        Router::new()
            .route("/.well-known/databricks-config", axum::routing::get(well_known))
            .route("/openapi.json", axum::routing::get(openapi_json))
            .merge(self.public.router)
            .merge(api)
            .fallback(no_endpoint)
            .method_not_allowed_fallback(wrong_method)
            .layer(middleware::from_fn(limit_headers))
            .layer(axum::Extension(crate::extract::BodyDeadline(
                self.body_deadline,
            )))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
            .layer(
                tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                }),
            )
            .with_state(state)
    }
}

/// `/.well-known/databricks-config`: what the SDK reads to learn the workspace.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct WorkspaceConfig {
    workspace_id: String,
    cloud: String,
    oidc_endpoint: String,
}

/// The workspace's configuration, for SDK discovery. No authentication.
#[utoipa::path(get, path = "/.well-known/databricks-config", security(()),
    responses((status = 200, body = WorkspaceConfig)))]
async fn well_known(State(app): State<AppState>) -> axum::Json<WorkspaceConfig> {
    axum::Json(WorkspaceConfig {
        workspace_id: app.workspace_id,
        cloud: "AWS".into(),
        oidc_endpoint: String::new(),
    })
}

/// This document. No authentication.
#[utoipa::path(get, path = "/openapi.json", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(State(app): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.openapi.json(),
    )
        .into_response()
}

async fn no_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::no_endpoint(method.as_str(), uri.path())
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!(
            "'{method} {}' is not supported: this endpoint takes another method.",
            uri.path()
        ),
    )
}

async fn limit_headers(req: Request, next: Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "INVALID_PARAMETER_VALUE",
            format!("The request headers are larger than the {MAX_HEADER_BYTES} byte limit."),
        )
        .into_response();
    }
    next.run(req).await
}

fn on_panic(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// Checks `Authorization: Bearer <token>` and puts the caller's [`Principal`] into the request.
async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let Some(token) = token else {
        return ApiError::unauthenticated(
            "Missing or malformed Authorization header; send 'Bearer <token>'.",
        )
        .into_response();
    };
    match app.control.tokens().authenticate(&token).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert::<Principal>(principal);
            next.run(req).await
        }
        Ok(None) => ApiError::permission_denied("Invalid access token.").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
