//! Meta's HTTP conventions: its error shape, request extractors that answer in that shape
//! instead of axum's plain-text rejections, and its list envelope.

use std::sync::Arc;

use super::Meta;
use crate::extract::{Conventions, JsonBody};
use std::borrow::Cow;

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::store::{Collection, Cursor};

/// `{"error":"<code>","message":"..."}` with its status.
#[derive(Debug)]
pub(super) struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id} not found"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.code, "message": self.message })),
        )
            .into_response()
    }
}

impl Conventions for Arc<Meta> {
    type Error = ApiError;

    fn unreadable_body(status: StatusCode, reason: String) -> ApiError {
        ApiError::new(status, "invalid_body", reason)
    }

    fn bad_json(error: serde_json::Error) -> ApiError {
        ApiError::bad_request("invalid_json", error.to_string())
    }

    fn bad_query(reason: String) -> ApiError {
        ApiError::bad_request("invalid_parameter", reason)
    }
}

/// A JSON merge patch body. Its media type is required (415 `unsupported_media_type` otherwise),
/// as with Meta, so that an adapter sending plain JSON is caught here rather than in production.
pub(super) struct MergePatch(pub Value);

impl<S: Conventions<Error = ApiError> + Send + Sync> FromRequest<S> for MergePatch {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let media_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let essence = media_type.and_then(|v| v.split(';').next()).map(str::trim);
        if !essence.is_some_and(|e| e.eq_ignore_ascii_case("application/merge-patch+json")) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "PATCH takes Content-Type: application/merge-patch+json",
            ));
        }
        JsonBody::from_request(request, state)
            .await
            .map(|JsonBody(patch)| MergePatch(patch))
    }
}

/// `?page_size=&page_token=`. Kept as text: serde cannot parse numbers inside a flattened
/// query struct, and parsing here gives Meta's error shape anyway.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    page_size: Option<String>,
    page_token: Option<String>,
}

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 500;

/// One page of `items` that pass `keep`, as `{"items":[...],"next_page_token":"..."|null}`.
/// A `page_size` outside 1..=500 is a 400 rather than clamped, so an adapter that asks for more
/// than Meta gives learns it at once; so is a `page_token` this testbed did not hand out.
pub(super) fn page<T: Serialize>(
    items: &Collection<T>,
    query: &PageQuery,
    keep: impl Fn(&T) -> bool,
) -> Result<Json<Value>, ApiError> {
    let size = match &query.page_size {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("page_size must be 1 to {MAX_PAGE_SIZE}"),
                )
            })?,
    };
    let from = match &query.page_token {
        None => None,
        Some(token) => Some(
            Cursor::parse(token)
                .ok_or_else(|| ApiError::bad_request("invalid_parameter", "invalid page_token"))?,
        ),
    };
    let (page, next) = items.page(from, size, keep);
    Ok(Json(
        json!({ "items": page, "next_page_token": next.map(Cursor::token) }),
    ))
}
