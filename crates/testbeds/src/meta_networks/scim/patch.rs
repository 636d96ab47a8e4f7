//! PATCH as the vendor reads it: standard RFC 7644 §3.5.2 only. The protocol core
//! (`scimitar_scim`) parses and applies the operations, but it also understands Entra's
//! dialect, so the raw body is first checked for what Meta does not understand:
//!
//! - an `op` other than exactly `add`, `replace` or `remove` (Entra's `Replace`): 400
//!   `invalidSyntax`;
//! - `active` given anything but a JSON boolean (Entra's `"False"`): 400 `invalidValue`;
//! - a pathless operation whose value has dotted or URN-qualified attribute paths as keys
//!   (`{"name.givenName": "K"}`, Entra's compliance-flag form): 400 `invalidPath`. Plain
//!   attribute names and whole extension objects are standard and accepted.

use scimitar_scim::{apply_patch, parse_patch, PatchOp, ResourceKind, ScimError, GROUP, USER};
use serde_json::Value;

use super::errors::Failure;
use super::member;

/// The operations of a PatchOp `body`, once it passed the strict checks.
pub(super) fn operations(body: &Value, kind: ResourceKind) -> Result<Vec<PatchOp>, Failure> {
    strict(body)?;
    Ok(parse_patch(body, kind)?)
}

/// `resource` with `ops` applied.
pub(super) fn applied(mut resource: Value, ops: &[PatchOp]) -> Result<Value, Failure> {
    apply_patch(&mut resource, ops)?;
    Ok(resource)
}

/// Rejects the dialect described in the module docs. Anything else malformed is left to
/// `parse_patch`, which reports it.
fn strict(body: &Value) -> Result<(), Failure> {
    let Some(Value::Array(operations)) = body.as_object().and_then(|b| member(b, "Operations"))
    else {
        return Ok(());
    };
    for (index, operation) in operations.iter().enumerate() {
        let Some(operation) = operation.as_object() else {
            continue;
        };
        let at = |error: ScimError| ScimError {
            detail: format!("Operations[{index}]: {}", error.detail),
            ..error
        };
        let op = member(operation, "op");
        if !matches!(
            op.and_then(Value::as_str),
            Some("add" | "replace" | "remove")
        ) {
            let op = op.map_or_else(|| "nothing".to_owned(), Value::to_string);
            return Err(at(ScimError::invalid_syntax(format!(
                "\"op\" must be \"add\", \"replace\" or \"remove\" (lowercase), not {op}"
            )))
            .into());
        }
        let value = member(operation, "value");
        let path = member(operation, "path")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|p| !p.is_empty());
        match (path, value) {
            (Some(path), Some(value)) if is_active(path) => check_active(value).map_err(at)?,
            (None, Some(Value::Object(attributes))) => {
                for (key, value) in attributes {
                    check_pathless_key(key, value).map_err(at)?;
                    if key.eq_ignore_ascii_case("active") {
                        check_active(value).map_err(at)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a path is the core `active` attribute, plain or qualified with the User URN.
fn is_active(path: &str) -> bool {
    let qualified = format!("{USER}:");
    let attr = match path.get(..qualified.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(&qualified) => &path[qualified.len()..],
        _ => path,
    };
    attr.eq_ignore_ascii_case("active")
}

fn check_active(value: &Value) -> Result<(), ScimError> {
    match value {
        Value::Bool(_) | Value::Null => Ok(()),
        other => Err(ScimError::invalid_value(format!(
            "`active` must be a boolean (true or false), not {other}"
        ))),
    }
}

/// A pathless value's key must be an attribute name, or a schema URN holding an object.
fn check_pathless_key(key: &str, value: &Value) -> Result<(), ScimError> {
    let is_schema = [USER, GROUP, scimitar_scim::ENTERPRISE_USER]
        .iter()
        .any(|urn| urn.eq_ignore_ascii_case(key));
    let is_path = key.contains('.') || key.contains('[') || key.contains(':');
    if (is_schema && value.is_object()) || !is_path {
        return Ok(());
    }
    Err(ScimError::invalid_path(format!(
        "a pathless operation takes attribute names, not the path \"{key}\"; give it a \"path\""
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Value {
        json!({"schemas": [scimitar_scim::PATCH_OP], "Operations": ops})
    }

    fn rejected(ops: Value) -> Option<String> {
        operations(&patch(ops), ResourceKind::User)
            .err()
            .and_then(|Failure(e)| e.scim_type)
    }

    #[test]
    fn entra_dialect_is_refused() {
        for (ops, scim_type) in [
            (
                json!([{"op":"Replace","path":"active","value":false}]),
                "invalidSyntax",
            ),
            (
                json!([{"op":"ADD","path":"displayName","value":"x"}]),
                "invalidSyntax",
            ),
            (json!([{"path":"displayName","value":"x"}]), "invalidSyntax"),
            (
                json!([{"op":"replace","path":"active","value":"False"}]),
                "invalidValue",
            ),
            (
                json!([{"op":"replace","path":format!("{USER}:active"),"value":"true"}]),
                "invalidValue",
            ),
            (
                json!([{"op":"replace","value":{"active":"False"}}]),
                "invalidValue",
            ),
            (
                json!([{"op":"replace","value":{"name.givenName":"K"}}]),
                "invalidPath",
            ),
            (
                json!([{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7"}}]),
                "invalidPath",
            ),
        ] {
            assert_eq!(rejected(ops.clone()).as_deref(), Some(scim_type), "{ops}");
        }
    }

    #[test]
    fn standard_patches_pass() {
        for ops in [
            json!([{"op":"replace","path":"active","value":false}]),
            json!([{"op":"replace","value":{"active":true,"displayName":"K","name":{"givenName":"K"}}}]),
            json!([{"op":"add","path":"phoneNumbers[type eq \"work\"].value","value":"+15550001"}]),
            json!([{"op":"remove","path":"displayName"}]),
        ] {
            assert!(
                operations(&patch(ops.clone()), ResourceKind::User).is_ok(),
                "{ops}"
            );
        }
    }
}
