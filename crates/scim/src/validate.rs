//! Type checks of values against their attribute definitions (RFC 7643 §2.3).
//!
//! A value of the wrong JSON type — `"name": []`, `"emails": "x"`, `"active": 3` — is the
//! client's error, answered with SCIM 400 `invalidValue` before any adapter or target sees
//! it, wherever it comes: a POST/PUT body, a PATCH value at any path form, or a pathless
//! PATCH map. Values are checked after Entra's dialect is normalised (`"False"` is a
//! boolean by then), and attributes no schema describes pass untouched.

use serde_json::Value;

use crate::discovery::CustomSchema;
use crate::error::ScimError;
use crate::patch::PatchOp;
use crate::schema::{AttrType, AttributeDef};
use crate::urn;

/// Checks an attribute's whole value: a list of elements when it is multi-valued.
pub(crate) fn check_value(def: &AttributeDef, value: &Value, name: &str) -> Result<(), ScimError> {
    match value {
        Value::Null => Ok(()),
        Value::Array(items) if def.multi_valued => items.iter().try_for_each(|item| {
            if !fits(def.kind, item) {
                return Err(expected(name, &format!("a list of {}", kind_plural(def))));
            }
            check_sub_attributes(def, item, name)
        }),
        _ if def.multi_valued => Err(expected(name, &format!("a list of {}", kind_plural(def)))),
        single => check_element(def, single, name),
    }
}

/// Checks one value of an attribute: the value of a single-valued attribute, one element of
/// a multi-valued one. Complex values have their known sub-attributes checked too.
pub(crate) fn check_element(
    def: &AttributeDef,
    value: &Value,
    name: &str,
) -> Result<(), ScimError> {
    if !fits(def.kind, value) {
        return Err(expected(name, kind_singular(def)));
    }
    check_sub_attributes(def, value, name)
}

/// Whether a value (not null) has the JSON type of the attribute type.
fn fits(kind: AttrType, value: &Value) -> bool {
    match kind {
        _ if value.is_null() => true,
        AttrType::Complex => value.is_object(),
        AttrType::Boolean => value.is_boolean(),
        AttrType::Integer => value.is_i64() || value.is_u64(),
        AttrType::Decimal => value.is_number(),
        AttrType::String | AttrType::DateTime | AttrType::Binary | AttrType::Reference => {
            value.is_string()
        }
    }
}

fn check_sub_attributes(def: &AttributeDef, value: &Value, name: &str) -> Result<(), ScimError> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    for (key, sub_value) in map {
        if let Some(sub) = def.sub(key) {
            check_value(sub, sub_value, &format!("{name}.{}", sub.name))?;
        }
    }
    Ok(())
}

/// Checks the attributes of the extensions a tenant declares itself (each one a
/// single-valued string, see [`CustomSchema`]) in a normalised resource.
pub fn check_declared(resource: &Value, declared: &[CustomSchema]) -> Result<(), ScimError> {
    for schema in declared {
        let Some(Value::Object(attrs)) = resource.get(&schema.urn) else {
            continue;
        };
        for (key, value) in attrs {
            if declares(schema, key) && !(value.is_string() || value.is_null()) {
                return Err(expected(&format!("{}:{key}", schema.urn), "a string"));
            }
        }
    }
    Ok(())
}

/// The same for canonical PATCH operations (from `parse_patch`).
pub fn check_declared_ops(ops: &[PatchOp], declared: &[CustomSchema]) -> Result<(), ScimError> {
    for op in ops {
        let (Some(path), Some(value)) = (&op.path, &op.value) else {
            continue;
        };
        let Some(urn) = path.attr.urn.as_deref() else {
            continue;
        };
        let schema = declared.iter().find(|s| s.urn.eq_ignore_ascii_case(urn));
        if schema.is_some_and(|s| declares(s, &path.attr.attr)) && !value.is_string() {
            return Err(expected(&format!("{urn}:{}", path.attr.attr), "a string"));
        }
    }
    Ok(())
}

