//! Lakeplane's REST API areas, in Databricks' shapes so that the unmodified `databricks-sdk` works
//! against them. Each area is behind a feature (`jobs`, `queries`), so a function links only what it
//! serves; [`shell`] puts the enabled areas into the shared HTTP shell (`lakeplane-http`).
//!
//! Every request and answer is a typed struct, and the OpenAPI document is generated from them
//! (utoipa): `GET /openapi.json` serves it, and tests hold it equal to the router and validate real
//! answers against its schemas.
//!
//! ```no_run
//! # async fn demo(control: lakeplane_control::Control) -> std::io::Result<()> {
//! let router = lakeplane_api::shell(control).into_router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! lakeplane_http::serve::serve(listener, router, Default::default(), std::future::pending()).await
//! # }
//! ```

#[cfg(feature = "catalog")]
pub mod catalog;
#[cfg(feature = "clusters")]
pub mod clusters;
#[cfg(feature = "jobs")]
pub mod jobs;
#[cfg(feature = "mlflow")]
pub mod mlflow;
#[cfg(feature = "catalog")]
pub mod principals;
#[cfg(feature = "queries")]
pub mod queries;
#[cfg(feature = "serving")]
pub mod serving;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(any(feature = "jobs", feature = "clusters"))]
mod versions;

use lakeplane_control::Control;
use lakeplane_http::{ErrorBody, Shell};

/// The shell with every area this build enables.
pub fn shell(control: Control) -> Shell {
    #[allow(unused_mut)]
    let mut shell = Shell::new(control);
    #[cfg(feature = "jobs")]
    {
        shell = shell.area(jobs::area());
    }
    #[cfg(feature = "queries")]
    {
        shell = shell.area(queries::area());
    }
    shell
}

/// Epoch milliseconds as RFC 3339 with milliseconds (`2024-05-01T12:00:00.000Z`).
#[cfg(any(feature = "queries", feature = "sql"))]
pub(crate) fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// The errors every authenticated operation may answer, as the document lists them.
#[allow(dead_code)] // documentation type: only its responses are used
#[derive(utoipa::IntoResponses)]
pub(crate) enum Errors {
    /// Bad input: `INVALID_PARAMETER_VALUE`, `INVALID_STATE`.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or malformed token: `UNAUTHENTICATED`.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// Unknown token: `PERMISSION_DENIED`.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `RESOURCE_DOES_NOT_EXIST`.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Another method than the endpoint's: `METHOD_NOT_ALLOWED`.
    #[response(status = 405)]
    MethodNotAllowed(ErrorBody),
    /// The body did not arrive in time: `REQUEST_TIMEOUT`.
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// Concurrent changes (`ABORTED`) or a duplicate (`RESOURCE_ALREADY_EXISTS`).
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is over 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The headers are over 16 KiB.
    #[response(status = 431)]
    HeadersTooLarge(ErrorBody),
    /// The state store is throttling or unreachable (`Retry-After: 1`): `TEMPORARILY_UNAVAILABLE`.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}
