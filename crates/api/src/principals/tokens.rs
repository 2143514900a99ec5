//! Personal access tokens: each principal makes, lists and deletes its own; admins make them for
//! service principals.

use axum::extract::State;
use axum::Extension;
use lakeplane_control::principals::PrincipalKind;
use lakeplane_control::tokens::{NewToken, Token};
use lakeplane_control::Principal;
use lakeplane_http::extract::{lenient, Json};
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::require_admin;
use crate::Errors;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateToken {
    /// Seconds until it expires; absent or 0 never.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub lifetime_seconds: Option<u64>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOboToken {
    /// The service principal's application id.
    pub application_id: String,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub lifetime_seconds: Option<u64>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub token_id: String,
    pub creation_time: i64,
    /// -1: never.
    pub expiry_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl From<&Token> for TokenInfo {
    fn from(t: &Token) -> TokenInfo {
        TokenInfo {
            token_id: t.token_id.clone().unwrap_or_default(),
            creation_time: t.created_at,
            expiry_time: t.expires_at.unwrap_or(-1),
            comment: t.comment.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token_value: String,
    pub token_info: TokenInfo,
}

impl From<NewToken> for CreatedToken {
    fn from(t: NewToken) -> CreatedToken {
        CreatedToken {
            token_info: TokenInfo::from(&t.info),
            token_value: t.value,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub token_infos: Vec<TokenInfo>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteToken {
    pub token_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// Make a token for the caller.
#[utoipa::path(operation_id = "tokens_create", post, path = "/api/2.0/token/create", tag = "Tokens",
    request_body = CreateToken, responses((status = 200, body = CreatedToken), Errors))]
pub async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<CreateToken>,
) -> ApiResult<axum::Json<CreatedToken>> {
    let t = app
        .control
        .tokens()
        .create(&who.user_name, body.lifetime_seconds, body.comment)
        .await?;
    Ok(axum::Json(t.into()))
}

/// The caller's tokens.
#[utoipa::path(operation_id = "tokens_list", get, path = "/api/2.0/token/list", tag = "Tokens",
    responses((status = 200, body = TokenList), Errors))]
pub async fn list(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
) -> ApiResult<axum::Json<TokenList>> {
    let tokens = app.control.tokens().list(&who.user_name).await?;
    Ok(axum::Json(TokenList {
        token_infos: tokens.iter().map(TokenInfo::from).collect(),
    }))
}

/// Delete one of the caller's tokens.
#[utoipa::path(operation_id = "tokens_delete", post, path = "/api/2.0/token/delete", tag = "Tokens",
    request_body = DeleteToken, responses((status = 200, body = Empty), Errors))]
pub async fn delete(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<DeleteToken>,
) -> ApiResult<axum::Json<Empty>> {
    app.control
        .tokens()
        .delete(&who.user_name, &body.token_id)
        .await?;
    Ok(axum::Json(Empty {}))
}

/// Make a token for a service principal (admins).
#[utoipa::path(operation_id = "tokens_create_obo", post, path = "/api/2.0/token-management/on-behalf-of/tokens", tag = "Tokens",
    request_body = CreateOboToken, responses((status = 200, body = CreatedToken), Errors))]
pub async fn create_obo(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<CreateOboToken>,
) -> ApiResult<axum::Json<CreatedToken>> {
    require_admin(&app, &who).await?;
    match app
        .control
        .principals()
        .by_name(&body.application_id)
        .await?
    {
        Some(p) if p.kind == PrincipalKind::ServicePrincipal => {}
        _ => {
            return Err(ApiError::not_found(format!(
                "Service principal {} does not exist.",
                body.application_id
            )))
        }
    }
    let t = app
        .control
        .tokens()
        .create(&body.application_id, body.lifetime_seconds, body.comment)
        .await?;
    Ok(axum::Json(t.into()))
}
