//! The front door: a pingora HTTP service that routes, authenticates and protects every
//! request, then either answers it through the tenant's adapter (translate mode) or proxies
//! it to the tenant's SCIM target (proxy mode).
//!
//! Both modes live in one pingora `ProxyHttp`: translate tenants are answered entirely in
//! `request_filter`; proxy tenants continue to `upstream_peer`, the upstream filters and the
//! body filters, where their hooks run.

mod connection;
mod observe;
mod respond;
mod token;
mod translate;

use crate::auth::bearer_token;
use crate::body;
use crate::failure::{Failure, Reason};
use crate::gateway::Gateway;
use crate::metrics;
use crate::provisioning::CallLog;
use crate::proxy::phases::{self, ProxyState};
use crate::public_url::{Arrival, Origin};
use crate::scim_api::{Endpoint, Operation};
use crate::tenant::{RouteMatch, Routing, Tenant, TokenEndpoint, TOKEN_PATH};
use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::Peer;
use scimitar_scim::ScimError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use connection::Guarded;

pub struct ScimFront {
    gateway: Arc<Gateway>,
}

impl ScimFront {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }
}

/// Per-request state, kept for the later phases and `logging`.
pub struct RequestCtx {
    started: Instant,
    tenant: Option<String>,
    operation: Operation,
    /// Present when the request is being proxied.
    proxy: Option<ProxyState>,
    /// For the provisioning log: calls to the target, the resource and who it is about,
    /// and what went wrong.
    calls: CallLog,
    /// The tenant's concurrency slot: given back as soon as the request's work is done,
    /// before its answer goes out, so that a client sending its next request the moment it
    /// reads the answer never finds the slot still taken.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
    scim_id: Option<String>,
    subject: Option<String>,
    /// Why the request failed, when the gateway answered a failure (see `observe`).
    failure: Option<Failure>,
    /// Counted in flight (pingora may log a request it never handed to `request_filter`).
    in_flight: bool,
}

