//! Maptician's HTTP conventions (a Django REST Framework service): `{"detail":"..."}` errors,
//! the bearer API token check, and extractors that answer in that shape.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::Maptician;
use crate::extract::Conventions;
use crate::tokens;

/// `{"detail":"..."}` with its status.
#[derive(Debug)]
pub(super) struct ApiError {
    pub status: StatusCode,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "detail": self.detail }))).into_response()
    }
}

impl Conventions for Arc<Maptician> {
    type Error = ApiError;

    fn unreadable_body(status: StatusCode, reason: String) -> ApiError {
        ApiError::new(status, reason)
    }

    fn bad_json(error: serde_json::Error) -> ApiError {
        ApiError::bad_request(format!("JSON parse error - {error}"))
    }

    fn bad_query(reason: String) -> ApiError {
        ApiError::bad_request(reason)
    }
}

/// Middleware on every API route: `Authorization: Bearer <api token>` or 401.
pub(super) async fn require_token(
    State(maptician): State<Arc<Maptician>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if tokens::bearer(request.headers()) != Some(maptician.options.api_token.as_str()) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid token"));
    }
    Ok(next.run(request).await)
}
