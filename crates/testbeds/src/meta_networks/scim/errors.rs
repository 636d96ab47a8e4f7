//! SCIM answers: `application/scim+json` bodies, RFC 7644 §3.12 errors (also for what the
//! native model rejects), and the request-body extractor that answers `invalidSyntax`.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scimitar_scim::ScimError;
use serde_json::Value;

use super::super::api::ApiError;

/// The SCIM media type of every answer, errors included.
pub(super) const SCIM_JSON: &str = "application/scim+json";

/// A SCIM error on its way out: a newtype because `ScimError` belongs to another crate.
#[derive(Debug)]
pub(super) struct Failure(pub ScimError);

impl From<ScimError> for Failure {
    fn from(error: ScimError) -> Self {
        Failure(error)
    }
}

/// Meta's native model is the one source of truth for what a user or group may hold (E.164
/// phones, required names, unique emails and group names); its verdicts are re-spoken in SCIM
/// here, with native field names replaced by the SCIM attributes they come from.
impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let detail = scim_names(&error.message);
        Failure(match error.status {
            StatusCode::CONFLICT => ScimError::uniqueness(detail),
            StatusCode::NOT_FOUND => ScimError::not_found(detail),
            StatusCode::BAD_REQUEST => ScimError::invalid_value(detail),
            other => ScimError::new(other.as_u16(), None, detail),
        })
    }
}

/// Native field name → the SCIM attribute this endpoint maps onto it.
const NATIVE_TO_SCIM: [(&str, &str); 6] = [
    ("email", "userName"),
    ("given_name", "name.givenName"),
    ("family_name", "name.familyName"),
    ("phone", "phoneNumbers.value"),
    ("enabled", "active"),
    ("name", "displayName"),
];

/// Rewrites the native names in a model message: `` `phone` must be... `` and `has email "x"`.
fn scim_names(message: &str) -> String {
    let mut out = message.to_owned();
    for (native, scim) in NATIVE_TO_SCIM {
        out = out
            .replace(&format!("`{native}`"), &format!("`{scim}`"))
            .replace(&format!("has {native} "), &format!("has {scim} "));
    }
    out
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = scim_json(status, self.0.to_json());
        if let Some(seconds) = self.0.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `value` as `application/scim+json` with `status`.
pub(super) fn scim_json(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
        value.to_string(),
    )
        .into_response()
}

/// A JSON request body. Both `application/scim+json` and `application/json` are read (the
/// content type is not checked); a body that is not JSON is a 400 `invalidSyntax`.
pub(super) struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Failure> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ScimError::new(rejection.status().as_u16(), None, rejection.body_text())
            })?;
        serde_json::from_slice(&bytes)
            .map(ScimBody)
            .map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_verdicts_speak_scim() {
        let phone = ApiError::bad_request(
            "invalid_phone",
            "`phone` must be in E.164 format (+16175551212), not \"617\"",
        );
        let Failure(error) = phone.into();
        assert_eq!(
            (error.status, error.scim_type.as_deref()),
            (400, Some("invalidValue"))
        );
        assert!(error.detail.starts_with("`phoneNumbers.value` must"));
        let Failure(error) = ApiError::conflict("user usr-1 already has email \"a@x\"").into();
        assert_eq!(error.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(error.detail, "user usr-1 already has userName \"a@x\"");
        let Failure(error) =
            ApiError::bad_request("missing_field", "`given_name` is required").into();
        assert_eq!(error.detail, "`name.givenName` is required");
    }
}
