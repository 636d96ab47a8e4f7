//! The tenant in the path, and OAuth2 client credentials: `POST /<tenant>/api/connect/token`
//! (form-encoded, scope `Integration`) hands out the bearer tokens every other route requires.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::{Form, Json};
use serde_json::{json, Value};

use super::api::ApiError;
use super::Medius;
use crate::tokens;

/// The one scope Medius grants an integration client.
const SCOPE: &str = "Integration";

/// Middleware on every route under `/{tenant}`: another tenant's path is a 404, as an
/// unknown tenant would be on Medius's shared host.
pub(super) async fn require_tenant(
    State(medius): State<Arc<Medius>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let tenant = request.uri().path().split('/').nth(1).unwrap_or_default();
    if tenant != medius.options.tenant {
        return Err(ApiError::not_found(format!(
            "Tenant '{tenant}' was not found"
        )));
    }
    Ok(next.run(request).await)
}

/// `POST /<tenant>/api/connect/token` with `grant_type=client_credentials`, `client_id`,
/// `client_secret` and `scope=Integration`, form-encoded as OAuth requires (a JSON body is a
/// 400). Another grant or scope is a 400; wrong credentials a 401.
pub(super) async fn token(
    State(medius): State<Arc<Medius>>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let Form(form) = Form::<HashMap<String, String>>::from_request(request, &())
        .await
        .map_err(|rejection| {
            ApiError::bad_request(format!(
                "The token request must be form-encoded: {}",
                rejection.body_text()
            ))
        })?;
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return Err(ApiError::bad_request("unsupported_grant_type"));
    }
    if !field("scope").split(' ').any(|s| s == SCOPE) {
        return Err(ApiError::bad_request(format!(
            "invalid_scope: request the scope {SCOPE}"
        )));
    }
    let options = &medius.options;
    if field("client_id") != options.client_id || field("client_secret") != options.client_secret {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client"));
    }
    let access_token = medius.db().tokens.issue(options.token_ttl);
    Ok(Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": options.token_ttl.as_secs(),
    })))
}

/// Middleware on every API route: a live bearer token or ASP.NET's 401.
pub(super) async fn require_bearer(
    State(medius): State<Arc<Medius>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let live = tokens::bearer(request.headers()).is_some_and(|t| medius.db().tokens.check(t));
    if !live {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        ));
    }
    Ok(next.run(request).await)
}
