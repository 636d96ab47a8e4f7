//! Proxy-mode hooks: what the tenant's script sees of a proxied request and response.
//!
//! pingora streams: the upstream request's head is sent before its body is read, and the
//! response's head reaches the client before its body arrives. So each direction has a
//! head hook and a body hook, each optional:
//!
//! | hook | runs | may |
//! |---|---|---|
//! | `on_request(req)` | before connecting upstream | change `method`, `path`, `query`, `headers`; answer locally (`scim_error`) |
//! | `on_request_body(req, body)` | once the whole request body is in | return a new JSON body; answer locally |
//! | `on_response(req, resp)` | when the target's answer head arrives | change `status`, `headers` |
//! | `on_response_body(req, resp, body)` | once the whole answer body is in | return a new JSON body |
//!
//! Returning `()` leaves things as they are. A rewritten body is sent chunked, so its
//! length never has to be known in advance and bodies of any size pass.

use scimitar_scim::ScimError;
use serde_json::{json, Map, Value};

pub const ON_REQUEST: &str = "on_request";
pub const ON_REQUEST_BODY: &str = "on_request_body";
pub const ON_RESPONSE: &str = "on_response";
pub const ON_RESPONSE_BODY: &str = "on_response_body";

/// The request as it will be sent upstream (after `on_request`).
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    pub method: String,
    /// Full path on the target, e.g. `/v1/scim/idp-1/Users/7`.
    pub path: String,
    /// The SCIM path after the tenant's base, e.g. `/Users/7` (for the script's information).
    pub scim_path: String,
    pub query: String,
    /// Lower-case names; never the client's `Authorization`.
    pub headers: Vec<(String, String)>,
}

impl ProxiedRequest {
    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "path": self.path,
            "scim_path": self.scim_path,
            "query": self.query,
            "headers": headers_json(&self.headers),
        })
    }

    /// Takes what `on_request` returned: a map with any of the fields changed.
    pub fn update(&mut self, changed: &Value) -> Result<(), ScimError> {
        let Some(map) = changed.as_object() else {
            return Err(ScimError::internal(
                "on_request must return the request map or ()",
            ));
        };
        if let Some(method) = text_field(map, "method")? {
            self.method = method.to_ascii_uppercase();
        }
        if let Some(path) = text_field(map, "path")? {
            if !path.starts_with('/') {
                return Err(ScimError::internal("on_request: path must start with '/'"));
            }
            self.path = path;
        }
        if let Some(query) = text_field(map, "query")? {
            self.query = query;
        }
        if let Some(headers) = map.get("headers") {
            self.headers = headers_from_json(headers)?;
        }
        Ok(())
    }

    /// The request line's target: path and query.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

/// The target's answer head as `on_response` sees it.
pub fn response_json(status: u16, headers: &[(String, String)]) -> Value {
    json!({ "status": status, "headers": headers_json(headers) })
}

/// Status and headers from what `on_response` returned.
pub fn response_update(
    changed: &Value,
) -> Result<(Option<u16>, Option<Vec<(String, String)>>), ScimError> {
    let Some(map) = changed.as_object() else {
        return Err(ScimError::internal(
            "on_response must return the response map or ()",
        ));
    };
    let status = match map.get("status") {
        None => None,
        Some(s) => Some(
            s.as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    ScimError::internal("on_response: status must be an HTTP status code")
                })?,
        ),
    };
    let headers = map.get("headers").map(headers_from_json).transpose()?;
    Ok((status, headers))
}

/// A body for a body hook: JSON when it parses, else the text.
pub fn body_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The bytes of a body a hook returned.
pub fn body_bytes(value: &Value) -> bytes::Bytes {
    match value {
        Value::String(text) => bytes::Bytes::from(text.clone()),
        other => bytes::Bytes::from(other.to_string()),
    }
}

fn headers_json(headers: &[(String, String)]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

fn headers_from_json(value: &Value) -> Result<Vec<(String, String)>, ScimError> {
    let map = value
        .as_object()
        .ok_or_else(|| ScimError::internal("hook: headers must be a map"))?;
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.to_ascii_lowercase(), s.clone())),
            Value::Number(_) | Value::Bool(_) => Ok((k.to_ascii_lowercase(), v.to_string())),
            _ => Err(ScimError::internal(format!(
                "hook: header {k} must be text"
            ))),
        })
        .collect()
}

fn text_field(map: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::internal(format!("hook: {key} must be text"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ProxiedRequest {
        ProxiedRequest {
            method: "PATCH".into(),
            path: "/v1/scim/Users/1".into(),
            scim_path: "/Users/1".into(),
            query: String::new(),
            headers: vec![("content-type".into(), "application/scim+json".into())],
        }
    }

    #[test]
    fn hooks_change_only_what_they_return() {
        let mut r = request();
        r.update(&json!({"path": "/v1/scim/idp-1/Users/1", "query": "a=1"}))
            .unwrap();
        assert_eq!(r.path_and_query(), "/v1/scim/idp-1/Users/1?a=1");
        assert_eq!(r.method, "PATCH");
        assert!(r.update(&json!({"path": "relative"})).is_err());
        assert!(r.update(&json!(7)).is_err());
    }

    #[test]
    fn response_updates_are_checked() {
        assert_eq!(
            response_update(&json!({"status": 201})).unwrap(),
            (Some(201), None)
        );
        assert!(response_update(&json!({"status": 42})).is_err());
        let (_, headers) = response_update(&json!({"headers": {"X-A": "b"}})).unwrap();
        assert_eq!(headers.unwrap(), vec![("x-a".to_string(), "b".to_string())]);
    }
}
