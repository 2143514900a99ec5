//! The Jobs API, under `/api/2.2/jobs/*` and `/api/2.1/jobs/*` (the same handlers).

mod handlers;
mod requests;
mod schema;
mod states;
mod wire;

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use lakeplane_http::{AppState, Area, Routes};

/// The versions served; the document describes 2.2 and copies it for the others.
const VERSIONS: &[&str] = &["2.2", "2.1"];
const DOCUMENTED: &str = "/api/2.2/jobs";

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::create,
    handlers::get,
    handlers::list,
    handlers::update,
    handlers::reset,
    handlers::delete,
    handlers::run_now,
    handlers::submit,
    handlers::get_run,
    handlers::list_runs,
    handlers::cancel_run,
    handlers::delete_run,
    handlers::get_output,
))]
struct JobsDoc;

fn endpoints() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    use handlers as h;
    vec![
        (Method::POST, "/create", post(h::create)),
        (Method::GET, "/get", get(h::get)),
        (Method::GET, "/list", get(h::list)),
        (Method::POST, "/update", post(h::update)),
        (Method::POST, "/reset", post(h::reset)),
        (Method::POST, "/delete", post(h::delete)),
        (Method::POST, "/run-now", post(h::run_now)),
        (Method::POST, "/runs/submit", post(h::submit)),
        (Method::GET, "/runs/get", get(h::get_run)),
        (Method::GET, "/runs/list", get(h::list_runs)),
        (Method::POST, "/runs/cancel", post(h::cancel_run)),
        (Method::POST, "/runs/delete", post(h::delete_run)),
        (Method::GET, "/runs/get-output", get(h::get_output)),
    ]
}

/// The Jobs area: every endpoint at every version, and their document.
pub fn area() -> Area {
    let mut routes = Routes::new();
    for version in VERSIONS {
        for (method, path, handler) in endpoints() {
            routes = routes.route(method, &format!("/api/{version}/jobs{path}"), handler);
        }
    }
    Area::new(
        routes,
        crate::versions::versioned(
            <JobsDoc as utoipa::OpenApi>::openapi(),
            DOCUMENTED,
            VERSIONS,
            "jobs",
        ),
    )
}
