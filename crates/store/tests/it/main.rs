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

/// The same contract with a single shard per queue and listing (what the benchmark compares with).
mod dynamodb_one_shard {
    lakeplane_store::store_conformance!(lakeplane_testing::dynamo_store_with_shards(1));
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
        STATUS_PK,
        STATUS_SK,
        QUEUE_PK,
        DUE_AT,
        ALIAS,
    ] {
        assert!(
            template.contains(&format!("AttributeName: {attr},")),
            "template.yaml lacks attribute {attr}"
        );
    }
    assert!(
        !template.contains("ProjectionType: ALL"),
        "every index projects keys only"
    );
    for index in [
        COLLECTION_INDEX,
        PARENT_INDEX,
        STATUS_INDEX,
        QUEUE_INDEX,
        ALIAS_INDEX,
    ] {
        assert!(
            template.contains(&format!("IndexName: {index}\n")),
            "template.yaml lacks index {index}"
        );
    }
}
