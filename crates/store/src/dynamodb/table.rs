//! Creating the table with its indexes (for tests and local runs; a deployed stack gets the same
//! table from `template.yaml`).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use aws_sdk_dynamodb::error::SdkError;

use super::attrs::sdk_err;
use super::DynamoStore;
use crate::schema::*;
use crate::{StoreError, StoreResult};

impl DynamoStore {
    /// Creates the table with its indexes (on-demand billing), unless a table of that name exists.
    /// For tests and local runs against DynamoDB; a deployed stack gets the same table from
    /// `template.yaml`.
    pub async fn create_table(&self) -> StoreResult<()> {
        let attr = |name: &str, t: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(t)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let key = |name: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        // Keys only: a write that leaves an item's index keys alone writes no index copy.
        let gsi = |name: &str, hash: &str, range: Option<&str>, projection: ProjectionType| {
            let mut b = GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .projection(Projection::builder().projection_type(projection).build());
            if let Some(r) = range {
                b = b.key_schema(key(r, KeyType::Range)?);
            }
            b.build().map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(COLLECTION_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(COLLECTION_SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(PARENT_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(PARENT_SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(STATUS_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(STATUS_SK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(QUEUE_PK, ScalarAttributeType::S)?)
            .attribute_definitions(attr(DUE_AT, ScalarAttributeType::N)?)
            .attribute_definitions(attr(ALIAS, ScalarAttributeType::S)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi(
                COLLECTION_INDEX,
                COLLECTION_PK,
                Some(COLLECTION_SK),
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(gsi(
                PARENT_INDEX,
                PARENT_PK,
                Some(PARENT_SK),
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(gsi(
                STATUS_INDEX,
                STATUS_PK,
                Some(STATUS_SK),
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(gsi(
                QUEUE_INDEX,
                QUEUE_PK,
                Some(DUE_AT),
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(gsi(ALIAS_INDEX, ALIAS, None, ProjectionType::KeysOnly)?)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // An earlier attempt of this call timed out after the table was made, and the SDK
            // retried it.
            Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => Ok(()),
            Err(e) => Err(sdk_err(e)),
        }
    }
}
