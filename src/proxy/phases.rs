//! Proxy mode, phase by phase: pingora proxies to the tenant's SCIM target while the
//! tenant's hooks ([`super::hooks`]) rewrite what passes. The front door
//! (`crate::front`) calls each phase from its own pingora phase of the same name.

use super::hooks::{self, ProxiedRequest};
use super::ProxyTarget;
use crate::failure::Failure;
use crate::gateway::{Gateway, Invocation};
use crate::provisioning::CallLog;
use crate::public_url::Origin;
use crate::tenant::{RouteMatch, Tenant};
use bytes::{Bytes, BytesMut};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::proxy::Session;
use rhai::Dynamic;
use scimitar_scim::ScimError;
use std::sync::Arc;
use std::time::Instant;

/// pingora's retry buffer (`BODY_BUF_LIMIT`): bodies up to this size can be rewritten
/// before the upstream request's head is written.
const RETRY_BUFFER_BYTES: usize = 64 * 1024;

/// Headers that describe one hop's connection or body framing: pingora sets them itself.
const HOP_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    // The gateway answered the client's `Expect: 100-continue` itself.
    "expect",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How the client's body goes to the target.
enum RequestBody {
    /// As it comes (no body hook, or no body).
    Stream,
    /// Read whole in the header phase (small enough for pingora's retry buffer), rewritten
    /// by `on_request_body` if there is one: sent with an exact `Content-Length` (HTTP/1.0
    /// servers cannot read chunked bodies) in place of the one pingora replays.
    Prepared(Bytes),
    /// `on_request_body` on a large body: held back here until whole, then sent chunked.
    HeldBack(BytesMut),
}

struct HeldResponse {
    head: serde_json::Value,
    body: BytesMut,
}

/// What a proxied request carries through pingora's phases.
pub struct ProxyState {
    pub tenant: Arc<Tenant>,
    /// The tenant's SCIM target.
    pub target: Arc<ProxyTarget>,
    route: RouteMatch,
    request: ProxiedRequest,
    /// The tenant's SCIM base as the client sees it (for `Location`).
    public_base: String,
    /// Addresses already tried (failover skips them).
    pub tried: Vec<SocketAddr>,
    request_body: RequestBody,
    /// With `on_response_body`: the answer's head as the hooks saw it, and its body held
    /// back until whole.
    held_response: Option<HeldResponse>,
    body_bytes: usize,
    /// When the client's body must have arrived.
    body_deadline: Instant,
    /// Bytes of the target's response body so far (capped at `max_response_bytes`).
    response_bytes: usize,
    pub upstream_started: Option<Instant>,
    pub upstream_status: Option<u16>,
    pub peer: Option<String>,
    calls: CallLog,
}

impl ProxyState {
    fn invocation<'a>(&'a self, gateway: &'a Gateway, ctx_started: Instant) -> Invocation<'a> {
        let deadline = ctx_started + gateway.request_timeout();
        Invocation {
            gateway,
            tenant: &self.tenant,
            route_params: &self.route.params,
            deadline,
            calls: &self.calls,
            locks: gateway.request_locks(&self.tenant.name, deadline),
            projection: Default::default(),
        }
    }

    /// The path the request went to on the target (no query: it may carry secrets).
    pub fn upstream_path(&self) -> &str {
        &self.request.path
    }

    fn has_hook(&self, name: &str, arity: usize) -> bool {
        self.tenant.adapter.defines(name, arity)
    }
}

/// A body small enough for pingora's retry buffer, read whole before the request takes a
/// concurrency slot (pingora replays it upstream); `None` for no body or a large one, which
/// streams (and is cut at the body deadline).
pub async fn receive_small_body(
    gateway: &Gateway,
    session: &mut Session,
    started: Instant,
) -> Result<Option<Bytes>, Failure> {
    let declared = crate::body::declared_length(session);
    if declared.is_some_and(|len| len > gateway.limits.max_body_bytes) {
        return Err(crate::body::body_too_large(gateway.limits.max_body_bytes));
    }
    if !declared.is_some_and(|len| len > 0 && len <= RETRY_BUFFER_BYTES) {
        return Ok(None);
    }
    session.as_downstream_mut().enable_retry_buffering();
    let deadline = crate::body::deadline(gateway, started);
    let body = crate::body::read_limited(session, gateway.limits.max_body_bytes, deadline).await?;
    Ok(Some(body))
}

