//! The one API error type: Databricks error JSON (`error_code`, `message`) with the matching status.
//! Every error any route, extractor or layer of the shell answers is one of these.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lakeplane_control::ControlError;
use lakeplane_core::serving::port::ServingError;
use lakeplane_core::DomainError;
use lakeplane_store::StoreError;
use serde::Serialize;

/// An error answered as `{"error_code": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The error body, as the document describes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A Databricks error code, such as `INVALID_PARAMETER_VALUE` or `RESOURCE_DOES_NOT_EXIST`.
    pub error_code: String,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }

    pub fn permission_denied(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
    }

    pub fn no_endpoint(method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            format!("No API found for '{method} {path}'"),
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Unexpected internal failure; the request was not completed.",
        )
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        use ControlError as C;
        let (status, code) = match &e {
            C::NotFound { .. } => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
            C::InvalidParameter(_) | C::Domain(DomainError::InvalidParameter(_)) => {
                (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE")
            }
            C::InvalidState(_) | C::Domain(DomainError::InvalidTransition { .. }) => {
                (StatusCode::BAD_REQUEST, "INVALID_STATE")
            }
            C::AlreadyExists { .. } => (StatusCode::CONFLICT, "RESOURCE_ALREADY_EXISTS"),
            C::Conflict { .. } => (StatusCode::CONFLICT, "ABORTED"),
            C::Store(StoreError::Invalid(_)) => {
                (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE")
            }
            // 503 with Retry-After: the SDK retries these.
            C::Store(StoreError::Throttled { .. } | StoreError::Unavailable { .. }) => {
                (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE")
            }
            C::Store(StoreError::Conflict { .. }) => (StatusCode::CONFLICT, "ABORTED"),
            C::Compute(_) => (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE"),
            C::Serving(ServingError::Throttled { .. }) => {
                (StatusCode::TOO_MANY_REQUESTS, "REQUEST_LIMIT_EXCEEDED")
            }
            C::Serving(_) => (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE"),
            C::Store(StoreError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST")
            }
            C::Store(StoreError::AlreadyExists { .. }) => {
                (StatusCode::CONFLICT, "RESOURCE_ALREADY_EXISTS")
            }
            C::Domain(DomainError::NotHolder { .. }) | C::LeaseLost { .. } | C::Corrupt { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
            }
        };
        if status.is_server_error() {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "request failed");
        }
        let message = match status {
            StatusCode::INTERNAL_SERVER_ERROR => ApiError::internal().message,
            StatusCode::SERVICE_UNAVAILABLE if matches!(e, C::Serving(_)) => e.to_string(),
            StatusCode::SERVICE_UNAVAILABLE => {
                "The service is temporarily unavailable; try again.".to_string()
            }
            _ => e.to_string(),
        };
        ApiError::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.code.to_string(),
            message: self.message,
        };
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        resp
    }
}
