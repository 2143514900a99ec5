//! The state store conformance suite (`lakeplane_store::testing::conformance`), run against every
//! adapter, each case with a fresh store.
//!
//! The DynamoDB run needs moto: the test command (`scripts/test`) starts it and exports
//! `AWS_ENDPOINT_URL`. Without it, those tests fail and say how to start it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod embedded {
    lakeplane_store::store_conformance!(lakeplane_testing::embedded_store());
}

mod dynamodb {
    lakeplane_store::store_conformance!(lakeplane_testing::dynamo_store());
}

/// The deployed table (template.yaml) has the attributes and indexes the DynamoDB adapter uses.
#[test]
fn template_table_matches_the_adapter_schema() {
    use lakeplane_store::schema::*;
    let path = lakeplane_testing::repo_root().join("template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    for attr in [
        PK,
        SK,
        COLLECTION_PK,
        COLLECTION_SK,
        PARENT_PK,
        PARENT_SK,
        QUEUE_PK,
        DUE_AT,
        ALIAS,
    ] {
        assert!(
            template.contains(&format!("AttributeName: {attr},")),
            "template.yaml lacks attribute {attr}"
        );
    }
    for index in [COLLECTION_INDEX, PARENT_INDEX, QUEUE_INDEX, ALIAS_INDEX] {
        assert!(
            template.contains(&format!("IndexName: {index}\n")),
            "template.yaml lacks index {index}"
        );
    }
}
