//! Rhombus's HTTP conventions: API-key headers, the organisation's rate limit, strict JSON
//! bodies (400 `{"msg"}`), and domain errors as HTTP 200 `{"error":true,"errorMsg"}`.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::clock::{Clock, DefaultClock};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Rhombus;

/// The 400 body for anything that does not deserialise into the method's request.
const MALFORMED: &str = "JSON doesn't match expected object structure";
/// The 429 body, as Rhombus words it.
const THROTTLED: &str = "Too many api requests. Enhance your calm.";

/// Why an RPC call failed.
#[derive(Debug)]
pub(super) enum RpcError {
    /// HTTP 400 `{"msg": MALFORMED}`.
    Malformed,
    /// HTTP 200 `{"error":true,"errorMsg":...}`.
    Domain(String),
}

impl RpcError {
    pub fn domain(message: impl Into<String>) -> Self {
        RpcError::Domain(message.into())
    }
}

impl IntoResponse for RpcError {
    fn into_response(self) -> Response {
        match self {
            RpcError::Malformed => {
                (StatusCode::BAD_REQUEST, Json(json!({ "msg": MALFORMED }))).into_response()
            }
            RpcError::Domain(message) => {
                Json(json!({ "error": true, "errorMsg": message })).into_response()
            }
        }
    }
}

/// A request body of type `T`, or the 400 `{"msg"}`.
pub(super) struct RpcBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for RpcBody<T> {
    type Rejection = RpcError;

    async fn from_request(request: Request, state: &S) -> Result<Self, RpcError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| RpcError::Malformed)?;
        serde_json::from_slice(&bytes)
            .map(RpcBody)
            .map_err(|_| RpcError::Malformed)
    }
}

/// Middleware: `x-auth-apikey: <key>` and `x-auth-scheme: api-token`, or 401.
pub(super) async fn require_api_key(
    State(rhombus): State<Arc<Rhombus>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let key_ok = header_is(headers, "x-auth-apikey", &rhombus.options.api_key);
    let scheme_ok = header_is(headers, "x-auth-scheme", "api-token");
    if key_ok && scheme_ok {
        next.run(request).await
    } else {
        status_response(StatusCode::UNAUTHORIZED)
    }
}

fn header_is(headers: &HeaderMap, name: &str, expected: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == expected)
}

/// Middleware: one token of the organisation's bucket per request, or 429 with
/// `Retry-After` (whole seconds, rounded up so that a client waiting that long gets through).
pub(super) async fn rate_limit(
    State(rhombus): State<Arc<Rhombus>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(bucket) = &rhombus.bucket else {
        return next.run(request).await;
    };
    match bucket.check() {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            throttled(Some(seconds.max(1)))
        }
    }
}

/// The 429 answer: Rhombus's text body, with `Retry-After` when known.
fn throttled(retry_after: Option<u64>) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        THROTTLED,
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Rhombus's answer for a bare status: 401s, unknown methods and injected faults (whose
/// `Retry-After`, if any, the fault layer adds).
pub(super) fn status_response(status: StatusCode) -> Response {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return throttled(None);
    }
    let message = match status {
        StatusCode::UNAUTHORIZED => "Unauthorized",
        other => other.canonical_reason().unwrap_or("Error"),
    };
    (status, Json(json!({ "error": true, "errorMsg": message }))).into_response()
}

/// Any path that is not one of the RPC methods.
pub(super) async fn unknown_method() -> Response {
    status_response(StatusCode::NOT_FOUND)
}
