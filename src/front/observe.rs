//! Observation of a request: the one place where a [`Failure`] becomes the SCIM answer,
//! the refusal's metric reason and the provisioning log's detail, and where every request,
//! once done, is counted, timed, recorded in the provisioning log and logged.

use super::RequestCtx;
use crate::failure::Failure;
use crate::gateway::Gateway;
use crate::metrics;
use crate::provisioning::{self, Entry, TargetCall};
use crate::scim_api::ScimResponse;
use pingora::proxy::Session;

/// The answer to a request that failed. A refusal is counted now, before its answer goes
/// out, so that whoever reads the metrics after the answer finds it.
pub fn failed(ctx: &mut RequestCtx, failure: Failure) -> ScimResponse {
    if let Some(reason) = failure.rejection() {
        metrics::REJECTED
            .with_label_values(&[tenant_label(ctx), reason])
            .inc();
    }
    let response = ScimResponse::from(failure.clone());
    ctx.failure = Some(failure);
    response
}

/// The answer to a request that succeeded; a created resource's id goes to the log.
pub fn succeeded(ctx: &mut RequestCtx, response: ScimResponse) -> ScimResponse {
    if ctx.scim_id.is_none() && response.status == 201 {
        ctx.scim_id = response
            .body
            .as_ref()
            .and_then(|body| body.get("id"))
            .and_then(|id| id.as_str())
            .map(str::to_string);
    }
    response
}

/// pingora's `logging` phase: the request's metrics, its provisioning-log entry and its log
/// line, whoever answered it (the gateway, or the target in proxy mode).
pub fn finished(gateway: &Gateway, session: &Session, ctx: &mut RequestCtx) {
    if std::mem::take(&mut ctx.in_flight) {
        metrics::IN_FLIGHT.dec();
        gateway.request_ended();
    }
    let failure = ctx.failure.take();
    let scim_id = ctx.scim_id.take();
    let subject = ctx.subject.take();
    let mut target_calls = ctx
        .calls
        .lock()
        .map(|mut calls| std::mem::take(&mut *calls))
        .unwrap_or_default();
    let ctx = &*ctx;
    let status = session.response_written().map_or(0, |r| r.status.as_u16());
    let tenant = tenant_label(ctx);
    let op = ctx.operation;
    let elapsed = ctx.started.elapsed();
    metrics::REQUESTS
        .with_label_values(&[tenant, op.resource, op.name, metrics::status_class(status)])
        .inc();
    metrics::REQUEST_DURATION
        .with_label_values(&[tenant, op.resource, op.name])
        .observe(elapsed.as_secs_f64());
    let proxied = proxied_call(session, ctx);
    if let Some((peer, call)) = &proxied {
        let upstream_status = call
            .status
            .map_or_else(|| "error".to_string(), |s| s.to_string());
        metrics::UPSTREAM_REQUESTS
            .with_label_values(&[tenant, peer, &call.method, &upstream_status])
            .inc();
        metrics::UPSTREAM_DURATION
            .with_label_values(&[tenant, peer, &call.method])
            .observe(call.latency_ms / 1000.0);
    }
    tracing::info!(
        tenant,
        resource = op.resource,
        operation = op.name,
        status,
        failure = failure.as_ref().map(|f| f.kind().name()),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "scim request"
    );
    let Some(tenant_name) = &ctx.tenant else {
        return;
    };
    target_calls.extend(proxied.map(|(_, call)| call));
    gateway.log.record(Entry {
        at: provisioning::now(),
        tenant: tenant_name.clone(),
        resource: op.resource.to_string(),
        operation: op.name.to_string(),
        scim_id,
        subject,
        status,
        outcome: if (200..400).contains(&status) {
            "success"
        } else {
            "failure"
        }
        .to_string(),
        detail: failure.map(|f| f.into_error().detail),
        target_calls,
        duration_ms: elapsed.as_secs_f64() * 1000.0,
    });
}

/// The proxied call to the target, once one went out, with the address it went to.
fn proxied_call<'c>(session: &Session, ctx: &'c RequestCtx) -> Option<(&'c str, TargetCall)> {
    let state = ctx.proxy.as_ref()?;
    let (started, peer) = (state.upstream_started?, state.peer.as_deref()?);
    let call = TargetCall {
        method: session.req_header().method.to_string(),
        target: format!("{peer}{}", state.upstream_path()),
        status: state.upstream_status,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Some((peer, call))
}

fn tenant_label(ctx: &RequestCtx) -> &str {
    ctx.tenant.as_deref().unwrap_or("none")
}
