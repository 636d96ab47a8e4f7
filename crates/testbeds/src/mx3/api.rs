//! MX3's HTTP conventions: `Authorization: Token <key>` naming the organisation, the
//! `{"status":..,"data":..}` envelope and `{"status":false,"error":".."}` failures.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::Mx3;

/// `{"status":false,"error":"..."}` with its HTTP status.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "User not found.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "status": false, "error": self.message })),
        )
            .into_response()
    }
}

/// A success: `{"status":true,"data":...}`.
pub(super) fn ok(data: impl Serialize) -> Json<Value> {
    Json(json!({ "status": true, "data": data }))
}

/// The organisation a request's API key belongs to (its index in `Options::organisations`),
/// put in the request's extensions by [`require_token`].
#[derive(Clone, Copy)]
pub(super) struct Org(pub usize);

/// Middleware: `Authorization: Token <key>` of one of the organisations, or 401.
pub(super) async fn require_token(
    State(mx3): State<Arc<Mx3>>,
    mut request: Request,
    next: Next,
) -> Response {
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("token"))
        .map(|(_, key)| key.trim());
    let org = key.and_then(|key| {
        mx3.options
            .organisations
            .iter()
            .position(|o| o.api_key == key)
    });
    match org {
        Some(index) => {
            request.extensions_mut().insert(Org(index));
            next.run(request).await
        }
        None => ApiError::new(StatusCode::UNAUTHORIZED, "Invalid token.").into_response(),
    }
}

/// A JSON request body; anything that is not JSON is a 400.
pub(super) struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON: {e}")))
    }
}

pub(super) async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not found.")
}
