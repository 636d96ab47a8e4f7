//! The SCIM request and response as the SCIM layer sees them, free of pingora types.

use bytes::Bytes;
use scimitar_scim::ScimError;
use serde_json::Value;

pub struct ScimRequest {
    pub method: http::Method,
    /// Raw query string (without `?`), possibly empty.
    pub query: String,
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

impl From<ScimError> for ScimResponse {
    fn from(error: ScimError) -> Self {
        Self {
            status: error.status,
            body: Some(error.to_json()),
            location: None,
            retry_after: error.retry_after,
        }
    }
}

impl ScimRequest {
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
