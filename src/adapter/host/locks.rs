//! `lock_users(ids)`: for an adapter whose one operation rewrites users the request does
//! not name — MX3's group rename or delete takes the tag off every member — so that those
//! writes are ordered with every other write of the same users, as the gateway already
//! orders what a request names (see `crate::ordering`). The locks last until the request's
//! operation ends. A user that stays busy throws SCIM 429 with `Retry-After`.

use super::HostResult;
use crate::adapter::context;
use crate::adapter::convert::throw;
use rhai::{Array, Engine};
use scimitar_scim::ResourceKind;

pub fn register(engine: &mut Engine) {
    engine.register_fn("lock_users", |ids: Array| -> HostResult<()> {
        let ctx = context::current()?;
        let keys: Vec<String> = ids
            .iter()
            .map(|id| crate::ordering::resource_key(ResourceKind::User, &id.to_string()))
            .collect();
        ctx.wait(ctx.locks.take(&keys))?
            .map_err(|e| throw(e.to_failure()))
    });
}