/// A proxied request as it arrived: its tenant, route, the gateway's public origin, and its
/// body when it was small enough to be read before the request went on.
pub struct Arriving {
    pub tenant: Arc<Tenant>,
    pub target: Arc<ProxyTarget>,
    pub route: RouteMatch,
    pub origin: Origin,
    pub early_body: Option<Bytes>,
}

/// Header phase: builds the upstream request and runs `on_request` (and `on_request_body`
/// on a body read early). An error is answered locally and the request goes no further.
pub async fn prepare(
    gateway: &Gateway,
    session: &mut Session,
    started: Instant,
    arriving: Arriving,
    calls: CallLog,
) -> Result<ProxyState, Failure> {
    let Arriving {
        tenant,
        target,
        route,
        origin,
        early_body,
    } = arriving;
    let declared = crate::body::declared_length(session);
    // pingora streams the body to the target: each read may wait at most until the body
    // deadline (its own read timeout restarts with every byte).
    let body_deadline = crate::body::deadline(gateway, started);
    session.set_read_timeout(Some(
        body_deadline.saturating_duration_since(Instant::now()),
    ));
    let header = session.req_header();
    // The standard proxy headers, so that a target can build its own URLs for the client:
    // the gateway's public origin, never the client's `Host`.
    let mut forwarded: Vec<(String, String)> = vec![
        (
            "x-forwarded-host".to_string(),
            origin.authority().to_string(),
        ),
        ("x-forwarded-proto".to_string(), origin.scheme().to_string()),
    ];
    if let Some(client) = session.client_addr().and_then(|a| a.as_inet()) {
        forwarded.push(("x-forwarded-for".to_string(), client.ip().to_string()));
    }
    let request = ProxiedRequest {
        method: header.method.to_string(),
        path: target.path_for(&route.rest, &route.params),
        scim_path: route.rest.clone(),
        query: header.uri.query().unwrap_or_default().to_string(),
        headers: header
            .headers
            .iter()
            .filter(|(name, _)| !HOP_HEADERS.contains(&name.as_str()))
            .filter(|(name, _)| !name.as_str().starts_with("x-forwarded-"))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .chain(forwarded)
            .collect(),
    };
    let public_base = format!("{origin}{}", route.base);
    let mut state = ProxyState {
        tenant,
        target,
        route,
        request,
        public_base,
        tried: Vec::new(),
        request_body: RequestBody::Stream,
        held_response: None,
        body_bytes: 0,
        response_bytes: 0,
        body_deadline,
        upstream_started: None,
        upstream_status: None,
        peer: None,
        calls,
    };
    if state.has_hook(hooks::ON_REQUEST, 1) {
        let argument = crate::adapter::json_to_dynamic(&state.request.to_json());
        let changed = state
            .invocation(gateway, started)
            .call(hooks::ON_REQUEST, vec![argument])
            .await?;
        if !changed.is_null() {
            state
                .request
                .update(&changed)
                .map_err(Failure::script_fault)?;
        }
    }
    // pingora replays a body it buffered for retries through `request_body_filter`, which
    // is where the prepared one (rewritten by the hook, or as it came) takes its place.
    let body_hook = state.has_hook(hooks::ON_REQUEST_BODY, 2);
    match early_body {
        Some(whole) if body_hook => {
            state.request_body = RequestBody::Prepared(
                run_request_body_hook(gateway, &state, started, whole).await?,
            );
        }
        Some(whole) => state.request_body = RequestBody::Prepared(whole),
        None if body_hook && declared.is_some_and(|len| len > 0) => {
            state.request_body = RequestBody::HeldBack(BytesMut::new());
        }
        None => {}
    }
    if state.has_hook(hooks::ON_RESPONSE_BODY, 3) {
        state.held_response = Some(HeldResponse {
            head: serde_json::Value::Null,
            body: BytesMut::new(),
        });
    }
    Ok(state)
}

