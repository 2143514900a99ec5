//! The Clusters API, under `/api/2.1/clusters/*` and `/api/2.0/clusters/*` (the same handlers).

mod handlers;
mod reads;
mod wire;

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use lakeplane_http::{AppState, Area, Routes};

pub use handlers::ClusterServices;

const VERSIONS: &[&str] = &["2.1", "2.0"];

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::create,
    handlers::edit,
    handlers::update,
    handlers::start,
    handlers::restart,
    handlers::resize,
    handlers::delete,
    handlers::permanent_delete,
    handlers::pin,
    handlers::unpin,
    handlers::change_owner,
    reads::get,
    reads::list,
    reads::events,
    reads::spark_versions,
    reads::list_node_types,
    reads::list_zones,
))]
struct ClustersDoc;

fn endpoints() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    use handlers as h;
    use reads as r;
    vec![
        (Method::POST, "/create", post(h::create)),
        (Method::POST, "/edit", post(h::edit)),
        (Method::POST, "/update", post(h::update)),
        (Method::POST, "/start", post(h::start)),
        (Method::POST, "/restart", post(h::restart)),
        (Method::POST, "/resize", post(h::resize)),
        (Method::POST, "/delete", post(h::delete)),
        (Method::POST, "/permanent-delete", post(h::permanent_delete)),
        (Method::POST, "/pin", post(h::pin)),
        (Method::POST, "/unpin", post(h::unpin)),
        (Method::POST, "/change-owner", post(h::change_owner)),
        (Method::GET, "/get", get(r::get)),
        (Method::GET, "/list", get(r::list)),
        (Method::POST, "/events", post(r::events)),
        (Method::GET, "/spark-versions", get(r::spark_versions)),
        (Method::GET, "/list-node-types", get(r::list_node_types)),
        (Method::GET, "/list-zones", get(r::list_zones)),
    ]
}

/// The Clusters area.
pub fn area(services: ClusterServices) -> Area {
    let mut routes = Routes::new();
    for version in VERSIONS {
        for (method, path, handler) in endpoints() {
            routes = routes.route(method, &format!("/api/{version}/clusters{path}"), handler);
        }
    }
    let doc = crate::versions::versioned(
        <ClustersDoc as utoipa::OpenApi>::openapi(),
        "/api/2.1/clusters",
        VERSIONS,
        "clusters",
    );
    Area::new(routes.extension(services), doc)
}
