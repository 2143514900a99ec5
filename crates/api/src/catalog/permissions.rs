//! `GET`/`PATCH /permissions/{securable_type}/{full_name}` and
//! `GET /effective-permissions/{securable_type}/{full_name}`: the grants `GRANT` and `REVOKE`
//! make, through the same catalog port.

use axum::extract::{Path, State};
use axum::Extension;
use lakeplane_control::Principal;
use lakeplane_core::catalog::{GrantChange, Identity, Kind, Metastore, Privilege, Securable};
use lakeplane_http::extract::{Json, Query};
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{catalog_error, identity, require_owner, require_visible};
use crate::Errors;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForPrincipal {
    /// Only this principal's.
    #[serde(default)]
    pub principal: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrivilegeAssignment {
    pub principal: String,
    pub privileges: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionsList {
    pub privilege_assignments: Vec<PrivilegeAssignment>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PermissionsChange {
    pub principal: String,
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePermissions {
    #[serde(default)]
    pub changes: Vec<PermissionsChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EffectivePrivilege {
    pub privilege: String,
    pub inherited_from_type: Option<String>,
    pub inherited_from_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveAssignment {
    pub principal: String,
    pub privileges: Vec<EffectivePrivilege>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EffectivePermissionsList {
    pub privilege_assignments: Vec<EffectiveAssignment>,
}

/// The most changes one PATCH makes.
const MAX_CHANGES: usize = 100;

fn securable(kind: &str, full_name: &str) -> ApiResult<Securable> {
    let kind = Kind::parse(kind).ok_or_else(|| {
        ApiError::invalid(format!(
            "securable type '{kind}' is not one of catalog, schema, table, function"
        ))
    })?;
    Securable::parse(kind, full_name).map_err(|e| ApiError::invalid(e.to_string()))
}

async fn object_id(app: &AppState, s: &Securable) -> ApiResult<String> {
    let c = app.control.catalogs();
    Ok(match s {
        Securable::Catalog(n) => c.get_catalog(n).await.map_err(catalog_error)?.id,
        Securable::Schema(n) => c.get_schema(n).await.map_err(catalog_error)?.id,
        Securable::Table(n) => c.get_table(n).await.map_err(catalog_error)?.table_id,
        Securable::Function(n) => c.get_function(n).await.map_err(catalog_error)?.function_id,
    })
}

fn privileges(names: &[String]) -> ApiResult<Vec<Privilege>> {
    names
        .iter()
        .map(|n| {
            Privilege::parse(n)
                .ok_or_else(|| ApiError::invalid(format!("'{n}' is not a privilege")))
        })
        .collect()
}

async fn listed(app: &AppState, s: &Securable, only: Option<&str>) -> ApiResult<PermissionsList> {
    let grants = app
        .control
        .catalogs()
        .grants(&object_id(app, s).await?)
        .await
        .map_err(catalog_error)?;
    Ok(PermissionsList {
        privilege_assignments: grants
            .by_principal
            .iter()
            .filter(|(p, _)| only.is_none_or(|o| o == p.as_str()))
            .map(|(p, set)| PrivilegeAssignment {
                principal: p.clone(),
                privileges: set.iter().map(|x| x.name().to_string()).collect(),
            })
            .collect(),
    })
}

/// The grants on a catalog, schema or table.
#[utoipa::path(operation_id = "uc_permissions_get", get, path = "/api/2.1/unity-catalog/permissions/{securable_type}/{id}", tag = "Unity Catalog",
    params(("securable_type" = String, Path, description = "catalog, schema or table"), ("id" = String, Path, description = "The full name"), ForPrincipal),
    responses((status = 200, body = PermissionsList), Errors))]
pub async fn get(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((kind, full)): Path<(String, String)>,
    Query(q): Query<ForPrincipal>,
) -> ApiResult<axum::Json<PermissionsList>> {
    let s = securable(&kind, &full)?;
    require_visible(&app, &identity(&app, &who).await?, s.clone()).await?;
    Ok(axum::Json(listed(&app, &s, q.principal.as_deref()).await?))
}

/// Grant and revoke privileges (the object's owner or an admin).
#[utoipa::path(operation_id = "uc_permissions_update", patch, path = "/api/2.1/unity-catalog/permissions/{securable_type}/{id}", tag = "Unity Catalog",
    params(("securable_type" = String, Path, description = "catalog, schema or table"), ("id" = String, Path, description = "The full name")),
    request_body = UpdatePermissions, responses((status = 200, body = PermissionsList), Errors))]
pub async fn update(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((kind, full)): Path<(String, String)>,
    Json(body): Json<UpdatePermissions>,
) -> ApiResult<axum::Json<PermissionsList>> {
    let s = securable(&kind, &full)?;
    if body.changes.len() > MAX_CHANGES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_CHANGES} changes at once"
        )));
    }
    require_owner(&app, &identity(&app, &who).await?, s.clone()).await?;
    let changes = body
        .changes
        .iter()
        .map(|c| {
            Ok(GrantChange {
                principal: c.principal.clone(),
                add: privileges(&c.add)?,
                remove: privileges(&c.remove)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let id = object_id(&app, &s).await?;
    app.control
        .catalogs()
        .update_grants(&id, s.kind(), &changes)
        .await
        .map_err(catalog_error)?;
    Ok(axum::Json(listed(&app, &s, None).await?))
}

/// What a principal (the caller by default) may do on an object, with where each privilege was
/// granted.
#[utoipa::path(operation_id = "uc_effective_permissions", get, path = "/api/2.1/unity-catalog/effective-permissions/{securable_type}/{id}", tag = "Unity Catalog",
    params(("securable_type" = String, Path, description = "catalog, schema or table"), ("id" = String, Path, description = "The full name"), ForPrincipal),
    responses((status = 200, body = EffectivePermissionsList), Errors))]
pub async fn effective(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((kind, full)): Path<(String, String)>,
    Query(q): Query<ForPrincipal>,
) -> ApiResult<axum::Json<EffectivePermissionsList>> {
    let s = securable(&kind, &full)?;
    let caller = identity(&app, &who).await?;
    require_visible(&app, &caller, s.clone()).await?;
    let subject: Identity = match q.principal.filter(|p| !p.is_empty()) {
        Some(p) if p != who.user_name => app.control.principals().identity(&p).await?,
        _ => caller,
    };
    let lineage = app
        .control
        .catalogs()
        .lineage(&s)
        .await
        .map_err(catalog_error)?;
    let privileges = lineage
        .effective(&subject)
        .into_iter()
        .map(|(p, from)| EffectivePrivilege {
            privilege: p.name().into(),
            inherited_from_type: (from != s).then(|| from.kind().name().into()),
            inherited_from_name: (from != s).then(|| from.full_name()),
        })
        .collect();
    Ok(axum::Json(EffectivePermissionsList {
        privilege_assignments: vec![EffectiveAssignment {
            principal: subject.user,
            privileges,
        }],
    }))
}
