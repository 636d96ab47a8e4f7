//! Maptician's HTTP conventions (a Django REST Framework service): `{"detail":"..."}` errors,
//! the bearer API token check, and extractors that answer in that shape.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::{request::Parts, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Maptician;
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

/// A JSON request body of type `T`; anything else is a 400.
pub(super) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}")))
    }
}

/// Query parameters of type `T`; a malformed query is a 400.
pub(super) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(params)| Params(params))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
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
