//! Translate mode: the SCIM layer answers, through the tenant's adapter.

use super::{Admitted, RequestCtx};
use crate::adapter::Projection;
use crate::body;
use crate::failure::Failure;
use crate::gateway::{Gateway, Invocation};
use crate::scim_api::{self, ScimRequest, ScimResponse};
use pingora::proxy::Session;

pub async fn answer(
    gateway: &Gateway,
    session: &mut Session,
    ctx: &mut RequestCtx,
    admitted: Admitted,
) -> Result<ScimResponse, Failure> {
    let Admitted {
        tenant,
        route,
        origin,
        endpoint,
    } = admitted;
    let header = session.req_header();
    let method = header.method.clone();
    let query = header.uri.query().unwrap_or_default().to_string();
    let body = body::read_limited(
        session,
        gateway.limits.max_body_bytes,
        body::deadline(gateway, ctx.started),
    )
    .await?;
    // Only now, with the whole request here, does it take one of the tenant's slots.
    super::hold_slot(ctx, &tenant)?;
    let base_url = format!("{origin}{}", route.base);
    let request = ScimRequest::new(method, query, body, base_url);
    note_subject(ctx, &request);
    let deadline = ctx.started + gateway.request_timeout();
    let call = Invocation {
        gateway,
        tenant: &tenant,
        route_params: &route.params,
        deadline,
        calls: &ctx.calls,
        locks: gateway.request_locks(&tenant.name, deadline),
        projection: projection_of(&request),
    };
    tokio::time::timeout_at(deadline.into(), scim_api::handle(call, endpoint, &request))
        .await
        .unwrap_or_else(|_| {
            Err(Failure::deadline(
                "the request did not finish before its deadline",
            ))
        })
}

/// The client's `attributes`/`excludedAttributes`, for `scim_requested` (a malformed query
/// is refused later, by the SCIM layer).
fn projection_of(request: &ScimRequest) -> Projection {
    request
        .list_query()
        .map(|q| Projection {
            attributes: q.attributes.clone(),
            excluded: q.excluded_attributes.clone(),
        })
        .unwrap_or_default()
}

/// Who the provisioning log files the request under: the user or group it is about (the
/// name in the body, or the value a match filter looks for).
fn note_subject(ctx: &mut RequestCtx, request: &ScimRequest) {
    let from_body = serde_json::from_slice::<serde_json::Value>(&request.body)
        .ok()
        .and_then(|body| {
            ["userName", "displayName"]
                .iter()
                .find_map(|key| body.get(key)?.as_str().map(str::to_string))
        });
    let from_filter = || {
        let query = request.list_query().ok()?;
        query
            .filter
            .as_ref()?
            .simple_eq()?
            .1
            .as_str()
            .map(str::to_string)
    };
    ctx.subject = from_body.or_else(from_filter);
}
