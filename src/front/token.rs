//! A tenant's OAuth 2.0 token endpoint (`<route>/oauth/token`): client credentials in,
//! a short-lived access token out, answered as RFC 6749 §5 says (JSON, `no-store`).

use super::{observe, respond, RequestCtx};
use crate::auth::{parse_token_request, Method, TokenRefusal};
use crate::body;
use crate::failure::{Failure, Kind, Reason};
use crate::gateway::Gateway;
use crate::metrics;
use crate::scim_api::Operation;
use crate::tenant::TokenEndpoint;
use pingora::prelude::*;
use pingora::proxy::Session;
use scimitar_scim::ScimError;

/// A token request is a short form; anything longer is not one.
const MAX_TOKEN_REQUEST_BYTES: usize = 8 * 1024;

const OPERATION: Operation = Operation {
    resource: "oauth",
    name: "token",
};

pub async fn answer(
    gateway: &Gateway,
    session: &mut Session,
    ctx: &mut RequestCtx,
    endpoint: TokenEndpoint,
) -> Result<()> {
    ctx.operation = OPERATION;
    // Until the client id tells which, the request is filed under the first tenant.
    let first = endpoint.tenants[0].clone();
    ctx.tenant = Some(first.name.clone());
    match grant(gateway, session, ctx, endpoint).await {
        Ok(Granted { tenant, token }) => {
            ctx.tenant = Some(tenant.clone());
            count(&tenant, "accepted");
            let body = serde_json::json!({
                "access_token": token.token,
                "token_type": "Bearer",
                "expires_in": token.expires_in,
            });
            respond::write_oauth(session, 200, &body, None).await
        }
        Err(Refusal::OAuth(refusal)) => {
            count(ctx.tenant.as_deref().unwrap_or_default(), refusal.reason());
            let failure = match &refusal {
                TokenRefusal::InvalidClient { .. } => Failure::refused(
                    Reason::Unauthorized,
                    ScimError::unauthorized("unknown client or wrong secret"),
                ),
                other => Failure::new(Kind::Protocol, ScimError::invalid_syntax(other.reason())),
            };
            observe::failed(ctx, failure);
            let challenge = match refusal {
                TokenRefusal::InvalidClient { basic: true } => Some("Basic realm=\"scimitar\""),
                _ => None,
            };
            respond::write_oauth(session, refusal.status(), &refusal.body(), challenge).await
        }
        Err(Refusal::Gateway(failure)) => {
            let response = observe::failed(ctx, failure);
            respond::write(session, response).await
        }
    }
}

struct Granted {
    tenant: String,
    token: crate::auth::AccessToken,
}

enum Refusal {
    /// Refused as RFC 6749 says, in its JSON.
    OAuth(TokenRefusal),
    /// Refused by the gateway's own limits (rate, body, store), in SCIM's.
    Gateway(Failure),
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        Refusal::Gateway(failure)
    }
}

async fn grant(
    gateway: &Gateway,
    session: &mut Session,
    ctx: &RequestCtx,
    endpoint: TokenEndpoint,
) -> Result<Granted, Refusal> {
    // Each guess at a secret costs the caller a request of the tenant's rate.
    endpoint.tenants[0].protection.check_rate()?;
    if session.req_header().method != http::Method::POST {
        return Err(Refusal::OAuth(TokenRefusal::InvalidRequest(
            "a token request is a POST".to_string(),
        )));
    }
    let header_text = |name| {
        session
            .req_header()
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header_text(http::header::CONTENT_TYPE);
    let authorization = header_text(http::header::AUTHORIZATION);
    let form = body::read_limited(
        session,
        MAX_TOKEN_REQUEST_BYTES,
        body::deadline(gateway, ctx.started),
    )
    .await?;
    let client = parse_token_request(content_type.as_deref(), authorization.as_deref(), &form)
        .map_err(Refusal::OAuth)?;
    for tenant in &endpoint.tenants {
        let Some(issuer) = tenant.auth.token_issuer() else {
            continue;
        };
        let granted = issuer
            .grant(&tenant.name, &client, &gateway.store)
            .await
            .map_err(|e| {
                tracing::warn!(tenant = %tenant.name, error = %e, "cannot store an access token");
                Failure::store_down()
            })?;
        if let Some(token) = granted {
            return Ok(Granted {
                tenant: tenant.name.clone(),
                token,
            });
        }
    }
    Err(Refusal::OAuth(TokenRefusal::InvalidClient {
        basic: client.basic,
    }))
}

fn count(tenant: &str, result: &str) {
    metrics::AUTHENTICATIONS
        .with_label_values(&[tenant, Method::ClientCredentials.label(), result])
        .inc();
}
