//! The SCIM 2.0 subset: `Me`, and Users, ServicePrincipals and Groups (create, list, get, delete;
//! group membership by PATCH). Members are named by their ids, as in Databricks.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use lakeplane_control::principals::{GroupDoc, PrincipalDoc, PrincipalKind};
use lakeplane_control::{PageRequest, Principal};
use lakeplane_http::extract::{Json, PathParam};
use lakeplane_http::{ApiError, ApiResult, AppState};

use super::require_admin;
use super::scim_wire::*;
use crate::Errors;

/// The most items a SCIM listing returns.
const MAX_LISTED: usize = 10_000;

async fn user_of(app: &AppState, p: &PrincipalDoc) -> ApiResult<User> {
    let identity = app.control.principals().identity(&p.name).await?;
    Ok(User {
        id: p.id.clone(),
        user_name: p.name.clone(),
        display_name: p.display_name.clone(),
        active: p.active,
        emails: vec![Email {
            value: p.name.clone(),
            primary: true,
        }],
        groups: identity
            .groups
            .into_iter()
            .map(|g| Ref {
                display: Some(g.clone()),
                value: g,
            })
            .collect(),
    })
}

fn sp_of(p: &PrincipalDoc) -> ServicePrincipal {
    ServicePrincipal {
        id: p.id.clone(),
        application_id: p.name.clone(),
        display_name: p.display_name.clone(),
        active: p.active,
    }
}

async fn group_of(app: &AppState, g: &GroupDoc) -> ApiResult<Group> {
    let mut members = Vec::new();
    for name in &g.members {
        let id = app.control.principals().by_name(name).await?.map(|p| p.id);
        members.push(Ref {
            value: id.unwrap_or_else(|| name.clone()),
            display: Some(name.clone()),
        });
    }
    Ok(Group {
        id: g.id.clone(),
        display_name: g.display_name.clone(),
        members,
    })
}

/// Member ids (or names) as names.
async fn member_names(app: &AppState, refs: &[MemberRef]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for r in refs {
        match app.control.principals().get(&r.value).await {
            Ok(p) => out.push(p.name),
            Err(lakeplane_control::ControlError::NotFound { .. }) => out.push(r.value.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

async fn all(app: &AppState, kind: PrincipalKind) -> ApiResult<Vec<PrincipalDoc>> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let listed = app.control.principals().list(kind, &page).await?;
        out.extend(listed.items);
        match listed.next_page_token {
            Some(t) if out.len() < MAX_LISTED => page.page_token = Some(t),
            _ => return Ok(out),
        }
    }
}

fn of_kind(p: PrincipalDoc, kind: PrincipalKind) -> ApiResult<PrincipalDoc> {
    match p.kind == kind {
        true => Ok(p),
        false => Err(ApiError::not_found(format!("{} does not exist.", p.id))),
    }
}

/// The caller.
#[utoipa::path(operation_id = "scim_me", get, path = "/api/2.0/preview/scim/v2/Me", tag = "SCIM",
    responses((status = 200, body = User), Errors))]
pub async fn me(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
) -> ApiResult<Response> {
    let p = app.control.principals().ensure_user(&who.user_name).await?;
    let mut resp = axum::Json(user_of(&app, &p).await?).into_response();
    if let Ok(v) = HeaderValue::from_str(&app.workspace_id) {
        resp.headers_mut().insert("x-databricks-org-id", v);
    }
    Ok(resp)
}

/// Add a user (admins).
#[utoipa::path(operation_id = "scim_users_create", post, path = "/api/2.0/preview/scim/v2/Users", tag = "SCIM",
    request_body = NewUser, responses((status = 200, body = User), Errors))]
pub async fn create_user(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<NewUser>,
) -> ApiResult<axum::Json<User>> {
    require_admin(&app, &who).await?;
    let p = app
        .control
        .principals()
        .create(
            PrincipalKind::User,
            &body.user_name,
            body.display_name.as_deref(),
        )
        .await?;
    Ok(axum::Json(user_of(&app, &p).await?))
}

/// The users.
#[utoipa::path(operation_id = "scim_users_list", get, path = "/api/2.0/preview/scim/v2/Users", tag = "SCIM",
    responses((status = 200, body = ListResponse<User>), Errors))]
pub async fn list_users(State(app): State<AppState>) -> ApiResult<axum::Json<ListResponse<User>>> {
    let mut users = Vec::new();
    for p in all(&app, PrincipalKind::User).await? {
        users.push(user_of(&app, &p).await?);
    }
    Ok(axum::Json(listing(users)))
}

/// A user.
#[utoipa::path(operation_id = "scim_users_get", get, path = "/api/2.0/preview/scim/v2/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The user's id")), responses((status = 200, body = User), Errors))]
pub async fn get_user(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<User>> {
    let p = of_kind(
        app.control.principals().get(&id).await?,
        PrincipalKind::User,
    )?;
    Ok(axum::Json(user_of(&app, &p).await?))
}

/// Remove a user (admins).
#[utoipa::path(operation_id = "scim_users_delete", delete, path = "/api/2.0/preview/scim/v2/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The user's id")), responses((status = 200, body = Empty), Errors))]
pub async fn delete_user(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    require_admin(&app, &who).await?;
    of_kind(
        app.control.principals().get(&id).await?,
        PrincipalKind::User,
    )?;
    app.control.principals().delete(&id).await?;
    Ok(axum::Json(Empty {}))
}

/// Add a service principal (admins).
#[utoipa::path(operation_id = "scim_sps_create", post, path = "/api/2.0/preview/scim/v2/ServicePrincipals", tag = "SCIM",
    request_body = NewServicePrincipal, responses((status = 200, body = ServicePrincipal), Errors))]
