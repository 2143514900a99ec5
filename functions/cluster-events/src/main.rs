use lakeplane_fn_cluster_events::{control, handle, reconciler, Config};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let control = control(&aws, &config);
    let reconciler = reconciler(&aws, &control, |k| std::env::var(k).ok())
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (control, reconciler, config) = (&control, &reconciler, &config);
        async move { handle(control, reconciler, config, &event.payload).await }
    }))
    .await
}