/// The upstream request head: method, path, the gateway's credentials instead of the
/// client's, the target's `Host`, and chunked framing when the body will be rewritten.
pub async fn upstream_head(state: &mut ProxyState, upstream: &mut RequestHeader) -> Result<()> {
    let method = http::Method::from_bytes(state.request.method.as_bytes())
        .map_err(|_| Error::explain(InternalError, "on_request set an invalid method"))?;
    let uri: http::Uri = state
        .request
        .path_and_query()
        .parse()
        .map_err(|_| Error::explain(InternalError, "on_request set an invalid path"))?;
    upstream.set_method(method);
    upstream.set_uri(uri);
    let names: Vec<http::HeaderName> = upstream.headers.keys().cloned().collect();
    for name in names
        .iter()
        .filter(|n| !matches!(n.as_str(), "content-length" | "transfer-encoding"))
    {
        upstream.remove_header(name);
    }
    for (name, value) in &state.request.headers {
        upstream.insert_header(name.clone(), value.as_str())?;
    }
    upstream.insert_header(http::header::HOST, state.target.host_header())?;
    // Usually a cached token; the rare fetch runs right here on pingora's runtime.
    match state.tenant.upstream.credential_header().await {
        Ok(Some((name, value))) => upstream.insert_header(name, value)?,
        Ok(None) => {}
        Err(failure) => return Err(fail_locally(failure)),
    }
    match &state.request_body {
        RequestBody::Prepared(prepared) => {
            upstream.remove_header(&http::header::TRANSFER_ENCODING);
            upstream.insert_header(http::header::CONTENT_LENGTH, prepared.len().to_string())?;
        }
        RequestBody::HeldBack(_) if upstream.headers.contains_key(http::header::CONTENT_LENGTH) => {
            upstream.remove_header(&http::header::CONTENT_LENGTH);
            upstream.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
        }
        RequestBody::HeldBack(_) | RequestBody::Stream => {}
    }
    state.upstream_started = Some(Instant::now());
    Ok(())
}

/// Request body phase: enforces the size limit; with `on_request_body`, holds the body
/// back until it is whole and sends what the hook returns.
pub async fn request_body(
    gateway: &Gateway,
    state: &mut ProxyState,
    started: Instant,
    body: &mut Option<Bytes>,
    end_of_stream: bool,
) -> Result<()> {
    if let RequestBody::Prepared(prepared) = &mut state.request_body {
        // The replayed original (or nothing) gives way to the body prepared earlier; what
        // pingora sends after it (nothing) streams.
        *body = Some(std::mem::take(prepared));
        state.request_body = RequestBody::Stream;
        return Ok(());
    }
    if !end_of_stream && Instant::now() > state.body_deadline {
        return Err(fail_locally(crate::body::body_too_slow()));
    }
    if let Some(chunk) = body.as_ref() {
        state.body_bytes += chunk.len();
        let limit = gateway.limits.max_body_bytes;
        if state.body_bytes > limit {
            return Err(fail_locally(crate::body::body_too_large(limit)));
        }
    }
    let RequestBody::HeldBack(buffer) = &mut state.request_body else {
        return Ok(());
    };
    if let Some(chunk) = body.as_mut() {
        // An empty chunk holds the body back; `None` would tell pingora the body ended.
        buffer.extend_from_slice(&std::mem::take(chunk));
    }
    if !end_of_stream {
        return Ok(());
    }
    let whole = std::mem::take(buffer).freeze();
    match run_request_body_hook(gateway, state, started, whole).await {
        Ok(rewritten) => *body = Some(rewritten),
        Err(failure) => return Err(fail_locally(failure)),
    }
    Ok(())
}

/// `on_request_body(req, body)`: what it returns, or the body as it was for `()`.
async fn run_request_body_hook(
    gateway: &Gateway,
    state: &ProxyState,
    started: Instant,
    whole: Bytes,
) -> Result<Bytes, Failure> {
    let arguments = vec![
        crate::adapter::json_to_dynamic(&state.request.to_json()),
        crate::adapter::json_to_dynamic(&hooks::body_json(&whole)),
    ];
    let value = state
        .invocation(gateway, started)
        .call(hooks::ON_REQUEST_BODY, arguments)
        .await?;
    Ok(if value.is_null() {
        whole
    } else {
        hooks::body_bytes(&value)
    })
}

