use lakeplane_fn_sql::{app, bootstrap, control, engine, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lakeplane_http::lambda::init_logging();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let control = control(&aws, &config);
    bootstrap(&control, &config).await?;
    let engine = engine(&aws, &control, &config)?;
    lakeplane_http::lambda::run(app(control, engine, &config)?).await
}
