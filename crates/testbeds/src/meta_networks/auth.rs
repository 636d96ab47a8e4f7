//! OAuth2 client credentials: `POST /v1/oauth/token` hands out bearer tokens that every other
//! `/v1` route requires, until they expire.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::ApiError;
use super::Meta;
use crate::extract::JsonBody;
use crate::{random, tokens};

/// How long a refresh token is said to live. No refresh grant is served (the gateway gets a
/// new token with its client credentials), so this is only reported.
const REFRESH_TTL: Duration = Duration::from_secs(24 * 3600);

/// The token request body. `scope` (`org:<org>`) is optional and accepted as is: there is one
/// organisation per testbed.
#[derive(Deserialize)]
pub(super) struct TokenRequest {
    grant_type: String,
    client_id: String,
    client_secret: String,
}

/// `POST /v1/oauth/token`. A grant other than client credentials is a 400
/// `unsupported_grant_type`; wrong credentials a 401 `invalid_client`.
pub(super) async fn token(
    State(meta): State<Arc<Meta>>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Json<Value>, ApiError> {
    if request.grant_type != "client_credentials" {
        return Err(ApiError::bad_request(
            "unsupported_grant_type",
            format!(
                "grant_type {:?} is not supported; use client_credentials",
                request.grant_type
            ),
        ));
    }
    let options = &meta.options;
    if request.client_id != options.client_id || request.client_secret != options.client_secret {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id or wrong client_secret",
        ));
    }
    let access_token = meta.db().tokens.issue(options.token_ttl);
    Ok(Json(json!({
        "access_token": access_token,
        "expires_in": options.token_ttl.as_secs(),
        "refresh_token": random::alphanumeric(40),
        "refresh_expires_in": REFRESH_TTL.as_secs(),
        "token_type": "bearer",
    })))
}

/// Middleware on every protected route: a live `Authorization: Bearer <token>` or 401
/// `invalid_token`, before the request body is even read.
pub(super) async fn require_bearer(
    State(meta): State<Arc<Meta>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let live = tokens::bearer(request.headers()).map(|token| meta.db().tokens.check(token));
    let unauthorized = |message| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", message);
    match live {
        None => Err(unauthorized("missing bearer token")),
        Some(false) => Err(unauthorized("the access token is invalid or expired")),
        Some(true) => Ok(next.run(request).await),
    }
}