#[async_trait]
impl ProxyHttp for ScimFront {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            tenant: None,
            operation: Operation::UNKNOWN,
            proxy: None,
            calls: CallLog::default(),
            slot: None,
            scim_id: None,
            subject: None,
            failure: None,
            in_flight: false,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        metrics::IN_FLIGHT.inc();
        ctx.in_flight = true;
        if !self.gateway.request_started() {
            let refusal = Failure::refused(
                Reason::ShuttingDown,
                ScimError::unavailable(None, "the gateway is shutting down; retry"),
            );
            let response = observe::failed(ctx, refusal);
            respond::write_and_close(session, response).await?;
            return Ok(true);
        }
        // Requests written back to back on one connection are answered in turn.
        session.set_pipelining_enabled(true);
        let outcome = self.admit(session, ctx).await;
        if outcome.is_ok() {
            body::continue_if_expected(session).await?;
        }
        let answered = match outcome {
            Ok(Admission::TokenRequest(endpoint)) => {
                token::answer(&self.gateway, session, ctx, endpoint).await?;
                return Ok(true);
            }
            Ok(Admission::Scim(admitted)) => match admitted.tenant.mode.proxy_target().cloned() {
                Some(target) => match self.start_proxy(session, ctx, admitted, target).await {
                    Ok(state) => {
                        ctx.proxy = Some(state);
                        return Ok(false);
                    }
                    Err(failure) => Err(failure),
                },
                None => translate::answer(&self.gateway, session, ctx, admitted).await,
            },
            Err(failure) => Err(failure),
        };
        ctx.slot = None;
        let response = match answered {
            Ok(response) => observe::succeeded(ctx, response),
            Err(failure) => observe::failed(ctx, failure),
        };
        respond::write(session, response).await?;
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let state = ctx
            .proxy
            .as_mut()
            .ok_or_else(|| Error::explain(InternalError, "not a proxied request"))?;
        let peer = state
            .target
            .select(&state.tried)
            .ok_or_else(|| Error::explain(HTTPStatus(503), "no healthy upstream"))?;
        state.peer = Some(peer.address().to_string());
        Ok(peer)
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        if let Some(state) = ctx.proxy.as_mut() {
            state.tried.push(peer.address().clone());
            let addresses = state.target.address_count();
            // Nothing reached the target yet: another address is safe to try.
            if state.tried.len() < addresses {
                tracing::warn!(tenant = %state.tenant.name, peer = %peer.address(), "upstream unreachable, failing over");
                e.set_retry(true);
            }
        }
        e
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        match ctx.proxy.as_mut() {
            Some(state) => phases::upstream_head(state, upstream).await,
            None => Ok(()),
        }
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let started = ctx.started;
        match ctx.proxy.as_mut() {
            Some(state) => {
                phases::request_body(&self.gateway, state, started, body, end_of_stream).await
            }
            None => Ok(()),
        }
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        upstream: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(state) = ctx.proxy.as_mut() {
            let status = upstream.status.as_u16();
            state.upstream_status = Some(status);
            if status == 401 {
                // The target refused our (cached) token: the next request fetches a new one.
                let client = state.tenant.upstream.clone();
                self.gateway
                    .scripts
                    .io()
                    .spawn(async move { client.token_refused().await });
            }
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let started = ctx.started;
        let client_version = session.req_header().version;
        match ctx.proxy.as_mut() {
            Some(state) => {
                phases::response_head(&self.gateway, state, started, client_version, response).await
            }
            None => Ok(()),
        }
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<Option<Duration>> {
        let started = ctx.started;
        if let Some(state) = ctx.proxy.as_mut() {
            phases::response_body(&self.gateway, state, started, body, end_of_stream)?;
        }
        if end_of_stream {
            ctx.slot = None;
        }
        Ok(None)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        ctx.slot = None;
        let response = observe::failed(ctx, phases::failure_of(e));
        let status = response.status;
        // A `100 Continue` may have gone out; the final answer has not.
        if session
            .response_written()
            .is_none_or(|r| r.status.is_informational())
        {
            if let Err(write_error) = respond::write_and_close(session, response).await {
                tracing::debug!(error = %write_error, "could not send the error response");
            }
        }
        FailToProxy {
            error_code: status,
            can_reuse_downstream: false,
        }
    }

    async fn logging(
        &self,
        session: &mut Session,
        _error: Option<&pingora::Error>,
        ctx: &mut RequestCtx,
    ) {
        observe::finished(&self.gateway, session, ctx);
    }
}

/// Takes one of the tenant's concurrency slots for the request, held in `ctx` until its
/// work is done.
fn hold_slot(ctx: &mut RequestCtx, tenant: &Tenant) -> Result<(), Failure> {
    ctx.slot = tenant.protection.take_slot()?;
    Ok(())
}

/// Why a request path cannot be taken as it is, if it cannot: dot segments (which every URL
/// resolver on the way would remove, reaching another endpoint) and encoded slashes (which
/// some servers decode into path separators).
fn unaddressable(path: &str) -> Option<&'static str> {
    if crate::upstream::dot_segment(path).is_some() {
        return Some("has a `.` or `..` segment");
    }
    let encoded_slash = path.as_bytes().windows(3).any(|w| {
        w[0] == b'%' && (w[1..].eq_ignore_ascii_case(b"2f") || w[1..].eq_ignore_ascii_case(b"5c"))
    });
    if encoded_slash || path.contains('\\') {
        return Some("has an encoded slash or a backslash");
    }
    None
}

/// The address of the connection's other end (a proxy's, behind one).
fn peer_address(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}

/// 403 for a client outside the allowed networks.
fn network_refused() -> Failure {
    Failure::refused(
        Reason::NetworkNotAllowed,
        ScimError::new(
            403,
            None,
            "this client's address may not call this endpoint",
        ),
    )
}

/// A request routed to its tenant and let in.
/// What an admitted request is.
enum Admission {
    Scim(Admitted),
    /// A token request to a tenant's OAuth token endpoint.
    TokenRequest(TokenEndpoint),
}

pub struct Admitted {
    tenant: Arc<Tenant>,
    route: RouteMatch,
    /// `scheme://authority[/prefix]` of the gateway as the client reaches it.
    origin: Origin,
    /// The SCIM endpoint the path names, if any.
    endpoint: Option<Endpoint>,
}

