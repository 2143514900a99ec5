//! Lakeplane's REST API, in Databricks' shapes so that the unmodified `databricks-sdk` works against it.
//!
//! One router per area (`jobs`, `queries`, `meta`), merged by [`router`]. Every route but the
//! well-known config and the OpenAPI document needs `Authorization: Bearer <token>`. Errors are
//! Databricks error JSON ([`error::ApiError`]); request bodies are capped at
//! [`extract::MAX_BODY_BYTES`]. Handlers parse, call [`lakeplane_control::Control`], and render.
//!
//! ```no_run
//! # async fn demo(control: lakeplane_control::Control) -> std::io::Result<()> {
//! let app = lakeplane_api::router(lakeplane_api::AppState::new(control));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

pub mod error;
pub mod extract;
pub mod jobs;
pub mod queries;
pub mod render;

use std::any::Any;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use lakeplane_control::Control;
use serde_json::json;

pub use error::{ApiError, ApiResult};

/// The OpenAPI document of every route [`router`] serves; a test keeps the two equal.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// What every handler gets.
#[derive(Clone, Debug)]
pub struct AppState {
    pub control: Control,
    /// Returned by `/.well-known/databricks-config`.
    pub workspace_id: String,
}

impl AppState {
    pub fn new(control: Control) -> AppState {
        AppState {
            control,
            workspace_id: "1000000000000001".into(),
        }
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
        self.table.push((method, path.to_string()));
        self
    }

    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }
}

fn authenticated_routes() -> Routes {
    Routes::new()
        .merge(jobs::routes("/api/2.1/jobs"))
        .merge(jobs::routes("/api/2.2/jobs"))
        .merge(queries::routes())
}

fn public_routes() -> Routes {
    Routes::new()
        .route(
            Method::GET,
            "/.well-known/databricks-config",
            axum::routing::get(well_known),
        )
        .route(Method::GET, "/openapi.json", axum::routing::get(openapi))
}

/// Every (method, path) the API serves.
pub fn route_table() -> Vec<(Method, String)> {
    let mut t = public_routes().table;
    t.extend(authenticated_routes().table);
    t
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let api = authenticated_routes()
        .router
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    public_routes()
        .router
        .merge(api)
        .fallback(no_endpoint)
        .method_not_allowed_fallback(no_endpoint)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                }),
        )
        .with_state(state)
}

async fn well_known(State(app): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"workspace_id": app.workspace_id, "cloud": "AWS", "oidc_endpoint": ""}))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn no_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::no_endpoint(method.as_str(), uri.path())
}

fn on_panic(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        "Unexpected internal failure; the request was not completed.",
    )
    .into_response()
}

/// Checks `Authorization: Bearer <token>` and puts the caller's [`lakeplane_control::Principal`]
/// into the request.
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
    match app.control.authenticate(&token).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Ok(None) => ApiError::permission_denied("Invalid access token.").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
