use std::sync::Arc;

use lakeplane_fn_models::{
    app, artifacts, bootstrap, control, engine, sagemaker, sagemaker_settings, Config,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lakeplane_http::lambda::init_logging();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let control = control(&aws, &config);
    bootstrap(&control, &config).await?;
    let artifacts = artifacts(&engine(&aws, &control, &config)?)?;
    // Without a serving image the registry still works; deploys are refused, saying why.
    let serving: Arc<dyn lakeplane_core::serving::port::ModelServing> =
        match sagemaker_settings(|k| std::env::var(k).ok()) {
            Ok(settings) => Arc::new(sagemaker(&aws, artifacts.clone(), settings)),
            Err(e) => Arc::new(lakeplane_serving::Unconfigured(e.to_string())),
        };
    lakeplane_http::lambda::run(app(control, artifacts, serving, &config)).await
}