pub async fn create_service_principal(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<NewServicePrincipal>,
) -> ApiResult<axum::Json<ServicePrincipal>> {
    require_admin(&app, &who).await?;
    let application_id = body
        .application_id
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let p = app
        .control
        .principals()
        .create(
            PrincipalKind::ServicePrincipal,
            &application_id,
            body.display_name.as_deref(),
        )
        .await?;
    Ok(axum::Json(sp_of(&p)))
}

/// The service principals.
#[utoipa::path(operation_id = "scim_sps_list", get, path = "/api/2.0/preview/scim/v2/ServicePrincipals", tag = "SCIM",
    responses((status = 200, body = ListResponse<ServicePrincipal>), Errors))]
pub async fn list_service_principals(
    State(app): State<AppState>,
) -> ApiResult<axum::Json<ListResponse<ServicePrincipal>>> {
    let sps = all(&app, PrincipalKind::ServicePrincipal).await?;
    Ok(axum::Json(listing(sps.iter().map(sp_of).collect())))
}

/// A service principal.
#[utoipa::path(operation_id = "scim_sps_get", get, path = "/api/2.0/preview/scim/v2/ServicePrincipals/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The service principal's id")), responses((status = 200, body = ServicePrincipal), Errors))]
pub async fn get_service_principal(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<ServicePrincipal>> {
    let p = of_kind(
        app.control.principals().get(&id).await?,
        PrincipalKind::ServicePrincipal,
    )?;
    Ok(axum::Json(sp_of(&p)))
}

/// Remove a service principal (admins).
#[utoipa::path(operation_id = "scim_sps_delete", delete, path = "/api/2.0/preview/scim/v2/ServicePrincipals/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The service principal's id")), responses((status = 200, body = Empty), Errors))]
pub async fn delete_service_principal(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    require_admin(&app, &who).await?;
    of_kind(
        app.control.principals().get(&id).await?,
        PrincipalKind::ServicePrincipal,
    )?;
    app.control.principals().delete(&id).await?;
    Ok(axum::Json(Empty {}))
}

/// Add a group (admins).
#[utoipa::path(operation_id = "scim_groups_create", post, path = "/api/2.0/preview/scim/v2/Groups", tag = "SCIM",
    request_body = NewGroup, responses((status = 200, body = Group), Errors))]
pub async fn create_group(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<NewGroup>,
) -> ApiResult<axum::Json<Group>> {
    require_admin(&app, &who).await?;
    let members: BTreeSet<String> = member_names(&app, &body.members)
        .await?
        .into_iter()
        .collect();
    let g = app
        .control
        .principals()
        .create_group(&body.display_name, members)
        .await?;
    Ok(axum::Json(group_of(&app, &g).await?))
}

/// The groups.
#[utoipa::path(operation_id = "scim_groups_list", get, path = "/api/2.0/preview/scim/v2/Groups", tag = "SCIM",
    responses((status = 200, body = ListResponse<Group>), Errors))]
pub async fn list_groups(
    State(app): State<AppState>,
) -> ApiResult<axum::Json<ListResponse<Group>>> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        ..PageRequest::default()
    };
    loop {
        let listed = app.control.principals().groups(&page).await?;
        for g in &listed.items {
            out.push(group_of(&app, g).await?);
        }
        match listed.next_page_token {
            Some(t) if out.len() < MAX_LISTED => page.page_token = Some(t),
            _ => break,
        }
    }
    Ok(axum::Json(listing(out)))
}

/// A group.
#[utoipa::path(operation_id = "scim_groups_get", get, path = "/api/2.0/preview/scim/v2/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The group's id")), responses((status = 200, body = Group), Errors))]
pub async fn get_group(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Group>> {
    let g = app.control.principals().group(&id).await?;
    Ok(axum::Json(group_of(&app, &g).await?))
}

/// Add or remove members (admins): `{"Operations": [{"op": "add"|"remove", "path": "members", "value": [{"value": id}]}]}`.
#[utoipa::path(operation_id = "scim_groups_patch", patch, path = "/api/2.0/preview/scim/v2/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The group's id")), request_body = GroupPatch,
    responses((status = 200, body = Empty), Errors))]
pub async fn patch_group(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(id): PathParam,
    Json(body): Json<GroupPatch>,
) -> ApiResult<axum::Json<Empty>> {
    require_admin(&app, &who).await?;
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for op in &body.operations {
        if op
            .path
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case("members"))
        {
            return Err(ApiError::invalid(
                "only the members of a group can be patched",
            ));
        }
        let names = member_names(&app, op.value.as_deref().unwrap_or_default()).await?;
        match op.op.to_ascii_lowercase().as_str() {
            "add" => add.extend(names),
            "remove" => remove.extend(names),
            other => {
                return Err(ApiError::invalid(format!(
                    "op '{other}' is not add or remove"
                )))
            }
        }
    }
    app.control
        .principals()
        .change_members(&id, &add, &remove)
        .await?;
    Ok(axum::Json(Empty {}))
}

/// Remove a group (admins).
#[utoipa::path(operation_id = "scim_groups_delete", delete, path = "/api/2.0/preview/scim/v2/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The group's id")), responses((status = 200, body = Empty), Errors))]
pub async fn delete_group(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    require_admin(&app, &who).await?;
    app.control.principals().delete_group(&id).await?;
    Ok(axum::Json(Empty {}))
}
