//! Principals and their tokens: the SCIM surface the SDK uses (`Me`, `Users`, `Groups`,
//! `ServicePrincipals` under `/api/2.0/preview/scim/v2`) and personal access tokens
//! (`/api/2.0/token/*`, and admins' `token-management/on-behalf-of/tokens` for service
//! principals). Creating or deleting principals, changing groups and making tokens for others are
//! admins' (members of `admins`).

mod scim;
mod scim_wire;
mod tokens;

use axum::http::Method;
use axum::routing::{delete, get, patch, post};
use lakeplane_control::Principal;
use lakeplane_http::{ApiError, ApiResult, AppState, Area, Routes};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    scim::me,
    scim::create_user,
    scim::list_users,
    scim::get_user,
    scim::delete_user,
    scim::create_service_principal,
    scim::list_service_principals,
    scim::get_service_principal,
    scim::delete_service_principal,
    scim::create_group,
    scim::list_groups,
    scim::get_group,
    scim::patch_group,
    scim::delete_group,
    tokens::create,
    tokens::list,
    tokens::delete,
    tokens::create_obo,
))]
struct PrincipalsDoc;

/// 403 unless the caller is an admin.
pub(crate) async fn require_admin(app: &AppState, who: &Principal) -> ApiResult<()> {
    match app.control.principals().is_admin(&who.user_name).await? {
        true => Ok(()),
        false => Err(ApiError::permission_denied("Only admins may do this.")),
    }
}

/// The principals area.
pub fn area() -> Area {
    const S: &str = "/api/2.0/preview/scim/v2";
    let routes = Routes::new()
        .route(Method::GET, &format!("{S}/Me"), get(scim::me))
        .route(Method::POST, &format!("{S}/Users"), post(scim::create_user))
        .route(Method::GET, &format!("{S}/Users"), get(scim::list_users))
        .route(
            Method::GET,
            &format!("{S}/Users/{{id}}"),
            get(scim::get_user),
        )
        .route(
            Method::DELETE,
            &format!("{S}/Users/{{id}}"),
            delete(scim::delete_user),
        )
        .route(
            Method::POST,
            &format!("{S}/ServicePrincipals"),
            post(scim::create_service_principal),
        )
        .route(
            Method::GET,
            &format!("{S}/ServicePrincipals"),
            get(scim::list_service_principals),
        )
        .route(
            Method::GET,
            &format!("{S}/ServicePrincipals/{{id}}"),
            get(scim::get_service_principal),
        )
        .route(
            Method::DELETE,
            &format!("{S}/ServicePrincipals/{{id}}"),
            delete(scim::delete_service_principal),
        )
        .route(
            Method::POST,
            &format!("{S}/Groups"),
            post(scim::create_group),
        )
        .route(Method::GET, &format!("{S}/Groups"), get(scim::list_groups))
        .route(
            Method::GET,
            &format!("{S}/Groups/{{id}}"),
            get(scim::get_group),
        )
        .route(
            Method::PATCH,
            &format!("{S}/Groups/{{id}}"),
            patch(scim::patch_group),
        )
        .route(
            Method::DELETE,
            &format!("{S}/Groups/{{id}}"),
            delete(scim::delete_group),
        )
        .route(Method::POST, "/api/2.0/token/create", post(tokens::create))
        .route(Method::GET, "/api/2.0/token/list", get(tokens::list))
        .route(Method::POST, "/api/2.0/token/delete", post(tokens::delete))
        .route(
            Method::POST,
            "/api/2.0/token-management/on-behalf-of/tokens",
            post(tokens::create_obo),
        );
    Area::new(routes, <PrincipalsDoc as utoipa::OpenApi>::openapi())
}
