//! The `models` function's handler, in-process, fed the API Gateway events in `events/models/`,
//! with state in DynamoDB, artifacts on S3 and serving on SageMaker, all on moto (started by
//! `scripts/test`). moto has no UpdateEndpoint: a wrapping updater records the call and does what
//! SageMaker would (the endpoint then runs the new config).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use lakeplane_fn_models::{app, artifacts, control, engine, sagemaker, sagemaker_settings, Config};
use lakeplane_serving::sagemaker::EndpointUpdater;
use serde_json::{json, Value};
use tower::ServiceExt;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlflow-pyfunc:3.17.2";
const ROLE: &str = "arn:aws:iam::123456789012:role/lakeplane-sagemaker";

/// UpdateEndpoint as moto lacks it: recorded, then done as delete + create on the new config.
#[derive(Debug, Default)]
struct Emulated(Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl EndpointUpdater for Emulated {
    async fn update(
        &self,
        sm: &aws_sdk_sagemaker::Client,
        endpoint: &str,
        config: &str,
    ) -> Result<(), lakeplane_core::serving::port::BoxError> {
        self.0
            .lock()
            .unwrap()
            .push((endpoint.to_string(), config.to_string()));
        // UpdateEndpoint keeps the endpoint's tags; delete + create must carry them over.
        let arn = sm
            .describe_endpoint()
            .endpoint_name(endpoint)
            .send()
            .await?
            .endpoint_arn()
            .unwrap_or_default()
            .to_string();
        let tags = sm
            .list_tags()
            .resource_arn(arn)
            .send()
            .await?
            .tags()
            .to_vec();
        sm.delete_endpoint().endpoint_name(endpoint).send().await?;
        sm.create_endpoint()
            .endpoint_name(endpoint)
            .endpoint_config_name(config)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    }
}

struct Function {
    app: axum::Router,
    sm: aws_sdk_sagemaker::Client,
    updates: Arc<Emulated>,
    bucket: String,
    artifacts: Arc<dyn lakeplane_core::mlflow::artifacts::ArtifactStore>,
}

impl Function {
    async fn start() -> Function {
        let aws = lakeplane_testing::aws_config().await;
        let table = lakeplane_testing::unique("fn-models");
        let bucket = lakeplane_testing::s3_bucket("fn-models").await;
        let config = Config::from_lookup(|k| match k {
            "LAKEPLANE_TABLE" => Some(table.clone()),
            "LAKEPLANE_STORAGE" => Some(format!("s3://{bucket}/lake")),
            _ => None,
        })
        .unwrap();
        lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone())
            .create_table()
            .await
            .unwrap();
        let control = control(&aws, &config);
        control
            .tokens()
            .add("lambda-test-token", "ci@example.com")
            .await
            .unwrap();
        control
            .principals()
            .ensure_admin("ci@example.com")
            .await
            .unwrap();
        let artifacts = artifacts(&engine(&aws, &control, &config).unwrap()).unwrap();
        let settings = sagemaker_settings(|k| match k {
            "LAKEPLANE_SAGEMAKER_IMAGE" => Some(IMAGE.into()),
            "LAKEPLANE_SAGEMAKER_ROLE_ARN" => Some(ROLE.into()),
            _ => None,
        })
        .unwrap();
        let updates = Arc::new(Emulated::default());
        let serving = sagemaker(&aws, artifacts.clone(), settings).with_updater(updates.clone());
        Function {
            app: app(control, artifacts.clone(), Arc::new(serving), &config),
            artifacts,
            sm: aws_sdk_sagemaker::Client::new(&aws),
            updates,
            bucket,
        }
    }

    async fn replay(&self, event: &str) -> (u16, Value, Option<String>) {
        let path = lakeplane_testing::repo_root()
            .join("events/models")
            .join(event);
        let text = std::fs::read_to_string(&path).unwrap();
        let req = lambda_http::request::from_str(&text).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let served = resp
            .headers()
            .get("served-model-name")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            served,
        )
    }

    async fn ok(&self, event: &str) -> Value {
        let (status, body, _) = self.replay(event).await;
        assert_eq!(status, 200, "{event}: {body}");
        body
    }

    fn tags(tags: &[aws_sdk_sagemaker::types::Tag]) -> Vec<(String, String)> {
        tags.iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    async fn tags_of(&self, arn: &str) -> Vec<(String, String)> {
        let out = self.sm.list_tags().resource_arn(arn).send().await.unwrap();
        Self::tags(out.tags())
    }
}

