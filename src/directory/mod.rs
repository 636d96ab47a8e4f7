//! The gateway's index of a target's directory, for what the target's API cannot do at size:
//! find a user by an attribute it cannot filter on (Maptician filters on nothing, MX3 on
//! tags only, MediusFlow on `userName` only), or count a directory it can only page.
//!
//! The index maps each indexed attribute's value to resource ids (`tenant::DirectoryIndex`
//! says which). It is
//! - **written through**: every create, replace, PATCH and delete through the gateway updates
//!   it before the answer goes out;
//! - **completed by passes** over the directory (`sync`), in the background within a budget
//!   of native calls per second, so that accounts made outside the gateway are found too;
//! - **verified on use**: every id it names is read from the target and checked against the
//!   whole filter, so a stale entry costs one read, never a wrong answer;
//! - **honest about staleness**: it answers "no such resource" only when its last complete
//!   pass began less than `fresh_secs` ago; otherwise it is brought up to date first (a pass
//!   bounded by the request's deadline), or the answer is a 503 Entra retries — never an
//!   O(N) scan per request, never a "not found" it cannot vouch for;
//! - **shared by replicas** through the store (PostgreSQL), with one pass at a time.

pub mod sync;

use crate::failure::Failure;
use crate::store::{Store, SyncState};
use crate::tenant::Tenant;
use scimitar_scim::ResourceKind;
use serde_json::Value;

fn unavailable(error: crate::store::StoreError) -> Failure {
    tracing::error!(%error, "the directory index could not be read");
    Failure::store_down()
}

/// The ids whose `attribute` compares equal to `key`.
pub async fn find(
    store: &Store,
    tenant: &Tenant,
    kind: ResourceKind,
    attribute: &str,
    key: &str,
) -> Result<Vec<String>, Failure> {
    store
        .index_find(&tenant.name, kind.name(), attribute, key)
        .await
        .map_err(unavailable)
}

pub async fn state(
    store: &Store,
    tenant: &Tenant,
    kind: ResourceKind,
) -> Result<SyncState, Failure> {
    store
        .sync_state(&tenant.name, kind.name())
        .await
        .map_err(unavailable)
}

/// Records what the target now holds for `resource` (the adapter's answer to a write or a
/// read). Should the store fail, the index no longer vouches for a "not found" until its
/// next complete pass, so nothing is ever answered from the index it missed.
pub async fn record(store: &Store, tenant: &Tenant, kind: ResourceKind, resource: &Value) {
    let Some(indexed) = tenant.index.as_ref().and_then(|i| i.of(kind)) else {
        return;
    };
    let Some(id) = resource.get("id").and_then(Value::as_str) else {
        return;
    };
    let entries = indexed.entries(resource);
    let written = store
        .index_put(&tenant.name, kind.name(), &[(id.to_string(), entries)])
        .await;
    invalidate_on_failure(store, tenant, kind, written).await;
}

/// Forgets a resource the target no longer has.
pub async fn forget(store: &Store, tenant: &Tenant, kind: ResourceKind, id: &str) {
    if tenant.index.as_ref().and_then(|i| i.of(kind)).is_none() {
        return;
    }
    let written = store.index_forget(&tenant.name, kind.name(), id).await;
    invalidate_on_failure(store, tenant, kind, written).await;
}

/// Counts a resource the gateway created (`+1`) or deleted (`-1`).
pub async fn count(store: &Store, tenant: &Tenant, kind: ResourceKind, delta: i64) {
    if tenant.index.as_ref().and_then(|i| i.of(kind)).is_none() {
        return;
    }
    let written = store.sync_count(&tenant.name, kind.name(), delta).await;
    invalidate_on_failure(store, tenant, kind, written).await;
}

async fn invalidate_on_failure(
    store: &Store,
    tenant: &Tenant,
    kind: ResourceKind,
    written: Result<(), crate::store::StoreError>,
) {
    let Err(error) = written else { return };
    tracing::error!(tenant = %tenant.name, %error, "the directory index missed a write; it is rebuilt before it answers \"not found\" again");
    if let Err(error) = store.sync_invalidate(&tenant.name, kind.name()).await {
        tracing::error!(tenant = %tenant.name, %error, "the directory index could not be marked stale either");
    }
}
