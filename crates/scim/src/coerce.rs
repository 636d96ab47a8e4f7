//! Schema-driven value clean-up shared by resource normalisation and PATCH normalisation.
//!
//! Entra writes values the RFC does not: booleans as `"True"`, `"$ref": null`, the enterprise
//! manager as a bare id string (or an empty string meaning "no manager"), and role values as
//! JSON text. These functions turn one attribute's value into the canonical form; they return
//! `Value::Null` when the value means "unassigned", and leave the caller to drop or remove it.

use serde_json::{Map, Value};

use crate::schema::{AttrType, AttributeDef};

/// Canonicalises the value of an attribute (`None`: an attribute no schema here describes, whose
/// value only loses its nulls). Multi-valued attributes always come back as arrays.
pub(crate) fn coerce(def: Option<&'static AttributeDef>, value: Value) -> Value {
    match (def, value) {
        (_, Value::Null) => Value::Null,
        (Some(d), Value::Array(items)) if d.multi_valued => {
            non_empty_array(items.into_iter().map(|v| coerce_element(Some(d), v)))
        }
        (Some(d), single) if d.multi_valued => match coerce_element(Some(d), single) {
            Value::Null => Value::Null,
            element => Value::Array(vec![element]),
        },
        (def, value) => coerce_element(def, value),
    }
}

/// Canonicalises one value of an attribute: the attribute's value if single-valued, one
/// element if multi-valued.
pub(crate) fn coerce_element(def: Option<&'static AttributeDef>, value: Value) -> Value {
    let Some(def) = def else {
        return strip_nulls(value);
    };
    match (def.kind, value) {
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Value::Bool(true)
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Value::Bool(false)
        }
        (AttrType::Complex, value) => coerce_complex(def, value),
        (_, value) => strip_nulls(value),
    }
}

/// Canonicalises an object's keys with `lookup` and coerces each value by the definition found,
/// dropping entries that end up unassigned.
pub(crate) fn coerce_object(
    map: Map<String, Value>,
    lookup: impl Fn(&str) -> Option<&'static AttributeDef>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in map {
        let def = lookup(&key);
        let value = coerce(def, value);
        if !value.is_null() {
            out.insert(def.map_or(key, |d| d.name.to_owned()), value);
        }
    }
    out
}

/// A reference-like complex attribute: single-valued with a `value` sub-attribute (the
/// enterprise `manager`). Entra sends these as bare id strings and clears them with `""`.
fn is_single_reference(def: &AttributeDef) -> bool {
    !def.multi_valued && def.sub("value").is_some()
}

fn coerce_complex(def: &'static AttributeDef, value: Value) -> Value {
    let object = match value {
        Value::Object(map) => map,
        Value::String(id) if is_single_reference(def) => {
            Map::from_iter([("value".to_owned(), Value::String(id))])
        }
        // The older manager form: a one-element array.
        Value::Array(mut items) if is_single_reference(def) && items.len() <= 1 => {
            match items.pop() {
                Some(item) => return coerce_complex(def, item),
                None => return Value::Null,
            }
        }
        other => return strip_nulls(other),
    };
    let mut object = coerce_object(object, |key| def.sub(key));
    // Expanded once the keys are canonical, so that `"Value"` is found too; the members the JSON
    // brings are canonicalised in turn, until no `value` holds JSON text (which shrinks each
    // time), so that normalising twice changes nothing.
    while let Some(expanded) = expand_json_value(&object) {
        object = coerce_object(expanded, |key| def.sub(key));
    }
    let unassigned = object.is_empty()
        || (is_single_reference(def) && object.get("value").is_none_or(|v| v.as_str() == Some("")));
    if unassigned {
        Value::Null
    } else {
        Value::Object(object)
    }
}

/// Entra's role values without the compliance flag: `{"value": "{\"id\":..,\"value\":..}"}`.
/// The object with such a `value` replaced by the members of the JSON object it holds, or
/// `None` when `value` holds no JSON object.
fn expand_json_value(object: &Map<String, Value>) -> Option<Map<String, Value>> {
    let parsed = object
        .get("value")?
        .as_str()
        .filter(|s| s.trim_start().starts_with('{'))
        .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok())?;
    let mut expanded = object.clone();
    expanded.remove("value");
    expanded.extend(parsed);
    Some(expanded)
}

/// Removes explicit nulls (RFC 7643 §2.5: null means unassigned) from objects and arrays.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => non_empty_array(items.into_iter().map(strip_nulls)),
        other => other,
    }
}

/// Collects array elements without nulls. An array that was not empty but only held nulls is
/// unassigned; an explicitly empty array stays empty (`"roles": []`).
fn non_empty_array(items: impl ExactSizeIterator<Item = Value>) -> Value {
    let was_empty = items.len() == 0;
    let kept: Vec<Value> = items.filter(|v| !v.is_null()).collect();
    if kept.is_empty() && !was_empty {
        Value::Null
    } else {
        Value::Array(kept)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{attribute, ResourceKind};
    use crate::urn::ENTERPRISE_USER;

    fn user_attr(name: &str) -> Option<&'static AttributeDef> {
        attribute(ResourceKind::User, None, name)
    }

    fn manager() -> Option<&'static AttributeDef> {
        attribute(ResourceKind::User, Some(ENTERPRISE_USER), "manager")
    }

    #[test]
    fn string_booleans_become_booleans() {
        assert_eq!(coerce(user_attr("active"), json!("False")), json!(false));
        assert_eq!(coerce(user_attr("active"), json!("TRUE")), json!(true));
        assert_eq!(
            coerce(
                user_attr("roles"),
                json!([{"primary": "True", "Value": "Admin", "type": "WindowsAzureActiveDirectoryRole"}])
            ),
            json!([{"primary": true, "value": "Admin", "type": "WindowsAzureActiveDirectoryRole"}])
        );
        assert_eq!(coerce(user_attr("title"), json!("True")), json!("True"));
    }

    #[test]
    fn manager_forms_are_canonical() {
        assert_eq!(coerce(manager(), json!("boss")), json!({"value": "boss"}));
        assert_eq!(
            coerce(
                manager(),
                json!([{"$ref": "../Users/boss", "value": "boss"}])
            ),
            json!({"$ref": "../Users/boss", "value": "boss"})
        );
        assert_eq!(coerce(manager(), json!("")), Value::Null);
        assert_eq!(coerce(manager(), json!({"value": ""})), Value::Null);
        assert_eq!(
            coerce(manager(), json!({"value": null, "$ref": null})),
            Value::Null
        );
    }

    #[test]
    fn null_refs_are_dropped_and_role_json_is_expanded() {
        assert_eq!(
            coerce(user_attr("emails"), json!({"value": "a@b", "$ref": null})),
            json!([{"value": "a@b"}])
        );
        assert_eq!(
            coerce(
                user_attr("roles"),
                json!([{"value": "{\"id\":\"r1\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}])
            ),
            json!([{"id": "r1", "value": "Admin", "displayName": "Admin"}])
        );
        // Any case of `value`, and JSON text inside JSON text, expand to the same canonical form.
        assert_eq!(
            coerce(
                user_attr("roles"),
                json!([{"Value": "{\"VALUE\":\"{\\\"value\\\":\\\"Admin\\\"}\",\"Primary\":\"True\"}"}])
            ),
            json!([{"value": "Admin", "primary": true}])
        );
        assert_eq!(coerce(user_attr("roles"), json!([])), json!([]));
        assert_eq!(
            coerce(None, json!({"a": null, "b": [null, {"c": null}]})),
            json!({"b": [{}]})
        );
    }
}
