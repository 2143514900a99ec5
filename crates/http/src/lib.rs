//! The HTTP shell every lakeplane HTTP function shares: routing with a table of what is served
//! ([`shell::Routes`]), bearer-token authentication, Databricks error JSON for every failure
//! ([`error::ApiError`]), extractors that never answer in plain text ([`extract`]), the OpenAPI
//! document assembled from the areas', and the two ways to run it: [`serve::serve`] on a socket with
//! client limits (`lakeplane dev`) and [`lambda::run`] behind API Gateway.
//!
//! The areas themselves (jobs, queries, ...) live in `lakeplane-api`, each behind a feature, so a
//! function links only the areas it serves.
//!
//! ```no_run
//! # async fn demo(control: lakeplane_control::Control, jobs: lakeplane_http::Area) -> std::io::Result<()> {
//! use lakeplane_http::{serve::{serve, ServeLimits}, Shell};
//! let router = Shell::new(control).area(jobs).into_router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, router, ServeLimits::default(), std::future::pending()).await
//! # }
//! ```

pub mod error;
pub mod extract;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod serve;
pub mod shell;

pub use error::{ApiError, ApiResult, ErrorBody};
pub use shell::{AppState, Area, Routes, Shell};
