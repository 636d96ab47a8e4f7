//! SCIM errors (RFC 7644 §3.12).
//!
//! Every failure the protocol core reports is a [`ScimError`]: an HTTP status, an optional
//! `scimType` keyword and a human-readable detail. The gateway turns it into the response body
//! with [`ScimError::to_json`] and, for 429/503, into a `Retry-After` header from `retry_after`.

use serde_json::{json, Value};

use crate::urn::ERROR;

/// The longest `Retry-After` the gateway passes on: a target asking for more is asked again
/// sooner.
pub const MAX_RETRY_AFTER_SECS: u64 = 3600;

/// A SCIM protocol error, ready to be sent to the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}{}: {detail}", scim_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default())]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// RFC 7644 `scimType` keyword (`invalidFilter`, `uniqueness`, ...), when one applies.
    pub scim_type: Option<String>,
    /// Human-readable explanation; never contains secrets.
    pub detail: String,
    /// Seconds the client should wait before retrying (429 and 503 only).
    pub retry_after: Option<u64>,
}

/// Declares one constructor per fixed (status, scimType) pair, so the list reads like the RFC table.
macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $scim_type:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(detail: impl Into<String>) -> Self {
                Self::new($status, $scim_type, detail)
            }
        )*
    };
}

impl ScimError {
    /// Builds an error from its parts; `retry_after` is left unset.
    pub fn new(status: u16, scim_type: Option<&str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: scim_type.map(str::to_owned),
            detail: detail.into(),
            retry_after: None,
        }
    }

    constructors! {
        /// 400 `invalidFilter`: the filter syntax is invalid or the filter is not supported.
        invalid_filter => 400, Some("invalidFilter");
        /// 400 `invalidSyntax`: the request body is not a valid SCIM message.
        invalid_syntax => 400, Some("invalidSyntax");
        /// 400 `invalidValue`: a value is of the wrong type or out of range.
        invalid_value => 400, Some("invalidValue");
        /// 400 `invalidPath`: a PATCH path is malformed or names no attribute.
        invalid_path => 400, Some("invalidPath");
        /// 400 `noTarget`: a PATCH path selects nothing it could act on.
        no_target => 400, Some("noTarget");
        /// 400 `mutability`: the request tries to change a read-only or immutable attribute.
        mutability => 400, Some("mutability");
        /// 409 `uniqueness`: the resource (or a unique attribute value) already exists.
        uniqueness => 409, Some("uniqueness");
        /// 400 `tooMany`: the query would return more results than the server will.
        too_many => 400, Some("tooMany");
        /// 404: no such resource.
        not_found => 404, None;
        /// 501: the operation is not supported (e.g. the adapter does not implement it).
        not_implemented => 501, None;
        /// 401: missing or invalid credentials.
        unauthorized => 401, None;
        /// 403: the credentials do not allow this operation.
        forbidden => 403, None;
        /// 413: the request body is larger than the server accepts.
        payload_too_large => 413, None;
        /// 500: a bug or an unexpected failure inside the gateway.
        internal => 500, None;
    }

    /// 429: the client (or the target behind the gateway) is throttled; retry after the delay.
    pub fn too_many_requests(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(429, None, detail)
        }
    }

    /// 503: the target is unavailable; Entra retries 5xx later, so this is the honest answer
    /// whenever the work was not done.
    pub fn unavailable(retry_after: Option<u64>, detail: impl Into<String>) -> Self {
        Self {
            retry_after,
            ..Self::new(503, None, detail)
        }
    }

    /// The RFC 7644 §3.12 error body. `status` is a string, as the RFC's examples show and
    /// Entra expects.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = &self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_string_status_and_scim_type() {
        let body = ScimError::uniqueness("userName taken").to_json();
        assert_eq!(
            body,
            json!({"schemas": [ERROR], "status": "409", "scimType": "uniqueness", "detail": "userName taken"})
        );
    }

    #[test]
    fn json_body_omits_absent_scim_type() {
        let body = ScimError::not_found("no such user").to_json();
        assert!(body.get("scimType").is_none());
        assert_eq!(body["status"], "404");
    }

    #[test]
    fn retry_after_is_kept_for_throttling() {
        assert_eq!(
            ScimError::too_many_requests(30, "slow down").retry_after,
            Some(30)
        );
        assert_eq!(ScimError::unavailable(None, "down").status, 503);
        assert_eq!(
            ScimError::too_many("x").scim_type.as_deref(),
            Some("tooMany")
        );
    }

    #[test]
    fn display_is_compact() {
        assert_eq!(
            ScimError::invalid_path("bad").to_string(),
            "400 invalidPath: bad"
        );
        assert_eq!(ScimError::internal("boom").to_string(), "500: boom");
    }
}
