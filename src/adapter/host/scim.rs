//! SCIM helpers: `scim_error(...)`, `scim_get(resource, path)` / `scim_values(resource, path)`,
//! `scim_set(resource, path, value)`,
//! `scim_normalize(resource, kind)` / `scim_patch_ops(body, kind)` (Entra's dialect made canonical),
//! the tenant's `setting(name)` / `settings()`, `route_param(name)`, and the `Patch` object
//! that `patch_user`/`patch_group` receive.

use super::HostResult;
use crate::adapter::context;
use crate::adapter::convert::{throw_scim, to_dynamic, to_json};
use rhai::{Array, Dynamic, Engine, INT};
use scimitar_scim::patch::{apply_patch, PatchOp};
use scimitar_scim::{normalize_resource, parse_patch, values_at, ResourceKind, ScimError};
use std::sync::Arc;

/// What `scim_error(status, scimType, detail)` answers: a status outside 400…599 is a 500.
fn scim_error(status: INT, scim_type: &str, detail: &str) -> ScimError {
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (400..=599).contains(s))
        .unwrap_or(500);
    let scim_type = (!scim_type.is_empty()).then_some(scim_type);
    ScimError::new(status, scim_type, detail)
}

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
            Err(throw_scim(scim_error(status, scim_type, detail)))
        },
    );
    // With the seconds Entra should wait before retrying (`Retry-After`), e.g. a target's
    // own rate limit read from its answer: `scim_error(429, "", "slow down", 60)`.
    engine.register_fn(
        "scim_error",
        |status: INT, scim_type: &str, detail: &str, retry_after: INT| -> HostResult<()> {
            let mut error = scim_error(status, scim_type, detail);
            error.retry_after = u64::try_from(retry_after).ok();
            Err(throw_scim(error))
        },
    );
    // The first value a SCIM path reaches (`()` when none): `scim_get(user,
    // "phoneNumbers[type eq \"work\"].value")`, exactly as Entra's attribute tables name it.
    engine.register_fn(
        "scim_get",
        |resource: Dynamic, path: &str| -> HostResult<Dynamic> {
            let values = values_at(&to_json(&resource)?, path).map_err(throw_scim)?;
            Ok(values.first().map_or(Dynamic::UNIT, to_dynamic))
        },
    );
    engine.register_fn(
        "scim_values",
        |resource: Dynamic, path: &str| -> HostResult<Array> {
            let values = values_at(&to_json(&resource)?, path).map_err(throw_scim)?;
            Ok(values.iter().map(to_dynamic).collect())
        },
    );
    // The mirror of `scim_get`, so that an adapter maps native fields back by the same SCIM
    // paths it reads them with: `user = scim_set(user, "addresses[type eq \"work\"].locality",
    // native.city)` creates the work address when needed. `()` leaves the resource as it is.
    engine.register_fn(
        "scim_set",
        |resource: Dynamic, path: &str, value: Dynamic| -> HostResult<Dynamic> {
            if value.is_unit() {
                return Ok(resource);
            }
            let set = set_value(to_json(&resource)?, path, to_json(&value)?).map_err(throw_scim)?;
            Ok(to_dynamic(&set))
        },
    );
    // Entra's dialect → canonical SCIM, for proxy hooks that must hand a strict target
    // what it understands: `scim_normalize(user, "User")`, `scim_patch_ops(body, "Group")`.
    engine.register_fn(
        "scim_normalize",
        |resource: Dynamic, kind: &str| -> HostResult<Dynamic> {
            let normalized = normalize_resource(to_json(&resource)?, resource_kind(kind)?)
                .map_err(throw_scim)?;
            Ok(to_dynamic(&normalized))
        },
    );
    engine.register_fn(
        "scim_patch_ops",
        |body: Dynamic, kind: &str| -> HostResult<Array> {
            let ops = parse_patch(&to_json(&body)?, resource_kind(kind)?).map_err(throw_scim)?;
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
        Ok(context::current()?.settings.as_ref().clone())
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
                apply_patch(&mut json, &patch.0).map_err(throw_scim)?;
                Ok(to_dynamic(&json))
            },
        );
}

/// `resource` with `value` added at the SCIM `path`, as a PATCH `add` would (a filtered path
/// whose element is missing creates it). Names resolve against the Group schema when the
/// resource lists it, else the User schema.
fn set_value(
    mut resource: serde_json::Value,
    path: &str,
    value: serde_json::Value,
) -> Result<serde_json::Value, ScimError> {
    let is_group = resource["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|u| u == scimitar_scim::GROUP));
    let kind = if is_group {
        ResourceKind::Group
    } else {
        ResourceKind::User
    };
    let body = serde_json::json!({
        "schemas": [scimitar_scim::urn::PATCH_OP],
        "Operations": [{ "op": "add", "path": path, "value": value }],
    });
    apply_patch(&mut resource, &parse_patch(&body, kind)?)?;
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_value_creates_filtered_elements_and_extensions() {
        let user = json!({"userName": "a"});
        let user = set_value(user, "addresses[type eq \"work\"].locality", json!("Oslo")).unwrap();
        let user = set_value(user, "addresses[type eq \"work\"].region", json!("Oslo N")).unwrap();
        let ext = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
        let user = set_value(user, &format!("{ext}:badge"), json!("7")).unwrap();
        assert_eq!(
            user["addresses"],
            json!([{"type": "work", "locality": "Oslo", "region": "Oslo N"}])
        );
        assert_eq!(user[ext], json!({"badge": "7"}));
        let round_trip = values_at(&user, &format!("{ext}:badge")).unwrap();
        assert_eq!(round_trip, [json!("7")]);
    }
}
