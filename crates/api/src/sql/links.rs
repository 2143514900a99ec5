//! The result links `lakeplane dev` serves itself: no token, the link's signature (HMAC, expiring)
//! is the credential. On AWS links are presigned S3 URLs and this route is not deployed.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use lakeplane_http::extract::Query;
use lakeplane_http::{ApiError, ApiResult};
use serde::Deserialize;

use super::statements::results_error;
use super::SqlServices;

/// A served link's signature.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Signed {
    #[serde(
        default,
        deserialize_with = "lakeplane_http::extract::lenient::opt_u64"
    )]
    pub expires: Option<u64>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// A result chunk behind a signed, expiring link (`lakeplane dev` only; on AWS links are presigned
/// S3 URLs). No token: the signature is the credential.
#[utoipa::path(operation_id = "results_download", get, path = "/api/2.0/lakeplane/results/{id}/{chunk}", tag = "Statement Execution",
    security(()),
    params(("id" = String, Path, description = "The statement's id"), ("chunk" = u64, Path, description = "The chunk's index"), Signed),
    responses((status = 200, description = "The chunk's bytes", content_type = "application/octet-stream"),
              (status = 403, body = lakeplane_http::ErrorBody), (status = 404, body = lakeplane_http::ErrorBody)))]
pub async fn download(
    Extension(sql): Extension<SqlServices>,
    Path((id, chunk)): Path<(String, String)>,
    Query(q): Query<Signed>,
) -> ApiResult<Response> {
    let denied = || ApiError::permission_denied("The link is invalid or has expired.");
    let (Some(signer), Ok(index), Some(expires), Some(signature)) =
        (&sql.signer, chunk.parse::<u64>(), q.expires, q.signature)
    else {
        return Err(denied());
    };
    let now = lakeplane_control::time::now_ms();
    if !signer.verify(&id, index, expires as i64, &signature, now) {
        return Err(denied());
    }
    let bytes = sql.results.get(&id, index).await.map_err(results_error)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