/// Queues a canned InvokeEndpoint answer in moto.
async fn canned_answer(body: &str) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let results = json!({"account_id": "123456789012", "region": "us-east-1",
        "results": [{"Body": body, "ContentType": "application/json", "InvokedProductionVariant": "churn-1"}]});
    let r = reqwest::Client::new()
        .post(format!(
            "{endpoint}/moto-api/static/sagemaker/endpoint-results"
        ))
        .json(&results)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn deploy_invoke_update_and_delete_on_sagemaker() {
    let f = Function::start().await;
    // The events name fixed resources: a run against a used emulator starts from none of them.
    let _ =
        f.sm.delete_endpoint()
            .endpoint_name("lakeplane-churn")
            .send()
            .await;
    for v in ["v1", "v2"] {
        let _ =
            f.sm.delete_endpoint_config()
                .endpoint_config_name(format!("lakeplane-churn-{v}"))
                .send()
                .await;
    }
    for m in ["lakeplane-churn-v1-churn-1", "lakeplane-churn-v2-churn-2"] {
        let _ = f.sm.delete_model().model_name(m).send().await;
    }
    f.ok("create-registered-model.json").await;
    f.ok("upload-mlmodel.json").await;
    f.ok("upload-requirements.json").await;
    let v1 = f.ok("create-model-version.json").await;
    assert_eq!(v1["model_version"]["version"], "1");
    let (status, body, _) = f.replay("bad-traffic.json").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE")),
        "{body}"
    );

    // Deploy: model, endpoint config, endpoint, as expected.
    let created = f.ok("create-endpoint.json").await;
    assert_eq!(created["name"], "churn");
    let got = f.ok("get-endpoint.json").await;
    assert_eq!(
        (
            got["state"]["ready"].as_str(),
            got["state"]["config_update"].as_str()
        ),
        (Some("READY"), Some("NOT_UPDATING")),
        "{got}"
    );
    let model =
        f.sm.describe_model()
            .model_name("lakeplane-churn-v1-churn-1")
            .send()
            .await
            .unwrap();
    let container = model.primary_container().unwrap();
    assert_eq!(container.image(), Some(IMAGE));
    let data = format!(
        "s3://{}/lake/_lakeplane/mlflow-artifacts/serving/churn/v1/churn-1/model.tar.gz",
        f.bucket
    );
    assert_eq!(container.model_data_url(), Some(data.as_str()));
    assert_eq!(model.execution_role_arn(), Some(ROLE));
    let tags = f.tags_of(model.model_arn().unwrap()).await;
    assert!(
        tags.contains(&("lakeplane:endpoint".into(), "churn".into())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("lakeplane:model".into(), "churn/1".into())),
        "{tags:?}"
    );
    let config =
        f.sm.describe_endpoint_config()
            .endpoint_config_name("lakeplane-churn-v1")
            .send()
            .await
            .unwrap();
    let variant = &config.production_variants()[0];
    assert_eq!(variant.variant_name(), Some("churn-1"));
    assert_eq!(
        variant.instance_type().map(|t| t.as_str()),
        Some("ml.m5.large")
    );
    assert_eq!(
        variant.initial_instance_count(),
        Some(2),
        "Medium is two instances"
    );
    assert!(variant.serverless_config().is_none());
    let endpoint =
        f.sm.describe_endpoint()
            .endpoint_name("lakeplane-churn")
            .send()
            .await
            .unwrap();
    assert_eq!(endpoint.endpoint_config_name(), Some("lakeplane-churn-v1"));
    assert!(f
        .tags_of(endpoint.endpoint_arn().unwrap())
        .await
        .contains(&("lakeplane:endpoint".into(), "churn".into())));

    // The packed model is a gzip file beside the model's files.
    let bytes = f
        .artifacts
        .get("serving/churn/v1/churn-1/model.tar.gz")
        .await
        .unwrap();
    let mut packed = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let mut names: Vec<String> = packed
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["MLmodel", "requirements.txt"],
        "MLmodel at the root, as the image expects"
    );

    // Invocations go through InvokeEndpoint.
    canned_answer(r#"{"predictions": [3.0, 5.0]}"#).await;
    let (status, answer, served) = f.replay("query-endpoint.json").await;
    assert_eq!(
        (status, answer["predictions"].clone()),
        (200, json!([3.0, 5.0])),
        "{answer}"
    );
    assert_eq!(served.as_deref(), Some("churn-1"));

    // A new config: version 2 on serverless; the endpoint is updated to it, version 1 retired.
    assert_eq!(
        f.ok("create-model-version.json").await["model_version"]["version"],
        "2"
    );
    f.ok("update-config.json").await;
    let got = f.ok("get-endpoint.json").await;
    assert_eq!(got["config"]["config_version"], 2, "{got}");
    assert_eq!(got["config"]["served_entities"][0]["entity_version"], "2");
    assert!(got.get("pending_config").is_none(), "{got}");
    assert_eq!(
        *f.updates.0.lock().unwrap(),
        vec![(
            "lakeplane-churn".to_string(),
            "lakeplane-churn-v2".to_string()
        )]
    );
    let config2 =
        f.sm.describe_endpoint_config()
            .endpoint_config_name("lakeplane-churn-v2")
            .send()
            .await
            .unwrap();
    let serverless = config2.production_variants()[0]
        .serverless_config()
        .unwrap();
    assert_eq!(
        (serverless.memory_size_in_mb(), serverless.max_concurrency()),
        (Some(2048), Some(5))
    );
    assert!(f
        .sm
        .describe_endpoint_config()
        .endpoint_config_name("lakeplane-churn-v1")
        .send()
        .await
        .is_err());
    assert!(f
        .sm
        .describe_model()
        .model_name("lakeplane-churn-v1-churn-1")
        .send()
        .await
        .is_err());

    // Delete removes the endpoint, its config and its model; the API forgets it.
    f.ok("delete-endpoint.json").await;
    assert!(f
        .sm
        .describe_endpoint()
        .endpoint_name("lakeplane-churn")
        .send()
        .await
        .is_err());
    assert!(f
        .sm
        .describe_endpoint_config()
        .endpoint_config_name("lakeplane-churn-v2")
        .send()
        .await
        .is_err());
    assert!(f
        .sm
        .describe_model()
        .model_name("lakeplane-churn-v2-churn-2")
        .send()
        .await
        .is_err());
    let (status, body, _) = f.replay("get-endpoint.json").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (status, body, _) = f.replay("get-model-version.json").await;
    assert_eq!(
        (status, body["model_version"]["source"].as_str()),
        (200, Some("mlflow-artifacts:/models/churn"))
    );
}