fn declares(schema: &CustomSchema, attribute: &str) -> bool {
    schema
        .attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case(attribute))
}

fn expected(name: &str, what: &str) -> ScimError {
    ScimError::invalid_value(format!("\"{name}\" must be {what}"))
}

fn kind_singular(def: &AttributeDef) -> &'static str {
    match def.kind {
        AttrType::Complex => "an object",
        AttrType::Boolean => "a boolean",
        AttrType::Integer => "an integer",
        AttrType::Decimal => "a number",
        AttrType::DateTime => "a date-time string",
        AttrType::Binary => "a base64 string",
        AttrType::Reference => "a URI string",
        AttrType::String => "a string",
    }
}

fn kind_plural(def: &AttributeDef) -> &'static str {
    match def.kind {
        AttrType::Complex => "objects",
        AttrType::Boolean => "booleans",
        AttrType::Integer => "integers",
        AttrType::Decimal => "numbers",
        _ => "strings",
    }
}

/// The display name of a top-level attribute: URN-qualified for extension attributes.
pub(crate) fn qualified(urn: Option<&str>, name: &str) -> String {
    match urn {
        Some(u) if !urn::is_core(u) => format!("{u}:{name}"),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{attribute, ResourceKind};
    use crate::urn::ENTERPRISE_USER;

    fn user(name: &str) -> &'static AttributeDef {
        attribute(ResourceKind::User, None, name).unwrap()
    }

    #[test]
    fn values_of_the_right_type_pass() {
        for (name, value) in [
            ("name", json!({"givenName": "Ann", "unknownSub": 7})),
            ("emails", json!([{"value": "a@b", "primary": true}])),
            ("active", json!(false)),
            ("userName", json!("ann")),
            ("emails", json!(null)),
            ("roles", json!([])),
        ] {
            assert!(
                check_value(user(name), &value, name).is_ok(),
                "{name} {value}"
            );
        }
        let manager = attribute(ResourceKind::User, Some(ENTERPRISE_USER), "manager").unwrap();
        assert!(check_value(manager, &json!({"value": "boss"}), "manager").is_ok());
    }

    #[test]
    fn values_of_the_wrong_type_are_invalid_value_naming_the_attribute() {
        for (name, value, said) in [
            ("name", json!([]), "\"name\" must be an object"),
            ("name", json!("Ann"), "\"name\" must be an object"),
            (
                "name",
                json!({"givenName": 1}),
                "\"name.givenName\" must be a string",
            ),
            ("emails", json!("x"), "\"emails\" must be a list of objects"),
            (
                "emails",
                json!({"value": "x"}),
                "\"emails\" must be a list of objects",
            ),
            (
                "emails",
                json!(["x"]),
                "\"emails\" must be a list of objects",
            ),
            (
                "emails",
                json!([{"primary": "yes"}]),
                "\"emails.primary\" must be a boolean",
            ),
            ("active", json!("maybe"), "\"active\" must be a boolean"),
            ("userName", json!(7), "\"userName\" must be a string"),
        ] {
            let error = check_value(user(name), &value, name).unwrap_err();
            assert_eq!(
                (error.status, error.scim_type.as_deref()),
                (400, Some("invalidValue"))
            );
            assert!(error.detail.contains(said), "{} for {value}", error.detail);
        }
    }

    #[test]
    fn declared_extension_attributes_are_strings() {
        let declared = [CustomSchema {
            urn: "urn:x:2.0:User".into(),
            name: "X".into(),
            attributes: vec!["badge".into()],
        }];
        let ok = json!({"urn:x:2.0:User": {"badge": "7", "other": 1}});
        assert!(check_declared(&ok, &declared).is_ok());
        let bad = json!({"urn:x:2.0:User": {"Badge": ["7"]}});
        assert_eq!(check_declared(&bad, &declared).unwrap_err().status, 400);
    }
}
