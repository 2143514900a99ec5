//! The SCIM 2.0 bodies: users, service principals, groups, their listings and patches.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Ref {
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Email {
    pub value: String,
    pub primary: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub display_name: String,
    pub active: bool,
    pub emails: Vec<Email>,
    pub groups: Vec<Ref>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub application_id: String,
    pub display_name: String,
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub members: Vec<Ref>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub total_results: usize,
    pub start_index: usize,
    pub items_per_page: usize,
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
    pub schemas: Vec<String>,
}

pub(super) fn listing<T>(resources: Vec<T>) -> ListResponse<T> {
    ListResponse {
        total_results: resources.len(),
        start_index: 1,
        items_per_page: resources.len(),
        resources,
        schemas: vec!["urn:ietf:params:scim:api:messages:2.0:ListResponse".into()],
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub user_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewServicePrincipal {
    #[serde(default)]
    pub display_name: Option<String>,
    /// Made up when absent.
    #[serde(default)]
    pub application_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberRef {
    pub value: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    pub display_name: String,
    #[serde(default)]
    pub members: Vec<MemberRef>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchOp {
    pub op: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub value: Option<Vec<MemberRef>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupPatch {
    #[serde(rename = "Operations", default)]
    pub operations: Vec<PatchOp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}
