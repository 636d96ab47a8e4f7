//! The SCIM request and response as the SCIM layer sees them, free of pingora types.

use crate::failure::Failure;
use bytes::Bytes;
use scimitar_scim::list::ListQuery;
use scimitar_scim::{ScimError, MAX_RETRY_AFTER_SECS};
use serde_json::Value;
use std::sync::OnceLock;

pub struct ScimRequest {
    pub method: http::Method,
    /// Raw query string (without `?`), possibly empty.
    query: String,
    /// The query parsed, once: the provisioning log, `scim_requested` and the SCIM layer
    /// all read it.
    parsed_query: OnceLock<Result<ListQuery, ScimError>>,
    pub body: Bytes,
    /// Absolute URL of the tenant's SCIM base, for `Location` and `meta.location`.
    pub base_url: String,
}

#[derive(Debug)]
pub struct ScimResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub location: Option<String>,
    pub retry_after: Option<u64>,
}

impl From<Failure> for ScimResponse {
    fn from(failure: Failure) -> Self {
        failure.into_error().into()
    }
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body: Some(body),
            location: None,
            retry_after: None,
        }
    }

    pub fn created(body: Value, location: Option<String>) -> Self {
        Self {
            status: 201,
            body: Some(body),
            location,
            retry_after: None,
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            location: None,
            retry_after: None,
        }
    }
}

/// Seconds a client is told to wait before retrying a 429 or 503 that named no time itself:
/// every retryable answer carries `Retry-After`, so that Entra retries instead of guessing.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

/// `Retry-After` for an answer with `status`: the given delay (capped), the default for a
/// 429/503 without one, nothing for other answers.
pub fn retry_after_for(status: u16, given: Option<u64>) -> Option<u64> {
    match (status, given) {
        (429 | 503, None) => Some(DEFAULT_RETRY_AFTER_SECS),
        (_, Some(secs)) => Some(secs.min(MAX_RETRY_AFTER_SECS)),
        (_, None) => None,
    }
}

impl From<ScimError> for ScimResponse {
    fn from(error: ScimError) -> Self {
        Self {
            status: error.status,
            body: Some(error.to_json()),
            location: None,
            retry_after: retry_after_for(error.status, error.retry_after),
        }
    }
}

impl ScimRequest {
    pub fn new(method: http::Method, query: String, body: Bytes, base_url: String) -> Self {
        Self {
            method,
            query,
            parsed_query: OnceLock::new(),
            body,
            base_url,
        }
    }

    /// The query string's `filter`, `startIndex`, `count`, `attributes` and
    /// `excludedAttributes`; a malformed one is the SCIM 400 it stands for.
    pub fn list_query(&self) -> Result<&ListQuery, ScimError> {
        self.parsed_query
            .get_or_init(|| ListQuery::from_query_string(&self.query))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The body as JSON; anything else is SCIM 400 `invalidSyntax`.
    pub fn json(&self) -> Result<Value, ScimError> {
        if self.body.is_empty() {
            return Err(ScimError::invalid_syntax("the request needs a JSON body"));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
        })
    }
}
