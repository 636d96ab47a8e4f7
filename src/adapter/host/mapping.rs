//! Field mapping both ways, by the SCIM paths of Entra's attribute tables:
//! `fields` is a list of `[scim_path, native_field]` pairs (e.g. `["addresses[type eq
//! \"work\"].locality", "city"]`), written once per adapter.
//!
//! - `native_from_scim(resource, fields)`: a map of each native field to the first value its
//!   SCIM path reaches (`()` when none);
//! - `scim_from_native(native, fields)`: a SCIM resource holding each native field's value at
//!   its path (filtered elements and extension objects created as needed; `()` fields left
//!   out).
//!
//! Both run in the host in one pass — a script converting a page of 500 users field by field
//! would spend most of its operation budget on it.

use super::HostResult;
use crate::adapter::convert::{throw_scim, to_dynamic, to_json};
use rhai::{Array, Dynamic, Engine, Map};
use scimitar_scim::patch::{apply_patch, parse_patch};
use scimitar_scim::{values_at, ResourceKind};
use serde_json::{json, Value};

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "native_from_scim",
        |resource: Dynamic, fields: Array| -> HostResult<Map> {
            let resource = to_json(&resource)?;
            let mut native = Map::new();
            for (path, field) in pairs(&fields)? {
                let found = values_at(&resource, &path).map_err(throw_scim)?;
                native.insert(
                    field.into(),
                    found.first().map_or(Dynamic::UNIT, to_dynamic),
                );
            }
            Ok(native)
        },
    );
    engine.register_fn(
        "scim_from_native",
        |native: Dynamic, fields: Array| -> HostResult<Dynamic> {
            let native = to_json(&native)?;
            let operations: Vec<Value> = pairs(&fields)?
                .into_iter()
                .filter_map(|(path, field)| {
                    let value = native.get(&field).filter(|v| !v.is_null())?;
                    Some(json!({ "op": "add", "path": path, "value": value }))
                })
                .collect();
            let mut resource = json!({});
            if !operations.is_empty() {
                let body =
                    json!({ "schemas": [scimitar_scim::PATCH_OP], "Operations": operations });
                let ops = parse_patch(&body, ResourceKind::User).map_err(throw_scim)?;
                apply_patch(&mut resource, &ops).map_err(throw_scim)?;
            }
            Ok(to_dynamic(&resource))
        },
    );
}

/// The `[scim_path, native_field]` pairs of a field list.
fn pairs(fields: &Array) -> HostResult<Vec<(String, String)>> {
    fields
        .iter()
        .map(|pair| {
            let pair = pair.read_lock::<Array>().filter(|p| p.len() == 2);
            let text = |i: usize| pair.as_ref().and_then(|p| p[i].clone().into_string().ok());
            match (text(0), text(1)) {
                (Some(path), Some(field)) => Ok((path, field)),
                _ => Err("fields must be a list of [scim_path, native_field] pairs of text".into()),
            }
        })
        .collect()
}
