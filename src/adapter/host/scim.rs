//! SCIM helpers: `scim_error(...)`, `scim_get(resource, path)` / `scim_values(resource, path)`,
//! `scim_normalize(resource, kind)` / `scim_patch_ops(body, kind)` (Entra's dialect made canonical),
//! the tenant's `setting(name)` / `settings()`, `route_param(name)`, and the `Patch` object
//! that `patch_user`/`patch_group` receive.

use super::HostResult;
use crate::adapter::context;
use crate::adapter::convert::{scim_error_to_throw, to_dynamic, to_json};
use rhai::{Array, Dynamic, Engine, INT};
use scimitar_scim::patch::{apply_patch, PatchOp};
use scimitar_scim::{normalize_resource, parse_patch, values_at, ResourceKind, ScimError};
use std::sync::Arc;

/// A SCIM PATCH request, already normalised from Entra's dialect. Scripts read
/// `patch.operations` (maps of `op`, `path`, `value`) to translate them one by one, or call
/// `patch.apply(resource)` to get the patched resource and write it back whole.
#[derive(Clone)]
pub struct PatchHandle(Arc<Vec<PatchOp>>);

impl PatchHandle {
    pub fn new(ops: Vec<PatchOp>) -> Self {
        Self(Arc::new(ops))
    }
}

fn resource_kind(name: &str) -> HostResult<ResourceKind> {
    ResourceKind::from_name(name)
        .ok_or_else(|| format!("{name:?} is not a resource type (User or Group)").into())
}

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "scim_error",
        |status: INT, scim_type: &str, detail: &str| -> HostResult<()> {
            let status = u16::try_from(status).unwrap_or(500);
            let scim_type = (!scim_type.is_empty()).then_some(scim_type);
            Err(scim_error_to_throw(ScimError::new(
                status, scim_type, detail,
            )))
        },
    );
    // The first value a SCIM path reaches (`()` when none): `scim_get(user,
    // "phoneNumbers[type eq \"work\"].value")`, exactly as Entra's attribute tables name it.
    engine.register_fn(
        "scim_get",
        |resource: Dynamic, path: &str| -> HostResult<Dynamic> {
            let values = values_at(&to_json(&resource)?, path).map_err(scim_error_to_throw)?;
            Ok(values.first().map_or(Dynamic::UNIT, to_dynamic))
        },
    );
    engine.register_fn(
        "scim_values",
        |resource: Dynamic, path: &str| -> HostResult<Array> {
            let values = values_at(&to_json(&resource)?, path).map_err(scim_error_to_throw)?;
            Ok(values.iter().map(to_dynamic).collect())
        },
    );
    // Entra's dialect → canonical SCIM, for proxy hooks that must hand a strict target
    // what it understands: `scim_normalize(user, "User")`, `scim_patch_ops(body, "Group")`.
    engine.register_fn(
        "scim_normalize",
        |resource: Dynamic, kind: &str| -> HostResult<Dynamic> {
            let normalized = normalize_resource(to_json(&resource)?, resource_kind(kind)?)
                .map_err(scim_error_to_throw)?;
            Ok(to_dynamic(&normalized))
        },
    );
    engine.register_fn(
        "scim_patch_ops",
        |body: Dynamic, kind: &str| -> HostResult<Array> {
            let ops =
                parse_patch(&to_json(&body)?, resource_kind(kind)?).map_err(scim_error_to_throw)?;
            Ok(ops
                .iter()
                .map(|op| to_dynamic(&serde_json::to_value(op).unwrap_or_default()))
                .collect())
        },
    );
    engine.register_fn("setting", |name: &str| -> HostResult<Dynamic> {
        Ok(context::current()?
            .settings
            .get(name)
            .cloned()
            .unwrap_or(Dynamic::UNIT))
    });
    engine.register_fn("settings", || -> HostResult<rhai::Map> {
        Ok(context::current()?.settings.clone())
    });
    engine.register_fn("route_param", |name: &str| -> HostResult<Dynamic> {
        let ctx = context::current()?;
        Ok(ctx
            .route_params
            .get(name)
            .map_or(Dynamic::UNIT, |v| v.clone().into()))
    });

    engine
        .register_type_with_name::<PatchHandle>("Patch")
        .register_get("operations", |patch: &mut PatchHandle| -> Array {
            patch
                .0
                .iter()
                .map(|op| to_dynamic(&serde_json::to_value(op).unwrap_or_default()))
                .collect()
        })
        .register_fn(
            "apply",
            |patch: &mut PatchHandle, resource: Dynamic| -> HostResult<Dynamic> {
                let mut json = to_json(&resource)?;
                apply_patch(&mut json, &patch.0).map_err(scim_error_to_throw)?;
                Ok(to_dynamic(&json))
            },
        );
}
