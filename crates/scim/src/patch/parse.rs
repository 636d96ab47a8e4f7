//! Parsing a PatchOp request body and normalising Entra's dialect into canonical operations.

use serde_json::{Map, Value};

use super::{members, PatchOp, PatchOpKind, PatchPath};
use crate::coerce::{coerce, coerce_element};
use crate::error::ScimError;
use crate::filter::{get_ci, Filter};
use crate::schema::{self, AttributeDef, Mutability, ResourceKind};
use crate::urn::{self, UrnKey, PATCH_OP};
use crate::validate::{check_element, check_value, qualified};

/// Validates a PatchOp body and returns its operations in canonical form (see the module docs).
pub fn parse_patch(body: &Value, kind: ResourceKind) -> Result<Vec<PatchOp>, ScimError> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    }
    let schemas = get_ci(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| {
        s.iter()
            .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
    }) {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must contain \"{PATCH_OP}\""
        )));
    }
    let operations = match get_ci(body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => {
            return Err(ScimError::invalid_syntax(
                "\"Operations\" must be a non-empty array",
            ))
        }
    };
    let mut out = Vec::new();
    for (index, raw) in operations.iter().enumerate() {
        let ops = parse_operation(raw, kind).map_err(|e| ScimError {
            detail: format!("Operations[{index}]: {}", e.detail),
            ..e
        })?;
        out.extend(ops);
    }
    Ok(out)
}

/// One raw operation, which becomes several when it is pathless or targets a whole extension.
fn parse_operation(raw: &Value, kind: ResourceKind) -> Result<Vec<PatchOp>, ScimError> {
    if !raw.is_object() {
        return Err(ScimError::invalid_syntax(
            "an operation must be a JSON object",
        ));
    }
    let op = get_ci(raw, "op")
        .and_then(Value::as_str)
        .and_then(PatchOpKind::from_name)
        .ok_or_else(|| {
            ScimError::invalid_syntax("\"op\" must be \"add\", \"replace\" or \"remove\"")
        })?;
    let path = match get_ci(raw, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.trim()),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci(raw, "value").cloned();
    match (path, value) {
        (None, _) if op == PatchOpKind::Remove => {
            Err(ScimError::no_target("\"remove\" requires a path"))
        }
        (None, Some(Value::Object(map))) => split_object(op, map, kind),
        (None, _) => Err(ScimError::invalid_syntax(format!(
            "\"{}\" without a path requires an object value",
            op.as_str()
        ))),
        // A path naming a whole extension: the value holds its attributes.
        (Some(p), Some(Value::Object(map))) if urn::canonical_schema(p).is_some() => split_object(
            op,
            Map::from_iter([(p.to_owned(), Value::Object(map))]),
            kind,
        ),
        (Some(p), value) => Ok(vec![normalise(op, p, value, kind)?]),
    }
}

fn split_object(
    op: PatchOpKind,
    map: Map<String, Value>,
    kind: ResourceKind,
) -> Result<Vec<PatchOp>, ScimError> {
    split_pathless(map)
        .into_iter()
        .map(|(path, value)| normalise(op, &path, Some(value), kind))
        .collect()
}

/// Splits a pathless value (`{"name.givenName":"K","urn:...:User:employeeNumber":"7",
/// "urn:...:User":{"department":"x"}}`) into `(path, value)` pairs, one per attribute.
pub(super) fn split_pathless(map: Map<String, Value>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (key, value) in map {
        match (urn::classify_key(&key, value.is_object()), value) {
            (Some(UrnKey::Extension(ext)), Value::Object(attrs)) => {
                let prefix = if urn::is_core(&ext) {
                    String::new()
                } else {
                    format!("{ext}:")
                };
                out.extend(
                    attrs
                        .into_iter()
                        .map(|(attr, v)| (format!("{prefix}{attr}"), v)),
                );
            }
            (_, value) => out.push((key, value)),
        }
    }
    out
}

/// Builds one canonical operation from a path and a value.
fn normalise(
    op: PatchOpKind,
    path: &str,
    value: Option<Value>,
    kind: ResourceKind,
) -> Result<PatchOp, ScimError> {
    let mut path = PatchPath::parse(path)?;
    if path.attr.urn.as_deref().is_some_and(urn::is_core) {
        path.attr.urn = None;
    }
    let def = schema::attribute(kind, path.attr.urn.as_deref(), &path.attr.attr);
    if let Some(def) = def {
        if def.mutability == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!(
                "\"{}\" is read-only",
                def.name
            )));
        }
        path.attr.attr = def.name.to_owned();
        if let Some(filter) = &mut path.value_filter {
            canonicalise_filter(filter, def);
        }
    }
    let sub_def = match (&mut path.sub_attr, def) {
        (Some(sub), Some(def)) => def.sub(sub).inspect(|d| *sub = d.name.to_owned()),
        _ => None,
    };
    let value = value.map(|v| match (&path.sub_attr, &path.value_filter) {
        (Some(_), _) => coerce_element(sub_def, v),
        (None, Some(_)) => coerce_element(def, v),
        (None, None) => coerce(def, v),
    });
    if let Some(value) = &value {
        let name = qualified(path.attr.urn.as_deref(), &path.attr.attr);
        match (&path.sub_attr, &path.value_filter, sub_def, def) {
            (Some(sub), _, Some(sub_def), _) => {
                check_value(sub_def, value, &format!("{name}.{sub}"))?
            }
            (None, Some(_), _, Some(def)) => check_element(def, value, &name)?,
            (None, None, _, Some(def)) => check_value(def, value, &name)?,
            _ => {}
        }
    }
    let op = match (op, value) {
        (PatchOpKind::Remove, value) => PatchOp {
            op,
            path: Some(path),
            value: value.filter(|v| !v.is_null()),
        },
        (_, None) => {
            return Err(ScimError::invalid_syntax(format!(
                "\"{}\" requires a value",
                op.as_str()
            )))
        }
        (_, Some(Value::Null)) => PatchOp {
            op: PatchOpKind::Remove,
            path: Some(path),
            value: None,
        },
        (_, Some(v)) if clears_reference(&path, def, &v) => {
            path.sub_attr = None;
            PatchOp {
                op: PatchOpKind::Remove,
                path: Some(path),
                value: None,
            }
        }
        (_, Some(v)) => PatchOp {
            op,
            path: Some(path),
            value: Some(v),
        },
    };
    members::validate(&op)?;
    Ok(op)
}

/// Whether an add/replace writes `""` to `manager.value` (or the `value` of any single-valued
/// reference): that clears the whole attribute, since a manager without an id is no manager.
/// (Null values, including a manager coerced to null, become removes before this is asked.)
fn clears_reference(path: &PatchPath, def: Option<&AttributeDef>, value: &Value) -> bool {
    let single_reference = def.is_some_and(|d| !d.multi_valued && d.sub("value").is_some());
    single_reference
        && path.value_filter.is_none()
        && path.sub_attr.as_deref() == Some("value")
        && value.as_str() == Some("")
}

/// Respells the attribute names inside a value filter as the schema does (they are relative
/// to the element of `parent`).
fn canonicalise_filter(filter: &mut Filter, parent: &AttributeDef) {
    match filter {
        Filter::Compare { path, .. }
        | Filter::Present { path }
        | Filter::ValuePath { attr: path, .. } => {
            if let Some(def) = parent.sub(&path.attr) {
                path.attr = def.name.to_owned();
            }
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            canonicalise_filter(a, parent);
            canonicalise_filter(b, parent);
        }
        Filter::Not(inner) => canonicalise_filter(inner, parent),
    }
}
