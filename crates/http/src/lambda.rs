//! The Lambda bootstrap of every HTTP function: `lambda_runtime`'s own tracing subscriber (JSON or
//! text per `AWS_LAMBDA_LOG_FORMAT`, level per `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`), then the
//! router served through `lambda_http`.
//!
//! ```no_run
//! # async fn demo(router: axum::Router) -> Result<(), lambda_http::Error> {
//! lakeplane_http::lambda::init_logging(); // first: configuration errors are logged too
//! // ... read configuration, build the AWS clients once ...
//! lakeplane_http::lambda::run(router).await
//! # }
//! ```

use axum::Router;

/// Initialises logging, once, at cold start.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// Serves `router` to the Lambda runtime until it stops the process.
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(router).await
}