impl ScimFront {
    /// The address the request comes from (see `PublicUrl::client_address`).
    fn client_address(&self, session: &Session, peer: Option<IpAddr>) -> Option<IpAddr> {
        let forwarded_for = session
            .req_header()
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        self.gateway.public_url.client_address(peer, forwarded_for)
    }

    /// The gateway's public origin for this request (see `crate::public_url`).
    fn origin(&self, session: &Session, peer: Option<IpAddr>) -> Origin {
        let header = session.req_header();
        let value = |name: &str| header.headers.get(name).and_then(|v| v.to_str().ok());
        self.gateway.public_url.origin(&Arrival {
            peer,
            local: session.server_addr().and_then(|a| a.as_inet()).copied(),
            forwarded_proto: value("x-forwarded-proto"),
            forwarded_host: value("x-forwarded-host"),
        })
    }

    /// A proxied request up to its upstream phases: its body first (when small), then a
    /// concurrency slot — so that a slow sender holds none — then the header phase's hooks.
    async fn start_proxy(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        admitted: Admitted,
        target: Arc<crate::proxy::ProxyTarget>,
    ) -> Result<ProxyState, Failure> {
        let early_body = phases::receive_small_body(&self.gateway, session, ctx.started).await?;
        hold_slot(ctx, &admitted.tenant)?;
        let request = phases::Arriving {
            tenant: admitted.tenant,
            target,
            route: admitted.route,
            origin: admitted.origin,
            early_body,
        };
        phases::prepare(
            &self.gateway,
            session,
            ctx.started,
            request,
            ctx.calls.clone(),
        )
        .await
    }

    /// Route, authenticate and protect: the tenant this request is for, and what it asks.
    async fn admit(&self, session: &Session, ctx: &mut RequestCtx) -> Result<Admission, Failure> {
        let header = session.req_header();
        // Who may call at all comes before any other work on the request.
        let peer = peer_address(session);
        let client = self.client_address(session, peer);
        if !crate::config::admits(&self.gateway.allowed_networks, client) {
            return Err(network_refused());
        }
        let path = header.uri.path().to_string();
        if let Some(why) = unaddressable(&path) {
            return Err(Failure::refused(
                Reason::BadPath,
                ScimError::invalid_syntax(format!(
                    "the request path {why}; no SCIM resource is addressed that way"
                )),
            ));
        }
        let host = header.uri.host().map(str::to_string).or_else(|| {
            header
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        });
        let tenants = self.gateway.tenants();
        if path.ends_with(TOKEN_PATH) {
            let endpoint = tenants.token_endpoint(host.as_deref(), &path, client);
            if !endpoint.tenants.is_empty() {
                return Ok(Admission::TokenRequest(endpoint));
            }
            if let Some(owner) = endpoint.refused {
                ctx.tenant = Some(owner);
                return Err(network_refused());
            }
        }
        let token = header
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        let routing = tenants
            .route(host.as_deref(), &path, token, client, &self.gateway.store)
            .await?;
        let (tenant, route) = match routing {
            Routing::Tenant(tenant, route) => (tenant, route),
            Routing::NetworkRefused(owner) => {
                ctx.tenant = Some(owner);
                return Err(network_refused());
            }
            Routing::Unauthorized(owner, method, why) => {
                tracing::debug!(tenant = %owner, method = method.label(), why, "credentials refused");
                ctx.tenant = Some(owner);
                return Err(Failure::refused(
                    Reason::Unauthorized,
                    ScimError::unauthorized("a valid bearer token for this tenant is required"),
                ));
            }
            Routing::NoTenant => {
                return Err(Failure::refused(
                    Reason::UnknownTenant,
                    ScimError::not_found("no tenant is configured at this path"),
                ));
            }
        };
        ctx.tenant = Some(tenant.name.clone());
        tenant.protection.check_rate()?;
        let endpoint = Endpoint::parse(&route.rest);
        ctx.operation = Operation::of(&header.method, endpoint.as_ref());
        if let Some(Endpoint::Resource(_, id)) = &endpoint {
            ctx.scim_id = Some(id.clone());
        }
        Ok(Admission::Scim(Admitted {
            tenant,
            route,
            origin: self.origin(session, peer),
            endpoint,
        }))
    }
}
