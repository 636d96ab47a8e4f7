//! Acme HR's HTTP conventions: the `X-Api-Key` check, the `{"ok", "data" | "error"}`
//! envelope answered with HTTP 200 whatever happened, and HTML-escaped strings.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::AcmeHr;
use crate::extract::Conventions;

/// A refusal, answered as `{"ok": false, "error": {"code", "message"}}` with HTTP 200 (401
/// for a refused key: the only status the application ever varies).
#[derive(Debug)]
pub(super) struct ApiError {
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            code: "not_found",
            message: message.into(),
        }
    }

    pub fn duplicate(message: impl Into<String>) -> Self {
        ApiError {
            code: "duplicate",
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            code: "invalid",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = if self.code == "unauthorized" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        (status, envelope_error(self.code, &self.message)).into_response()
    }
}

pub(super) fn envelope_error(code: &str, message: &str) -> Json<Value> {
    Json(json!({ "ok": false, "error": { "code": code, "message": html_escaped(message) } }))
}

/// A success: `{"ok": true, "data": …}`, every string of `data` HTML-escaped.
pub(super) fn ok(data: Value) -> Response {
    Json(json!({ "ok": true, "data": escape_strings(data) })).into_response()
}

fn escape_strings(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(html_escaped(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(escape_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, escape_strings(value)))
                .collect(),
        ),
        other => other,
    }
}

fn html_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

impl Conventions for Arc<AcmeHr> {
    type Error = ApiError;

    fn unreadable_body(_: StatusCode, reason: String) -> ApiError {
        ApiError::invalid(reason)
    }

    fn bad_json(error: serde_json::Error) -> ApiError {
        ApiError::invalid(format!("the body is not JSON: {error}"))
    }

    fn bad_query(reason: String) -> ApiError {
        ApiError::invalid(reason)
    }
}

/// Middleware on every API route: `X-Api-Key: <key>` or 401.
pub(super) async fn require_key(
    State(acme): State<Arc<AcmeHr>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok());
    if key != Some(acme.options.api_key.as_str()) {
        return Err(ApiError {
            code: "unauthorized",
            message: "invalid API key".into(),
        });
    }
    Ok(next.run(request).await)
}

/// The page of `items` that `offset` (default 0) and `limit` (1…200, default 50) ask for,
/// and how many items there are in all.
pub(super) fn page<T>(
    items: impl Iterator<Item = T>,
    offset: Option<usize>,
    limit: Option<usize>,
) -> Result<(Vec<T>, usize), ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit must be 1 to 200"));
    }
    let offset = offset.unwrap_or(0);
    let mut total = 0;
    let mut page = Vec::new();
    for item in items {
        if total >= offset && page.len() < limit {
            page.push(item);
        }
        total += 1;
    }
    Ok((page, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_escape_every_string() {
        let data = json!({ "name": "O'Brien & <Co>", "list": ["\"x\""], "n": 1 });
        assert_eq!(
            escape_strings(data),
            json!({ "name": "O&#39;Brien &amp; &lt;Co&gt;", "list": ["&quot;x&quot;"], "n": 1 })
        );
    }
}
