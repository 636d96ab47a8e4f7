//! `kv_get(key)`, `kv_set(key, value)`, `kv_remove(key)`, `kv_update(key, |value| ...)`:
//! the tenant's own key/value store (id maps, cached look-ups). Values are any JSON-able
//! Rhai value; keys are namespaced by tenant, so one tenant's script never sees another's
//! data. A store that cannot be reached throws SCIM 503 with `Retry-After`, which Entra
//! retries, never a script fault.

use super::HostResult;
use crate::adapter::context::{self, CallContext};
use crate::adapter::convert::{throw, to_dynamic, to_json};
use crate::failure::{Failure, Reason};
use crate::store::StoreError;
use rhai::{Dynamic, Engine, FnPtr, NativeCallContext};
use scimitar_scim::ScimError;

/// Attempts of one `kv_update` before it gives up on a key that other writers keep changing.
const UPDATE_ATTEMPTS: usize = 64;

pub fn register(engine: &mut Engine) {
    engine.register_fn("kv_get", |key: &str| -> HostResult<Dynamic> {
        let ctx = context::current()?;
        let value = ctx
            .wait(ctx.store.kv_get(&ctx.tenant, key))?
            .map_err(|e| store_failure(&ctx, "kv_get", e))?;
        Ok(value.as_ref().map_or(Dynamic::UNIT, to_dynamic))
    });
    engine.register_fn("kv_set", |key: &str, value: Dynamic| -> HostResult<()> {
        let ctx = context::current()?;
        let json = to_json(&value)?;
        ctx.wait(ctx.store.kv_set(&ctx.tenant, key, &json))?
            .map_err(|e| store_failure(&ctx, "kv_set", e))
    });
    engine.register_fn("kv_remove", |key: &str| -> HostResult<()> {
        let ctx = context::current()?;
        ctx.wait(ctx.store.kv_remove(&ctx.tenant, key))?
            .map_err(|e| store_failure(&ctx, "kv_remove", e))
    });
    // Atomic read-modify-write: `update` gets the current value (`()` when absent) and
    // returns the new one (`()` removes the key). Should another writer change the key in
    // between, `update` runs again on the newer value, so no write is ever lost — also
    // across replicas sharing a PostgreSQL store. Answers the value written.
    engine.register_fn(
        "kv_update",
        |call: NativeCallContext, key: &str, update: FnPtr| -> HostResult<Dynamic> {
            let ctx = context::current()?;
            for _ in 0..UPDATE_ATTEMPTS {
                let current = ctx
                    .wait(ctx.store.kv_get_versioned(&ctx.tenant, key))?
                    .map_err(|e| store_failure(&ctx, "kv_update", e))?;
                let (value, version) = match current {
                    Some((value, version)) => (to_dynamic(&value), Some(version)),
                    None => (Dynamic::UNIT, None),
                };
                let updated: Dynamic = update.call_within_context(&call, (value,))?;
                let json = (!updated.is_unit())
                    .then(|| to_json(&updated))
                    .transpose()?;
                let written = ctx
                    .wait(
                        ctx.store
                            .kv_compare_and_set(&ctx.tenant, key, version, json.as_ref()),
                    )?
                    .map_err(|e| store_failure(&ctx, "kv_update", e))?;
                if written {
                    return Ok(updated);
                }
            }
            Err(throw(Failure::refused(
                Reason::ResourceBusy,
                ScimError::unavailable(
                    Some(1),
                    format!("kv_update: key {key:?} kept changing under other writers"),
                ),
            )))
        },
    );
}

fn store_failure(ctx: &CallContext, function: &str, error: StoreError) -> Box<rhai::EvalAltResult> {
    tracing::error!(tenant = %ctx.tenant, function, %error, "the store failed during an adapter call");
    throw(Failure::store_down())
}
