use lakeplane_fn_jobs::{app, control, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .init();
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    let control = control(&config).await;
    lambda_http::run(app(control, &config)).await
}
