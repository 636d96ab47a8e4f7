//! The front door: a pingora HTTP service that routes, authenticates, protects and hands
//! each SCIM request to the SCIM layer.
//!
//! It is a pingora `ProxyHttp` so that both adapter modes live in one service: translate
//! tenants are answered entirely in `request_filter`; proxy tenants (a SCIM-speaking
//! target) will continue to `upstream_peer` and the body filters.

mod body;
mod respond;

use crate::auth::bearer_token;
use crate::gateway::{Gateway, Invocation};
use crate::metrics;
use crate::scim_api::{self, Endpoint, Operation, ScimRequest, ScimResponse};
use crate::tenant::Routing;
use async_trait::async_trait;
use pingora::prelude::*;
use pingora::proxy::{ProxyHttp, Session};
use scimitar_scim::ScimError;
use std::sync::Arc;
use std::time::Instant;

pub struct ScimFront {
    gateway: Arc<Gateway>,
}

impl ScimFront {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }
}

/// Per-request state, kept for the `logging` phase.
pub struct RequestCtx {
    started: Instant,
    tenant: Option<String>,
    operation: Operation,
}

#[async_trait]
impl ProxyHttp for ScimFront {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            tenant: None,
            operation: Operation::UNKNOWN,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        metrics::IN_FLIGHT.inc();
        let response = self
            .answer(session, ctx)
            .await
            .unwrap_or_else(ScimResponse::from);
        respond::write(session, response).await?;
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        // Every translate-mode request was answered in `request_filter`.
        Err(Error::explain(HTTPStatus(502), "no tenant in proxy mode"))
    }

    async fn logging(
        &self,
        session: &mut Session,
        _error: Option<&pingora::Error>,
        ctx: &mut RequestCtx,
    ) {
        metrics::IN_FLIGHT.dec();
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let tenant = ctx.tenant.as_deref().unwrap_or("none");
        let op = ctx.operation;
        let elapsed = ctx.started.elapsed();
        metrics::REQUESTS
            .with_label_values(&[tenant, op.resource, op.name, &status.to_string()])
            .inc();
        metrics::REQUEST_DURATION
            .with_label_values(&[tenant, op.resource, op.name])
            .observe(elapsed.as_secs_f64());
        tracing::info!(
            tenant,
            resource = op.resource,
            operation = op.name,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "scim request"
        );
    }
}

impl ScimFront {
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<ScimResponse, ScimError> {
        let header = session.req_header();
        let path = header.uri.path().to_string();
        let query = header.uri.query().unwrap_or_default().to_string();
        let method = header.method.clone();
        let host = header.uri.host().map(str::to_string).or_else(|| {
            header
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        });

        let token = header
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        let (tenant, route) = match self.gateway.tenants.route(host.as_deref(), &path, token) {
            Routing::Tenant(tenant, route) => (tenant, route),
            Routing::Unauthorized => {
                return Err(ScimError::unauthorized(
                    "a valid bearer token for this tenant is required",
                ))
            }
            Routing::NoTenant => {
                return Err(ScimError::not_found("no tenant is configured at this path"))
            }
        };
        ctx.tenant = Some(tenant.name.clone());
        let endpoint = Endpoint::parse(&route.rest);
        ctx.operation = Operation::of(&method, endpoint.as_ref());

        let body = body::read_limited(session, self.gateway.limits.max_body_bytes).await?;
        let base_url = format!(
            "http://{}{}",
            host.as_deref().unwrap_or("localhost"),
            route.base
        );
        let request = ScimRequest {
            method,
            query,
            body,
            base_url,
        };
        let deadline = ctx.started + self.gateway.request_timeout();
        let call = Invocation {
            gateway: &self.gateway,
            tenant: &tenant,
            route_params: &route.params,
            deadline,
        };
        tokio::time::timeout_at(deadline.into(), scim_api::handle(call, endpoint, &request))
            .await
            .map_err(|_| {
                ScimError::new(504, None, "the request did not finish before its deadline")
            })
    }
}
