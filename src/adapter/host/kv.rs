//! `kv_get(key)`, `kv_set(key, value)`, `kv_remove(key)`: the tenant's own key/value store
//! (id maps, cached look-ups). Values are any JSON-able Rhai value; keys are namespaced by
//! tenant, so one tenant's script never sees another's data.

use super::HostResult;
use crate::adapter::context;
use crate::adapter::convert::{to_dynamic, to_json};
use rhai::{Dynamic, Engine};

pub fn register(engine: &mut Engine) {
    engine.register_fn("kv_get", |key: &str| -> HostResult<Dynamic> {
        let ctx = context::current()?;
        let value = ctx
            .io
            .block_on(ctx.store.kv_get(&ctx.tenant, key))
            .map_err(|e| format!("kv_get: {e}"))?;
        Ok(value.as_ref().map_or(Dynamic::UNIT, to_dynamic))
    });
    engine.register_fn("kv_set", |key: &str, value: Dynamic| -> HostResult<()> {
        let ctx = context::current()?;
        let json = to_json(&value)?;
        ctx.io
            .block_on(ctx.store.kv_set(&ctx.tenant, key, &json))
            .map_err(|e| format!("kv_set: {e}").into())
    });
    engine.register_fn("kv_remove", |key: &str| -> HostResult<()> {
        let ctx = context::current()?;
        ctx.io
            .block_on(ctx.store.kv_remove(&ctx.tenant, key))
            .map_err(|e| format!("kv_remove: {e}").into())
    });
}
