//! `lakeplane dev --demo`: a three-task pipeline driven through the REST API, as a user would.
//! An ingest task loads a CSV into Delta; two transforms that depend on it run in parallel.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

const FILES: &[(&str, &str)] = &[
    (
        "trips.csv",
        include_str!("../../../examples/demo/trips.csv"),
    ),
    (
        "ingest.sql",
        include_str!("../../../examples/demo/ingest.sql"),
    ),
    (
        "city_daily.sql",
        include_str!("../../../examples/demo/city_daily.sql"),
    ),
    (
        "long_trips.sql",
        include_str!("../../../examples/demo/long_trips.sql"),
    ),
];

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} answered {status}: {v}");
        }
        Ok(v)
    }
}

fn write_files(dir: &Path) -> anyhow::Result<PathBuf> {
    let demo = dir.join("demo");
    std::fs::create_dir_all(&demo)?;
    for (name, text) in FILES {
        std::fs::write(demo.join(name), text)?;
    }
    Ok(demo.canonicalize()?)
}

pub async fn run(
    base: String,
    token: String,
    data_dir: PathBuf,
    engine: lakeplane_engine::Engine,
) -> anyhow::Result<()> {
    let api = Api {
        http: reqwest::Client::new(),
        base,
        token,
    };
    let files = write_files(&data_dir)?;
    let path = |n: &str| files.join(n).to_string_lossy().into_owned();
    crate::say!("\n== demo: a job of three sql_tasks (ingest -> two parallel transforms)");

    let long_trips = include_str!("../../../examples/demo/long_trips.sql");
    let query = api
        .call(
            reqwest::Method::POST,
            "/api/2.0/sql/queries",
            Some(json!({"query": {"display_name": "long trips", "query_text": long_trips, "warehouse_id": "local"}})),
        )
        .await?;
    let job = api
        .call(
            reqwest::Method::POST,
            "/api/2.2/jobs/create",
            Some(json!({
                "name": "demo: trips pipeline",
                "parameters": [{"name": "source", "default": path("trips.csv")}],
                "tasks": [
                    {"task_key": "ingest", "sql_task": {"warehouse_id": "local", "file": {"path": path("ingest.sql")}}},
                    {"task_key": "city_daily", "depends_on": [{"task_key": "ingest"}],
                     "sql_task": {"warehouse_id": "local", "file": {"path": path("city_daily.sql")}}},
                    {"task_key": "long_trips", "depends_on": [{"task_key": "ingest"}],
                     "sql_task": {"warehouse_id": "local", "query": {"query_id": query["id"]}}}
                ]
            })),
        )
        .await?;
    let job_id = &job["job_id"];
    let run = api
        .call(
            reqwest::Method::POST,
            "/api/2.2/jobs/run-now",
            Some(json!({"job_id": job_id})),
        )
        .await?;
    let run_id = &run["run_id"];
    crate::say!("created job {job_id}, started run {run_id}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let run = loop {
        let r = api
            .call(
                reqwest::Method::GET,
                &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
                None,
            )
            .await?;
        if r["state"]["life_cycle_state"] == "TERMINATED" {
            break r;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the demo run did not finish in 120 s: {}", r["state"]);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    crate::say!(
        "run {run_id}: {} / {} in {} ms",
        run["state"]["life_cycle_state"].as_str().unwrap_or("?"),
        run["state"]["result_state"].as_str().unwrap_or("?"),
        run["run_duration"]
    );
    for t in run["tasks"].as_array().into_iter().flatten() {
        crate::say!(
            "  task {:<11} {:<8} started +{} ms, ran {} ms",
            t["task_key"].as_str().unwrap_or("?"),
            t["state"]["result_state"].as_str().unwrap_or("?"),
            t["start_time"].as_i64().unwrap_or(0) - run["start_time"].as_i64().unwrap_or(0),
            t["execution_duration"]
        );
    }
    if run["state"]["result_state"] != "SUCCESS" {
        bail!("the demo run failed: {}", run["state"]["state_message"]);
    }
    for sql in [
        "SELECT city, sum(trips) AS trips, round(sum(fares_usd), 2) AS fares_usd FROM demo.city_daily GROUP BY city ORDER BY city",
        "SELECT * FROM demo.long_trips ORDER BY usd_per_km DESC",
    ] {
        let ctx = lakeplane_engine::ExecContext::new("demo");
        let batches = engine.execute(&ctx, sql).await?.collect().await?;
        let table = lakeplane_engine::arrow::util::pretty::pretty_format_batches(&batches)?;
        crate::say!("\n{sql}\n{table}");
    }
    let ctx = lakeplane_engine::ExecContext::new("demo");
    let detail = engine
        .execute(&ctx, "DESCRIBE DETAIL demo.city_daily")
        .await?
        .collect()
        .await?;
    let location = detail
        .first()
        .and_then(|b| {
            let col = b.column_by_name("location")?;
            lakeplane_engine::arrow::util::display::ArrayFormatter::try_new(
                col.as_ref(),
                &Default::default(),
            )
            .ok()
            .map(|f| f.value(0).to_string())
        })
        .unwrap_or_default();
    crate::say!(
        "\nThe tables are Delta tables in catalog main, schema demo, under {}; \
         `DESCRIBE DETAIL demo.city_daily` says where each is (this one: {location})",
        data_dir.join("warehouse").display()
    );
    Ok(())
}
