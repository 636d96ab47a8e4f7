//! Passes over a target's directory that complete the index: page after page of the
//! adapter's own list function (`list_users`/`list_groups`, as `#{ resources, total, next }`
//! pages or one array), every resource recorded. One pass per tenant and kind at a time,
//! across replicas too (a lock of the shared lock table).
//!
//! In the background, a pass starts when the last complete one is half as old as the index
//! may be (a kind only counted: once a client has paged it), and spends at most
//! `pages_per_sec` native list calls a second. A request that
//! needs a "not found" from a stale index runs one itself, at full speed, bounded by its
//! deadline; what it could not finish in time the next pass does.

use crate::adapter::{json_to_dynamic, Listing, Projection};
use crate::failure::{Failure, Reason};
use crate::gateway::{Gateway, Invocation};
use crate::metrics;
use crate::ordering::LockError;
use crate::provisioning::CallLog;
use crate::store::now_ms;
use crate::tenant::{IndexedKind, PassProgress, Tenant};
use scimitar_scim::{ResourceKind, ScimError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the background looks for an index due for a pass.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// After a failed background pass, the wait before the next try.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);
/// What a request keeps of its deadline for its own answer after a pass it ran.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// Makes the tenant's index of `kind` fresh enough to vouch for a "not found" before
/// `deadline`, or answers the 503 that makes Entra come back once it is.
pub async fn ensure_fresh(
    gateway: &Gateway,
    tenant: &Arc<Tenant>,
    kind: ResourceKind,
    deadline: Instant,
) -> Result<(), Failure> {
    let Some(index) = tenant.index.as_ref() else {
        return Ok(());
    };
    if super::state(&gateway.store, tenant, kind)
        .await?
        .is_fresh(index.fresh)
    {
        return Ok(());
    }
    let rebuilding = || {
        Failure::refused(
            Reason::IndexRebuilding,
            ScimError::unavailable(
                Some(30),
                "the gateway's index of the target's directory is being rebuilt; retry shortly",
            ),
        )
    };
    let until = deadline.checked_sub(ANSWER_MARGIN).unwrap_or(deadline);
    if let Some(indexed) = index.of(kind) {
        indexed.hurry();
    }
    // Another pass under way (here or on another replica) holds the lock: waiting for it
    // is waiting for the index to be complete.
    let _pass = gateway
        .lock_table()
        .acquire_until(&tenant.name, &[pass_key(kind)], until)
        .await
        .map_err(|e| match e {
            LockError::Busy => rebuilding(),
            LockError::Store(_) => e.to_failure(),
        })?;
    if super::state(&gateway.store, tenant, kind)
        .await?
        .is_fresh(index.fresh)
    {
        return Ok(());
    }
    match pass(gateway, tenant, kind, until, None).await? {
        true => Ok(()),
        false => Err(rebuilding()),
    }
}

/// One pass over the directory, recording every resource; `pace` spaces the native list
/// calls. True when it saw the whole directory before `until`.
async fn pass(
    gateway: &Gateway,
    tenant: &Arc<Tenant>,
    kind: ResourceKind,
    until: Instant,
    pace: Option<Duration>,
) -> Result<bool, Failure> {
    let Some(index) = tenant.index.as_ref() else {
        return Ok(true);
    };
    let Some(indexed) = index.of(kind) else {
        return Ok(true);
    };
    let function = match kind {
        ResourceKind::User => "list_users",
        ResourceKind::Group => "list_groups",
    };
    // Resume a pass cut short, if it began recently enough for its completion to count.
    let fresh_ms = i64::try_from(index.fresh.as_millis()).unwrap_or(i64::MAX);
    let mut progress = indexed
        .take_progress()
        .filter(|p| now_ms().saturating_sub(p.started_ms) < fresh_ms)
        .unwrap_or_else(|| PassProgress {
            started_ms: now_ms(),
            next_start: 1,
            cursor: Value::Null,
            seen: 0,
        });
    loop {
        if Instant::now() >= until {
            indexed.save_progress(progress);
            return Ok(false);
        }
        let query = json!({
            "filter": null, "eq": null,
            "start_index": progress.next_start, "count": index.page_size,
            "cursor": progress.cursor,
            // Members are no matching attribute: a pass never reads them.
            "attributes": [], "excluded_attributes": ["members"],
        });
        let calls = CallLog::default();
        let answer = invocation(gateway, tenant, &calls)
            .call(function, vec![json_to_dynamic(&query)])
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                indexed.save_progress(progress);
                return Err(error);
            }
        };
        let (resources, done, next) = match Listing::parse(function, answer)? {
            Listing::All(items) => (items, true, Value::Null),
            Listing::Page {
                resources,
                total,
                next,
            } => {
                let reached = progress.next_start - 1 + resources.len();
                let done = resources.is_empty()
                    || (next.is_null() && total.is_none_or(|t| reached as u64 >= t));
                (resources, done, next)
            }
        };
        if let Err(error) = record_page(gateway, tenant, indexed, &resources).await {
            indexed.save_progress(progress);
            return Err(error);
        }
        metrics::INDEX_PAGES
            .with_label_values(&[&tenant.name, kind.name()])
            .inc();
        progress.seen += resources.len() as i64;
        if done {
            break;
        }
        progress.next_start += resources.len();
        progress.cursor = next;
        if let Some(pace) = pace.filter(|_| !indexed.hurried()) {
            tokio::time::sleep(pace).await;
        }
    }
    let (started_ms, seen) = (progress.started_ms, progress.seen);
    indexed.completed();
    gateway
        .store
        .sync_completed(&tenant.name, kind.name(), started_ms, seen)
        .await
        .map_err(|e| {
            tracing::error!(tenant = %tenant.name, error = %e, "a complete pass could not be recorded");
            Failure::store_down()
        })?;
    metrics::INDEX_RESOURCES
        .with_label_values(&[&tenant.name, kind.name()])
        .set(seen);
    metrics::INDEX_COMPLETE
        .with_label_values(&[&tenant.name, kind.name()])
        .set(started_ms as f64 / 1000.0);
    tracing::info!(tenant = %tenant.name, kind = kind.name(), resources = seen, "directory index complete");
    Ok(true)
}

