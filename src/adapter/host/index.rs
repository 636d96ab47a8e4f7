//! `index_value(kind, attribute, id)`: what the gateway's directory index holds for a
//! resource — for a target that can find a user by e-mail but not by id (Rhombus), the
//! e-mail of the user a SCIM id names. `()` when the index, fresh enough to vouch for it,
//! knows no such resource; SCIM 503 (retried) when it is not that fresh yet.
//!
//! `scim_requested(attribute)`: whether the client wants `attribute` in the answer
//! (`attributes`/`excludedAttributes`), so that a script skips reading what would be cut —
//! a group's members when Entra asks with `excludedAttributes=members`.

use super::HostResult;
use crate::adapter::context;
use crate::adapter::convert::throw;
use crate::failure::{Failure, Reason};
use rhai::{Dynamic, Engine};
use scimitar_scim::{ResourceKind, ScimError};

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "index_value",
        |kind: &str, attribute: &str, id: &str| -> HostResult<Dynamic> {
            let ctx = context::current()?;
            let kind = ResourceKind::from_name(kind)
                .ok_or_else(|| format!("index_value: {kind:?} is not User or Group"))?;
            let Some(fresh) = ctx.index_fresh else {
                return Err("index_value: this tenant keeps no [tenants.index]".into());
            };
            let unavailable = |error: crate::store::StoreError| {
                tracing::error!(tenant = %ctx.tenant, %error, "the directory index could not be read");
                throw(Failure::store_down())
            };
            let value = ctx.wait(ctx.store.index_value(&ctx.tenant, kind.name(), id, attribute))?
                .map_err(unavailable)?;
            if let Some(value) = value {
                return Ok(value.into());
            }
            let state = ctx.wait(ctx.store.sync_state(&ctx.tenant, kind.name()))?
                .map_err(unavailable)?;
            if state.is_fresh(fresh) {
                Ok(Dynamic::UNIT)
            } else {
                Err(throw(Failure::refused(
                    Reason::IndexRebuilding,
                    ScimError::unavailable(
                        Some(10),
                        "the gateway's index of the target's directory is still being built; retry",
                    ),
                )))
            }
        },
    );
    engine.register_fn("scim_requested", |attribute: &str| -> HostResult<bool> {
        let ctx = context::current()?;
        Ok(scimitar_scim::projection::requested(
            attribute,
            &ctx.projection.attributes,
            &ctx.projection.excluded,
        ))
    });
}
