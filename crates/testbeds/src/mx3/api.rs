//! MX3's HTTP conventions: `Authorization: Token <key>` naming the organisation, the
//! `{"status":..,"data":..}` envelope and `{"status":false,"error":".."}` failures.

use crate::extract::Conventions;
use std::sync::Arc;

use axum::extract::{Request, State};
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

impl Conventions for Arc<Mx3> {
    type Error = ApiError;

    fn unreadable_body(status: StatusCode, reason: String) -> ApiError {
        ApiError::new(status, reason)
    }

    fn bad_json(error: serde_json::Error) -> ApiError {
        ApiError::bad_request(format!("Invalid JSON: {error}"))
    }

    fn bad_query(reason: String) -> ApiError {
        ApiError::bad_request(reason)
    }
}

pub(super) async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not found.")
}
