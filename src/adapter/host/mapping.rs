//! Field mapping both ways, by the SCIM paths of Entra's attribute tables:
//! `fields` is a list of `[scim_path, native_field]` pairs (e.g. `["addresses[type eq
//! \"work\"].locality", "city"]`), written once per adapter. A third element converts the
//! value where the two sides spell it differently: `#{ to_native: |v| …, to_scim: |v| … }`
//! (either may be left out), called only for a value that is there; a conversion answering
//! `()` leaves the field out.
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
use rhai::{Array, Dynamic, Engine, FnPtr, Map, NativeCallContext};
use scimitar_scim::patch::{apply_patch, parse_patch};
use scimitar_scim::{values_at, ResourceKind};
use serde_json::json;

pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "native_from_scim",
        |call: NativeCallContext, resource: Dynamic, fields: Array| -> HostResult<Map> {
            let resource = to_json(&resource)?;
            let mut native = Map::new();
            for field in parse_fields(&fields)? {
                let found = values_at(&resource, &field.path).map_err(throw_scim)?;
                let value = match (found.first(), &field.to_native) {
                    (None, _) => Dynamic::UNIT,
                    (Some(value), None) => to_dynamic(value),
                    (Some(value), Some(convert)) => {
                        convert.call_within_context(&call, (to_dynamic(value),))?
                    }
                };
                native.insert(field.native.into(), value);
            }
            Ok(native)
        },
    );
    engine.register_fn(
        "scim_from_native",
        |call: NativeCallContext, native: Dynamic, fields: Array| -> HostResult<Dynamic> {
            let native = to_json(&native)?;
            let mut operations = Vec::new();
            for field in parse_fields(&fields)? {
                let Some(value) = native.get(&field.native).filter(|v| !v.is_null()) else {
                    continue;
                };
                let value = match &field.to_scim {
                    None => value.clone(),
                    Some(convert) => {
                        let converted: Dynamic =
                            convert.call_within_context(&call, (to_dynamic(value),))?;
                        if converted.is_unit() {
                            continue;
                        }
                        to_json(&converted)?
                    }
                };
                operations.push(json!({ "op": "add", "path": field.path, "value": value }));
            }
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

/// One entry of a field list.
struct Field {
    path: String,
    native: String,
    to_native: Option<FnPtr>,
    to_scim: Option<FnPtr>,
}

const FIELDS_SHAPE: &str = "fields must be a list of [scim_path, native_field] pairs of text, \
     each with an optional third element #{ to_native: |v| …, to_scim: |v| … }";

fn parse_fields(fields: &Array) -> HostResult<Vec<Field>> {
    fields
        .iter()
        .map(|entry| {
            let entry = entry
                .read_lock::<Array>()
                .filter(|e| e.len() == 2 || e.len() == 3)
                .ok_or(FIELDS_SHAPE)?;
            let text = |i: usize| entry[i].clone().into_string().map_err(|_| FIELDS_SHAPE);
            let (path, native) = (text(0)?, text(1)?);
            let (to_native, to_scim) = match entry.get(2) {
                None => (None, None),
                Some(conversions) => {
                    let conversions = conversions.read_lock::<Map>().ok_or(FIELDS_SHAPE)?;
                    let pointer = |key: &str| -> HostResult<Option<FnPtr>> {
                        match conversions.get(key) {
                            None => Ok(None),
                            Some(f) => f.read_lock::<FnPtr>().map(|f| Some(f.clone())).ok_or_else(
                                || format!("`{key}` of the field {native:?} must be a function (|v| …)").into(),
                            ),
                        }
                    };
                    if let Some(unknown) = conversions
                        .keys()
                        .find(|k| k.as_str() != "to_native" && k.as_str() != "to_scim")
                    {
                        return Err(format!(
                            "the field {native:?} has `{unknown}`: a conversion has only \
                             `to_native` and `to_scim`"
                        )
                        .into());
                    }
                    (pointer("to_native")?, pointer("to_scim")?)
                }
            };
            Ok(Field {
                path,
                native,
                to_native,
                to_scim,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(script: &str) -> Result<String, String> {
        let mut engine = Engine::new();
        register(&mut engine);
        engine
            .eval::<Dynamic>(script)
            .map(|v| v.to_string())
            .map_err(|e| e.to_string())
    }

    const FIELDS: &str = r#"
        let fields = [
            ["userName", "email"],
            ["active", "status", #{
                to_native: |v| if v { "enabled" } else { "disabled" },
                to_scim: |s| s == "enabled",
            }],
            ["title", "job", #{ to_scim: |t| if t == "" { () } else { t } }],
        ];
    "#;

    #[test]
    fn conversions_run_both_ways_for_values_that_are_there() {
        let native = eval(&format!(
            r#"{FIELDS} native_from_scim(#{{ userName: "a@x", active: false }}, fields)"#
        ));
        assert_eq!(
            native.unwrap(),
            r#"#{"email": "a@x", "job": (), "status": "disabled"}"#
        );
        let scim = eval(&format!(
            r#"{FIELDS} scim_from_native(#{{ email: "a@x", status: "enabled", job: "" }}, fields)"#
        ));
        assert_eq!(scim.unwrap(), r#"#{"active": true, "userName": "a@x"}"#);
    }

    #[test]
    fn a_malformed_conversion_is_named() {
        let error = eval(r#"native_from_scim(#{}, [["title", "job", #{ to_natve: |v| v }]])"#);
        assert!(error.unwrap_err().contains("`to_natve`"));
        let error = eval(r#"native_from_scim(#{}, [["title", "job", #{ to_native: 1 }]])"#);
        assert!(error.unwrap_err().contains("must be a function"));
        let error = eval(r#"native_from_scim(#{}, [["title"]])"#);
        assert!(error.unwrap_err().contains("fields must be a list"));
    }
}