async fn record_page(
    gateway: &Gateway,
    tenant: &Tenant,
    indexed: &IndexedKind,
    resources: &[Value],
) -> Result<(), Failure> {
    let rows: Vec<_> = resources
        .iter()
        .filter_map(|resource| {
            let id = match resource.get("id")? {
                Value::String(id) => id.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((id, indexed.entries(resource)))
        })
        .collect();
    gateway
        .store
        .index_put(&tenant.name, indexed.kind.name(), &rows)
        .await
        .map_err(|e| {
            tracing::error!(tenant = %tenant.name, error = %e, "the directory index could not be written");
            Failure::store_down()
        })
}

/// An invocation of the tenant's adapter that belongs to no request: no route parameters
/// (`route_param` answers `()`), a deadline of its own per call.
fn invocation<'g>(
    gateway: &'g Gateway,
    tenant: &'g Arc<Tenant>,
    calls: &'g CallLog,
) -> Invocation<'g> {
    static NO_PARAMS: BTreeMap<String, String> = BTreeMap::new();
    let deadline = Instant::now() + gateway.request_timeout();
    Invocation {
        gateway,
        tenant,
        route_params: &NO_PARAMS,
        deadline,
        calls,
        locks: gateway.request_locks(&tenant.name, deadline),
        projection: Projection::default(),
    }
}

fn pass_key(kind: ResourceKind) -> String {
    format!("index-pass:{}", kind.name())
}

/// Keeps every tenant's index complete, in the background, within its budget.
pub fn start(gateway: Arc<Gateway>) {
    let io = gateway.scripts.io();
    io.spawn(async move {
        let mut failed_at: BTreeMap<(String, &'static str), Instant> = BTreeMap::new();
        loop {
            for tenant in gateway.tenants().iter() {
                let Some(index) = tenant.index.as_ref() else {
                    continue;
                };
                for kind in index.kinds().map(|k| k.kind) {
                    let key = (tenant.name.clone(), kind.name());
                    if failed_at.get(&key).is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE) {
                        continue;
                    }
                    match background_pass(&gateway, tenant, kind).await {
                        Ok(()) => {
                            failed_at.remove(&key);
                        }
                        Err(error) => {
                            tracing::warn!(tenant = %tenant.name, kind = kind.name(), detail = %error.error().detail, "directory pass failed; retrying later");
                            failed_at.insert(key, Instant::now());
                        }
                    }
                }
            }
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

/// A paced pass when the index is half as old as it may be and no other pass runs.
async fn background_pass(
    gateway: &Gateway,
    tenant: &Arc<Tenant>,
    kind: ResourceKind,
) -> Result<(), Failure> {
    let Some(index) = tenant.index.as_ref() else {
        return Ok(());
    };
    let state = super::state(&gateway.store, tenant, kind).await?;
    if state.is_fresh(index.fresh / 2) {
        return Ok(());
    }
    // A kind only counted is kept counted once a client paged it; until then no pass is
    // owed (matching attributes are indexed from the start: Entra's first call matches).
    let counted_yet = state.total.is_some() || state.complete_at_ms.is_some();
    if index.of(kind).is_some_and(|k| k.counts_only()) && !counted_yet {
        return Ok(());
    }
    let Ok(_pass) = gateway
        .lock_table()
        .acquire_until(&tenant.name, &[pass_key(kind)], Instant::now())
        .await
    else {
        return Ok(()); // another pass runs
    };
    let pace = Duration::from_secs(1) / index.pages_per_sec.max(1);
    // A background pass may take as long as it needs; the lock is held meanwhile.
    let until = Instant::now() + Duration::from_secs(24 * 3600);
    pass(gateway, tenant, kind, until, Some(pace))
        .await
        .map(|_| ())
}