/// Response head phase: `on_response` may change status and headers; a body that will be
/// rewritten is sent chunked.
pub async fn response_head(
    gateway: &Gateway,
    state: &mut ProxyState,
    started: Instant,
    client_version: http::Version,
    response: &mut ResponseHeader,
) -> Result<()> {
    refuse_unsafe_answer(state, response)?;
    // The hooks see the head as the target sent it; without hooks nothing needs a copy.
    let on_response = state.has_hook(hooks::ON_RESPONSE, 2);
    let hooked = on_response || state.held_response.is_some();
    let headers: Vec<(String, String)> = if hooked {
        response
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect()
    } else {
        Vec::new()
    };
    rewrite_location(state, response)?;
    let mut head = if hooked {
        hooks::response_json(response.status.as_u16(), &headers)
    } else {
        serde_json::Value::Null
    };
    if on_response {
        let arguments = vec![
            crate::adapter::json_to_dynamic(&state.request.to_json()),
            crate::adapter::json_to_dynamic(&head),
        ];
        let changed = match state
            .invocation(gateway, started)
            .call(hooks::ON_RESPONSE, arguments)
            .await
        {
            Ok(changed) => changed,
            Err(failure) => return Err(fail_locally(failure)),
        };
        if !changed.is_null() {
            let (status, new_headers) = hooks::response_update(&changed)
                .map_err(|e| fail_locally(Failure::script_fault(e)))?;
            if let Some(status) = status {
                response.set_status(status)?;
            }
            if let Some(new_headers) = new_headers {
                let names: Vec<http::HeaderName> = response.headers.keys().cloned().collect();
                for name in names.iter().filter(|n| !HOP_HEADERS.contains(&n.as_str())) {
                    response.remove_header(name);
                }
                for (name, value) in new_headers
                    .into_iter()
                    .filter(|(n, _)| !HOP_HEADERS.contains(&n.as_str()))
                {
                    response.insert_header(name, value)?;
                }
            }
            head = hooks::response_json(response.status.as_u16(), &headers);
        }
    }
    if let Some(held) = state.held_response.as_mut() {
        held.head = head;
    }
    let status = response.status.as_u16();
    if !response.headers.contains_key(http::header::RETRY_AFTER) {
        if let Some(secs) = crate::scim_api::retry_after_for(status, None) {
            // The target throttles or fails without saying when to come back: Entra still
            // learns when to retry, as with every 429/503 the gateway answers.
            response.insert_header(http::header::RETRY_AFTER, secs.to_string())?;
        }
    }
    if state.held_response.is_some() {
        // The rewritten body's length is unknown until it is whole: send it chunked, which
        // needs HTTP/1.1 towards the client even when the target spoke HTTP/1.0.
        response.remove_header(&http::header::CONTENT_LENGTH);
        if client_version >= http::Version::HTTP_11 {
            response.set_version(http::Version::HTTP_11);
            response.insert_header(http::header::TRANSFER_ENCODING, "chunked")?;
        }
    }
    Ok(())
}

/// A redirect is not passed on (the client would follow it with its own credentials to a
/// host the tenant never allowed, or take it for an answer), nor a body declared larger
/// than the tenant takes: both become a SCIM 502 before anything reaches the client.
fn refuse_unsafe_answer(state: &ProxyState, response: &ResponseHeader) -> Result<()> {
    let status = response.status.as_u16();
    let limit = state.tenant.upstream.max_response_bytes();
    let refusal = if crate::upstream::is_redirect(status) {
        Some((
            "redirect",
            ScimError::new(
                502,
                None,
                format!(
                    "the target answered HTTP {status}, a redirect; the gateway does not follow \
                     or pass on redirects (set upstream.base_url to where the service really is)"
                ),
            ),
        ))
    } else {
        let declared = response
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        declared.is_some_and(|len| len > limit as u64).then(|| {
            (
                "response_too_large",
                crate::upstream::too_large_answer(limit),
            )
        })
    };
    match refusal {
        None => Ok(()),
        Some((reason, error)) => {
            crate::metrics::upstream_refused(&state.tenant.name, reason);
            Err(fail_locally(Failure::upstream(error)))
        }
    }
}

