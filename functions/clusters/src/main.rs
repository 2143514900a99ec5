use lakeplane_fn_clusters::{app, bootstrap, control, reconciler, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lakeplane_http::lambda::init_logging();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let control = control(&aws, &config);
    bootstrap(&control, &config).await?;
    let reconciler = reconciler(&aws, &control, |k| std::env::var(k).ok())?;
    lakeplane_http::lambda::run(app(control, reconciler, &config)).await
}
