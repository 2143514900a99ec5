//! The Unity Catalog area in-process: what SQL creates the API lists and the other way round, paging,
//! owners, deletes with managed files, external tables registered, answers held to their schemas.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::sql::checked;
use crate::Api;

#[tokio::test]
async fn unity_catalog_lists_what_sql_creates_and_the_other_way_round() {
    let api = Api::new().await;
    let uc = "/api/2.1/unity-catalog";
    let cat = checked(
        &api,
        Method::POST,
        &format!("{uc}/catalogs"),
        &format!("{uc}/catalogs"),
        json!({"name": "sales", "comment": "c", "properties": {"k": "v"}}),
    )
    .await;
    assert_eq!(
        (cat["name"].as_str(), cat["properties"]["k"].as_str()),
        (Some("sales"), Some("v"))
    );
    checked(
        &api,
        Method::POST,
        &format!("{uc}/schemas"),
        &format!("{uc}/schemas"),
        json!({"name": "eu", "catalog_name": "sales"}),
    )
    .await;
    // SQL sees what the API made, and the API lists what SQL made.
    let ctx = lakeplane_engine::ExecContext::new("tester");
    api.engine
        .execute(&ctx, "CREATE TABLE sales.eu.orders (id INT NOT NULL, amount DECIMAL(10,2)) PARTITIONED BY (id); \
                        CREATE VIEW sales.eu.big AS SELECT * FROM sales.eu.orders WHERE amount > 100")
        .await
        .unwrap();
    let listed = checked(
        &api,
        Method::GET,
        &format!("{uc}/tables?catalog_name=sales&schema_name=eu&max_results=0"),
        &format!("{uc}/tables"),
        json!({}),
    )
    .await;
    let names: Vec<&str> = listed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["big", "orders"]);
    let t = checked(
        &api,
        Method::GET,
        &format!("{uc}/tables/sales.eu.orders"),
        &format!("{uc}/tables/{{id}}"),
        json!({}),
    )
    .await;
    assert_eq!(
        (t["table_type"].as_str(), t["data_source_format"].as_str()),
        (Some("MANAGED"), Some("DELTA"))
    );
    assert_eq!(t["columns"][1]["type_name"], "DECIMAL");
    assert_eq!(t["columns"][0]["nullable"], false);
    assert_eq!(t["columns"][0]["partition_index"], 0);
    assert!(t["storage_location"]
        .as_str()
        .unwrap()
        .starts_with("file://"));
    let v = checked(
        &api,
        Method::GET,
        &format!("{uc}/tables/sales.eu.big"),
        &format!("{uc}/tables/{{id}}"),
        json!({}),
    )
    .await;
    assert_eq!(v["table_type"], "VIEW");
    assert!(v["view_definition"]
        .as_str()
        .unwrap()
        .contains("amount > 100"));
    // Paging by name.
    let first = checked(
        &api,
        Method::GET,
        &format!("{uc}/tables?catalog_name=sales&schema_name=eu&max_results=1"),
        &format!("{uc}/tables"),
        json!({}),
    )
    .await;
    let token = first["next_page_token"].as_str().unwrap();
    let second = checked(
        &api,
        Method::GET,
        &format!("{uc}/tables?catalog_name=sales&schema_name=eu&max_results=1&page_token={token}"),
        &format!("{uc}/tables"),
        json!({}),
    )
    .await;
    assert_eq!(second["tables"][0]["name"], "orders");
    assert!(second.get("next_page_token").is_none());
    let summaries = checked(
        &api,
        Method::GET,
        &format!("{uc}/table-summaries?catalog_name=sales&table_name_pattern=ord%25"),
        &format!("{uc}/table-summaries"),
        json!({}),
    )
    .await;
    assert_eq!(
        summaries["tables"],
        json!([{"full_name": "sales.eu.orders", "table_type": "MANAGED"}])
    );
    // Owner and comment changes, deletes.
    checked(
        &api,
        Method::PATCH,
        &format!("{uc}/schemas/sales.eu"),
        &format!("{uc}/schemas/{{id}}"),
        json!({"owner": "data-team", "comment": "EU"}),
    )
    .await;
    let s = checked(
        &api,
        Method::GET,
        &format!("{uc}/schemas/sales.eu"),
        &format!("{uc}/schemas/{{id}}"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s["owner"].as_str(), s["comment"].as_str()),
        (Some("data-team"), Some("EU"))
    );
    let (status, b) = api
        .call(Method::DELETE, &format!("{uc}/catalogs/sales"), json!({}))
        .await;
    assert_eq!(
        (status, b["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE")),
        "not empty: {b}"
    );
    checked(
        &api,
        Method::DELETE,
        &format!("{uc}/tables/sales.eu.big"),
        &format!("{uc}/tables/{{id}}"),
        json!({}),
    )
    .await;
    let gone = checked(
        &api,
        Method::GET,
        &format!("{uc}/tables/sales.eu.big/exists"),
        &format!("{uc}/tables/{{id}}/exists"),
        json!({}),
    )
    .await;
    assert_eq!(gone["table_exists"], false);
    let location = t["storage_location"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    assert!(std::path::Path::new(&location).exists());
    checked(
        &api,
        Method::DELETE,
        &format!("{uc}/catalogs/sales?force=true"),
        &format!("{uc}/catalogs/{{id}}"),
        json!({}),
    )
    .await;
    assert!(
        !std::path::Path::new(&location).exists(),
        "a managed table's files go with it"
    );
    let err = api
        .engine
        .execute(&ctx, "SELECT * FROM sales.eu.orders")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    for (uri, status) in [
        (format!("{uc}/tables/a.b"), StatusCode::BAD_REQUEST),
        (format!("{uc}/tables/x.y.z"), StatusCode::NOT_FOUND),
        (
            format!("{uc}/schemas?catalog_name=nope"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, _) = api.call(Method::GET, &uri, json!({})).await;
        assert_eq!(s, status, "{uri}");
    }
}

#[tokio::test]
async fn an_existing_delta_table_is_registered_as_an_external_table() {
    let api = Api::new().await;
    let uc = "/api/2.1/unity-catalog";
    let ctx = lakeplane_engine::ExecContext::new("tester");
    let location = api.dir.path().join("ext");
    std::fs::create_dir_all(&location).unwrap();
    let location = location.canonicalize().unwrap().display().to_string();
    api.engine
        .execute(&ctx, &format!("CREATE TABLE old (id BIGINT, v STRING) LOCATION '{location}'; INSERT INTO old VALUES (1, 'a'); DROP TABLE old"))
        .await
        .unwrap();
    let t = checked(
        &api,
        Method::POST,
        &format!("{uc}/tables"),
        &format!("{uc}/tables"),
        json!({
        "name": "again", "catalog_name": "main", "schema_name": "default", "table_type": "EXTERNAL",
        "data_source_format": "DELTA", "storage_location": location, "comment": "registered"}),
    )
    .await;
    assert_eq!(
        (t["table_type"].as_str(), t["comment"].as_str()),
        (Some("EXTERNAL"), Some("registered"))
    );
    assert_eq!(t["columns"][1]["name"], "v");
    let batches = api
        .engine
        .execute(&ctx, "SELECT count(*) AS n FROM again")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(batches[0].num_rows(), 1);
    let (status, body) = api
        .call(
            Method::POST,
            &format!("{uc}/tables"),
            json!({
        "name": "m", "catalog_name": "main", "schema_name": "default", "table_type": "MANAGED",
        "data_source_format": "DELTA", "storage_location": location}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    let (status, _) = api.call(Method::POST, &format!("{uc}/tables"), json!({
        "name": "nothing", "catalog_name": "main", "schema_name": "default", "table_type": "EXTERNAL",
        "data_source_format": "DELTA", "storage_location": "/etc"})).await;
    assert!(status.is_client_error(), "{status}");
}