/// A `Location` on the target's URL becomes the same resource's URL on the gateway, so
/// that clients never learn (or bypass to) the target's address. The resource part is what
/// follows the endpoint the request went to (`/Users/…`), wherever the target mounts SCIM.
fn rewrite_location(state: &ProxyState, response: &mut ResponseHeader) -> Result<()> {
    let Some(location) = response
        .headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let endpoint = state
        .request
        .scim_path
        .split('/')
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    if endpoint.is_empty() {
        return Ok(());
    }
    let Some(at) = location.rfind(&format!("/{endpoint}/")) else {
        return Ok(());
    };
    let rewritten = format!("{}{}", state.public_base, &location[at..]);
    response.insert_header(http::header::LOCATION, rewritten)?;
    Ok(())
}

/// Response body phase (synchronous in pingora): with `on_response_body`, holds the body
/// back until it is whole and sends what the hook returns. The status is already on its
/// way, so a failing hook leaves the target's body as it was (and is logged). A body that
/// grows past the tenant's `max_response_bytes` (with no length declared) is cut off: the
/// connection is closed, and the client never takes a partial answer for a whole one.
pub fn response_body(
    gateway: &Gateway,
    state: &mut ProxyState,
    started: Instant,
    body: &mut Option<Bytes>,
    end_of_stream: bool,
) -> Result<()> {
    state.response_bytes += body.as_ref().map_or(0, Bytes::len);
    let limit = state.tenant.upstream.max_response_bytes();
    if state.response_bytes > limit {
        crate::metrics::upstream_refused(&state.tenant.name, "response_too_large");
        state.held_response = None;
        tracing::warn!(tenant = %state.tenant.name, limit, "the target's answer grew past upstream.max_response_bytes; connection closed");
        return Error::e_explain(
            HTTPStatus(502),
            "the target's answer is larger than upstream.max_response_bytes",
        );
    }
    let Some(held) = state.held_response.as_mut() else {
        return Ok(());
    };
    if let Some(chunk) = body.as_mut() {
        held.body.extend_from_slice(&std::mem::take(chunk));
    }
    if !end_of_stream {
        return Ok(());
    }
    let whole = std::mem::take(&mut held.body).freeze();
    let arguments: Vec<Dynamic> = vec![
        crate::adapter::json_to_dynamic(&state.request.to_json()),
        crate::adapter::json_to_dynamic(&held.head),
        crate::adapter::json_to_dynamic(&hooks::body_json(&whole)),
    ];
    *body = match state
        .invocation(gateway, started)
        .call_blocking(hooks::ON_RESPONSE_BODY, arguments)
    {
        Ok(value) if value.is_null() => Some(whole),
        Ok(value) => Some(hooks::body_bytes(&value)),
        Err(failure) => {
            tracing::warn!(tenant = %state.tenant.name, kind = failure.kind().name(), detail = %failure.error().detail, "on_response_body failed; the target's body is passed on");
            Some(whole)
        }
    };
    Ok(())
}

/// The failure pingora reports from a proxy phase: the gateway's own, when a phase failed
/// locally ([`fail_locally`]), else what went wrong on the way to the target.
pub fn failure_of(error: &Error) -> Failure {
    if let Some(local) = error.root_cause().downcast_ref::<Failure>() {
        return local.clone();
    }
    match error.etype() {
        ConnectTimedout | ConnectRefused | ConnectNoRoute | ConnectError | ConnectProxyFailure => {
            Failure::upstream(ScimError::unavailable(
                None,
                "the target application is unreachable",
            ))
        }
        ReadTimedout | WriteTimedout => {
            Failure::deadline("the target application did not answer in time")
        }
        HTTPStatus(503) => Failure::upstream(ScimError::unavailable(
            None,
            "no healthy address of the target application",
        )),
        _ => Failure::upstream(ScimError::new(
            502,
            None,
            "the target application's answer could not be relayed",
        )),
    }
}

/// Ends the proxied request with `failure`, which pingora carries (as its error's cause)
/// to `fail_to_proxy`, where it is answered.
fn fail_locally(failure: Failure) -> Box<Error> {
    let status = failure.status();
    Error::because(
        HTTPStatus(status),
        "answered locally by the gateway",
        failure,
    )
}
