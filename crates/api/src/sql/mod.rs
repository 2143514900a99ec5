//! Databricks SQL: the Statement Execution API (`/api/2.0/sql/statements`), the sessions the SQL
//! connector opens (`/api/2.0/sql/sessions`) and SQL warehouses (`/api/2.0/sql/warehouses`).
//!
//! The API only queues and reads: a statement is a document in its warehouse's queue, run by a
//! worker that writes the result as chunks to the result store. `POST /statements` waits up to
//! `wait_timeout` for it to end; results are answered inline (JSON text or base64 Arrow) or as
//! links to the chunks (presigned S3 URLs on AWS; signed `lakeplane dev` URLs locally).

mod links;
mod sessions;
mod statements;
mod warehouse_wire;
mod warehouses;
mod wire;

use std::sync::Arc;

use axum::http::Method;
use axum::routing::{delete, get, post};
use lakeplane_core::sql::ResultStore;
use lakeplane_engine::results::LinkSigner;
use lakeplane_http::{Area, Routes};

pub use statements::{HYBRID_INLINE_BYTES, LINK_TTL};

/// What the SQL handlers use besides the control plane.
#[derive(Debug, Clone)]
pub struct SqlServices {
    /// Where workers wrote results.
    pub results: Arc<dyn ResultStore>,
    /// Checks served links (`lakeplane dev`); `None` where links are presigned S3 URLs.
    pub signer: Option<LinkSigner>,
    /// Runs statements in this process when they finish within a budget (the `sql` function);
    /// `None` leaves every statement to the warehouse's workers.
    pub inline: Option<Arc<dyn InlineRunner>>,
    /// Whether this process moves warehouses on (a starting one runs, an idle one stops): where it
    /// is their compute (the `sql` function without warehouse clusters).
    pub moves_warehouses: bool,
}

/// Runs a submitted statement here, within a budget, handing it back to its warehouse's queue
/// when it does not finish in time.
#[async_trait::async_trait]
pub trait InlineRunner: Send + Sync + std::fmt::Debug + 'static {
    /// Runs the statement if it is still waiting; returns when it ended or went back to the queue.
    async fn run_inline(&self, statement_id: &str, budget: std::time::Duration);
    /// The longest budget this process gives one statement.
    fn max_budget(&self) -> std::time::Duration;
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    statements::execute,
    statements::get,
    statements::chunk,
    statements::cancel,
    statements::close,
    links::download,
    sessions::create,
    sessions::delete,
    sessions::feature_flags,
    warehouses::create,
    warehouses::get,
    warehouses::list,
    warehouses::edit,
    warehouses::start,
    warehouses::stop,
    warehouses::delete,
))]
struct SqlDoc;

/// The SQL area.
pub fn area(services: SqlServices) -> Area {
    const S: &str = "/api/2.0/sql/statements";
    const W: &str = "/api/2.0/sql/warehouses";
    let routes = Routes::new()
        .route(Method::POST, S, post(statements::execute))
        .route(Method::GET, &format!("{S}/{{id}}"), get(statements::get))
        .route(
            Method::DELETE,
            &format!("{S}/{{id}}"),
            delete(statements::close),
        )
        .route(
            Method::GET,
            &format!("{S}/{{id}}/result/chunks/{{chunk}}"),
            get(statements::chunk),
        )
        .route(
            Method::POST,
            &format!("{S}/{{id}}/cancel"),
            post(statements::cancel),
        )
        .route(
            Method::POST,
            "/api/2.0/sql/sessions",
            post(sessions::create),
        )
        .route(
            Method::DELETE,
            "/api/2.0/sql/sessions/{id}",
            delete(sessions::delete),
        )
        .route(
            Method::GET,
            "/api/2.0/connector-service/feature-flags/{client}/{id}",
            get(sessions::feature_flags),
        )
        .route(Method::POST, W, post(warehouses::create))
        .route(Method::GET, W, get(warehouses::list))
        .route(Method::GET, &format!("{W}/{{id}}"), get(warehouses::get))
        .route(
            Method::DELETE,
            &format!("{W}/{{id}}"),
            delete(warehouses::delete),
        )
        .route(
            Method::POST,
            &format!("{W}/{{id}}/edit"),
            post(warehouses::edit),
        )
        .route(
            Method::POST,
            &format!("{W}/{{id}}/start"),
            post(warehouses::start),
        )
        .route(
            Method::POST,
            &format!("{W}/{{id}}/stop"),
            post(warehouses::stop),
        )
        .extension(services.clone());
    let public = Routes::new()
        .route(
            Method::GET,
            &format!(
                "{}/{{id}}/{{chunk}}",
                lakeplane_engine::results::SERVED_PATH
            ),
            get(links::download),
        )
        .extension(services);
    let mut area = Area::new(routes, <SqlDoc as utoipa::OpenApi>::openapi());
    area.public = public;
    area
}
